from django.core.management.base import BaseCommand, CommandError

from ecommerce.management.checks import report_check
from payments import selectors, services


class Command(BaseCommand):
    help = (
        "Settle what a crash or an unreachable provider left open (pending refunds asked again under "
        "their own idempotency key; stale idempotency keys removed), then check the money: every "
        "order keeps exactly what its status says, no refund beyond capture. With --check, only "
        "check: exit non-zero when the money does not balance."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=300,
            help="Leave alone what is younger than this (refunds in flight). Default 300.",
        )
        parser.add_argument("--check", action="store_true", help="Check only; exit 1 on any mismatch.")

    def handle(self, *args, grace_seconds: int, check: bool, **options):
        if grace_seconds < 0:
            raise CommandError("--grace-seconds must be >= 0.")
        repaired = None if check else services.payments_reconcile(grace_seconds=grace_seconds)
        report_check(
            self,
            repaired=repaired,
            mismatches=selectors.money_check(pending_refund_grace_seconds=grace_seconds),
            check=check,
            balanced="The money balances.",
            unbalanced="The money does not balance",
        )
