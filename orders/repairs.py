"""The books repairs `reconcile_orders` runs, each on its own, after crashes or store failures
between the steps of placing and moving orders. Each is idempotent and safe at any time
(from cron, every minute): what may still be in flight is left alone until `cutoff`.

They restore what orders.selectors.stock_invariant_check checks, each through the domain's
own exactly-once moves (a reservation moves forward from `reserved` once, with its stock and
its sales figures in the same MySQL transaction)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connections
from django.utils import timezone

from analytics import services as analytics_services
from analytics.services import FiguresCorrection
from inventory import selectors as inventory_selectors
from inventory.selectors import RESERVED
from orders import selectors, services
from orders.models import BooksCheck, IdempotencyKey, Order

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    released: int = 0  # reservations whose order never stood, released (and uncounted)
    returned: int = 0  # cancelled orders whose units were still held, returned to stock
    committed: int = 0  # shipped or delivered orders whose units were still held, sold
    cancelled: list[int] = field(default_factory=list)  # open orders holding no stock, cancelled
    keys_removed: int = 0  # expired or abandoned idempotency keys
    figures_corrected: int = 0  # a day's figures (the shop's or a product's) corrected
    skipped: bool = False  # another run was repairing


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _held_references() -> list:
    return sorted({row.order_reference for row in inventory_selectors.reservation_rows(status=RESERVED)})


def reservations_without_order_release(*, cutoff: datetime) -> int:
    """Units held since before `cutoff` under a reference no order carries: the order never
    stood (its write failed, or the process died). Released, and the sale uncounted. A
    reference whose Idempotency-Key is still leased is its attempt's to settle."""
    released = 0
    rows = inventory_selectors.reservation_rows(status=RESERVED)
    old = sorted({row.order_reference for row in rows if row.updated_at < cutoff})
    for chunk in _chunks(old):
        orders = selectors.orders_by_reference(references=chunk)
        leased = set(
            IdempotencyKey.objects.filter(
                reference__in=chunk, status=IdempotencyKey.Status.IN_PROGRESS, lease_until__gt=timezone.now()
            ).values_list("reference", flat=True)
        )
        for reference in chunk:
            if reference not in orders and reference not in leased:
                released += services.reservation_void(reference=reference)
    return released


def closed_orders_stock_settle() -> tuple[int, int]:
    """Units still held by cancelled orders go back to stock; by shipped or delivered ones,
    become sold. Safe even while the order's own move is in flight: the move happens once,
    whoever gets there first. Answers (returned, committed)."""
    returned = committed = 0
    for chunk in _chunks(_held_references()):
        for order in selectors.orders_by_reference(references=chunk).values():
            if order.status == Order.Status.CANCELLED:
                returned += services.order_stock_return(order)
            elif order.status in selectors.SOLD_STATUSES:
                committed += services.order_stock_sell(order)
    return returned, committed


def open_orders_without_stock_cancel(*, cutoff: datetime) -> list[int]:
    """Pending or paid orders placed before `cutoff` that hold no stock (it was released while
    they were written): cancelled with reason `stock_not_reserved`, visible to staff."""
    open_orders = list(
        Order.objects.filter(status__in=selectors.OPEN_STATUSES, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", "reference")
    )
    cancelled = []
    held = set(_held_references())
    for pk, reference in open_orders:
        if reference not in held and services.order_cancel_unreserved(order_id=pk):
            cancelled.append(pk)
    return cancelled


def idempotency_keys_expire(*, cutoff: datetime) -> int:
    """Keys past their 24 hours, and keys left in progress whose lease ran out before
    `cutoff` (their attempt died and no retry came): removed. What such an attempt reserved
    is released by reservations_without_order_release."""
    expired, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - services.IDEMPOTENCY_TTL).delete()
    abandoned, _ = (
        IdempotencyKey.objects.filter(status=IdempotencyKey.Status.IN_PROGRESS, order__isnull=True)
        .exclude(lease_until__gte=cutoff)
        .filter(created_at__lt=cutoff)
        .delete()
    )
    return expired + abandoned


def sales_figures_correct() -> int:
    """Each day's figures (the shop's and each product's) brought to what its orders say, by
    adding the difference: orders counted meanwhile are kept (the difference comes from one
    MySQL snapshot of the figures and the reservations they follow)."""
    return analytics_services.sales_figures_correct(
        corrections=[
            FiguresCorrection(
                day=date.fromisoformat(mismatch["date"]),
                product_id=mismatch["product_id"],
                deltas=mismatch["missing"],
                name=mismatch["name"],
                parent_id=mismatch["parent_id"],
            )
            for mismatch in selectors.sales_figures_mismatches()
        ]
    )


# pg_advisory_lock key of the repairs: one run at a time across every pod and the cron.
_REPAIRS_LOCK = 0x6F7264657273  # "orders"


@contextmanager
def _alone() -> Iterator[bool]:
    """True while this process is the only one repairing. Two runs at once would each add
    the same figures correction (the other repairs are exactly-once on their own); on
    PostgreSQL a session advisory lock says who runs, the other is skipped."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_REPAIRS_LOCK])
        alone = cursor.fetchone()[0]
    try:
        yield alone
    finally:
        if alone:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_REPAIRS_LOCK])


def orders_reconcile(*, grace_seconds: int = 60) -> ReconcileReport:
    """Every repair, in the order that lets each build on the last: stock first (released,
    returned, sold), then the orders left without stock, the keys, and the figures last.
    Skipped (`skipped`) while another run is repairing."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    report = ReconcileReport()
    with _alone() as alone:
        if not alone:
            logger.warning("reconcile_orders skipped: another run is repairing")
            report.skipped = True
            return report
        report.released = reservations_without_order_release(cutoff=cutoff)
        report.returned, report.committed = closed_orders_stock_settle()
        report.cancelled = open_orders_without_stock_cancel(cutoff=cutoff)
        report.keys_removed = idempotency_keys_expire(cutoff=cutoff)
        report.figures_corrected = sales_figures_correct()
    if report.released or report.returned or report.committed or report.cancelled or report.figures_corrected:
        logger.warning("reconcile_orders repaired: %s", report)
    return report


def books_check_record(*, mismatches: list[dict]) -> BooksCheck:
    """Keep the last check's result (one row) for /metrics to expose."""
    by_kind: dict[str, int] = {}
    for mismatch in mismatches:
        by_kind[mismatch["kind"]] = by_kind.get(mismatch["kind"], 0) + 1
    check, _ = BooksCheck.objects.update_or_create(
        pk=1, defaults={"checked_at": timezone.now(), "mismatches": len(mismatches), "by_kind": by_kind}
    )
    return check
