"""Events in /metrics: events written (counted where they are written), and, read from the
database at each scrape so every API replica and relay agrees, deliveries by outcome and
the age of the oldest event still waiting to be delivered (the figure to alert on)."""

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily

EVENTS_WRITTEN = Counter("events_written_total", "Events written to the outbox, by type.", ["type"])
DELIVERY_ATTEMPTS = Counter(
    "events_delivery_attempts_total", "Delivery attempts made by this relay, by outcome.", ["outcome"]
)


class OutboxCollector:
    def collect(self):
        from events.models import Delivery

        by_status = GaugeMetricFamily(
            "events_deliveries", "Delivery attempts kept in the log, by status.", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "events_oldest_undelivered_age_seconds",
            "Age of the oldest event with a delivery still pending (0 when none).",
        )
        try:
            counts = dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())
            first = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(at=Min("event__created_at"))["at"]
        except DatabaseError:
            return  # the scrape still answers; /health reports the database
        for status in Delivery.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        oldest.add_metric([], (timezone.now() - first).total_seconds() if first else 0.0)
        yield by_status
        yield oldest

    def describe(self):
        return []


_collector = OutboxCollector()


def register() -> None:
    try:
        REGISTRY.register(_collector)
    except ValueError:
        pass  # registered already (a second django.setup in one process)
