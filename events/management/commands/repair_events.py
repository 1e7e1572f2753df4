import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from events import services


class Command(BaseCommand):
    help = (
        "Write the product and stock.low events a crash after the MongoDB or MySQL commit left "
        "unwritten (changes of the last --hours). Idempotent; safe from cron beside live traffic."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=int, default=24, help="How far back to look. Default 24.")

    def handle(self, *args, hours: int, **options):
        if hours < 1:
            raise CommandError("--hours must be at least 1.")
        self.stdout.write(json.dumps({"written": services.events_repair(since=timedelta(hours=hours))}))
