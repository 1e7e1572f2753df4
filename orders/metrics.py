"""The books' health on /metrics: the last `reconcile_orders` check (run every minute by the
repair cron) read on each scrape, one PostgreSQL query, so an imbalance alerts without anyone
running the command:

- `ecommerce_books_mismatches` (gauge): what the last check found not balancing, by kind
  (alert on > 0);
- `ecommerce_books_checked_timestamp_seconds` (gauge): when it ran (alert when it is stale:
  the repair is not running).
"""

import logging

from django.db import DatabaseError
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from orders.models import BooksCheck

logger = logging.getLogger(__name__)

KINDS = (
    "stock",
    "reservation_without_order",
    "open_order_without_stock",
    "closed_order_holding_stock",
    "sold_units",
    "figures",
    "idempotency",
)


class BooksCollector:
    """A Prometheus collector computed on scrape from the BooksCheck row."""

    def describe(self):
        # Describing without a query keeps registration free of database access.
        return []

    def collect(self):
        try:
            check = BooksCheck.objects.filter(pk=1).first()
        except DatabaseError:
            logger.warning("The books check could not be read for /metrics", exc_info=True)
            return
        if check is None:
            return
        mismatches = GaugeMetricFamily(
            "ecommerce_books_mismatches",
            "What the last reconcile_orders check found not balancing between the stores, by kind.",
            labels=["kind"],
        )
        for kind in KINDS:
            mismatches.add_metric([kind], check.by_kind.get(kind, 0))
        yield mismatches
        yield GaugeMetricFamily(
            "ecommerce_books_checked_timestamp_seconds",
            "When reconcile_orders last checked the books (Unix time).",
            value=check.checked_at.timestamp(),
        )


_registered = False


def register_books_collector() -> None:
    """Once per process (AppConfig.ready may run more than once)."""
    global _registered
    if not _registered:
        REGISTRY.register(BooksCollector())
        _registered = True
