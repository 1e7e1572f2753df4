import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from events import services


class Command(BaseCommand):
    help = (
        "Delete events older than EVENTS_RETENTION_DAYS (or --days) with their deliveries log; "
        "events still being delivered are kept. Idempotent: run it daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.EVENTS_RETENTION_DAYS)

    def handle(self, *args, days: int, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        self.stdout.write(json.dumps({"pruned": services.events_prune(days=days)}))
