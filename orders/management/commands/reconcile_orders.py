import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from orders import services


class Command(BaseCommand):
    help = (
        "Restore the books between PostgreSQL orders and MySQL stock after a crash (idempotent; "
        "safe from cron), then report what still does not balance. With --check, only check: "
        "exit non-zero when the books do not balance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=300,
            help="Leave alone what is younger than this (orders in flight). Default 300.",
        )
        parser.add_argument("--check", action="store_true", help="Check only; exit 1 on any mismatch.")

    def handle(self, *args, grace_seconds: int, check: bool, **options):
        if grace_seconds < 0:
            raise CommandError("--grace-seconds must be >= 0.")
        if not check:
            report = services.orders_reconcile(grace_seconds=grace_seconds)
            self.stdout.write(json.dumps({"reconciled": asdict(report)}))
        mismatches = services.stock_invariant_check()
        for mismatch in mismatches:
            self.stdout.write(json.dumps({"mismatch": mismatch}, default=str))
        if check and mismatches:
            raise CommandError(f"The books do not balance: {len(mismatches)} mismatch(es).")
        if not mismatches:
            self.stdout.write("The books balance.")
