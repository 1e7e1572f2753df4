from django.core.management.base import BaseCommand, CommandError

from ecommerce.management.checks import report_check
from orders import repairs, selectors


class Command(BaseCommand):
    help = (
        "Restore the books between PostgreSQL orders and MySQL stock and sales figures after a "
        "crash or a store failure (idempotent; safe from cron, every minute), then check them, "
        "record the result for /metrics (ecommerce_books_mismatches) and report what still does "
        "not balance. With --check, only check: exit non-zero when the books do not balance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=None,
            help=(
                "Leave alone what moved more recently than this (orders in flight; longer than an "
                "Idempotency-Key's lease, ORDER_LEASE_SECONDS). Default 60 when repairing; 0 with "
                "--check (a quiet system is checked whole)."
            ),
        )
        parser.add_argument("--check", action="store_true", help="Check only; exit 1 on any mismatch.")

    def handle(self, *args, grace_seconds: int | None, check: bool, **options):
        if grace_seconds is None:
            grace_seconds = 0 if check else 60
        if grace_seconds < 0:
            raise CommandError("--grace-seconds must be >= 0.")
        repaired = None if check else repairs.orders_reconcile(grace_seconds=grace_seconds)
        mismatches = selectors.stock_invariant_check(grace_seconds=grace_seconds)
        repairs.books_check_record(mismatches=mismatches)
        report_check(
            self,
            repaired=repaired,
            mismatches=mismatches,
            check=check,
            balanced="The books balance.",
            unbalanced="The books do not balance",
        )
