"""How the repair commands (reconcile_orders, reconcile_payments) report: one JSON line for
what was repaired and one a mismatch, so cron logs can be searched; with --check a mismatch
fails the command, so cron and CI notice."""

import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError


def report_check(
    command: BaseCommand, *, repaired, mismatches: list[dict], check: bool, balanced: str, unbalanced: str
) -> None:
    """Print `repaired` (a dataclass; None when only checking) and each mismatch; with `check`,
    any mismatch exits 1 saying `unbalanced`; none prints `balanced`."""
    if repaired is not None:
        command.stdout.write(json.dumps({"reconciled": asdict(repaired)}))
    for mismatch in mismatches:
        command.stdout.write(json.dumps({"mismatch": mismatch}, default=str))
    if check and mismatches:
        raise CommandError(f"{unbalanced}: {len(mismatches)} mismatch(es).")
    if not mismatches:
        command.stdout.write(balanced)
