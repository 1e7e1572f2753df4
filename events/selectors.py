"""Reads on events, webhooks and deliveries."""

from django.db.models import QuerySet

from events.exceptions import WebhookNotFound
from events.models import Delivery, Event, Webhook
from orders import selectors as order_selectors

FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 1000


def _of_type(events: QuerySet[Event], type: str | None) -> QuerySet[Event]:
    if not type:
        return events
    if type.endswith(".*"):
        return events.filter(type__startswith=type[:-1])
    return events.filter(type=type)


def event_feed(*, after: int = 0, limit: int = FEED_DEFAULT_LIMIT, type: str | None = None) -> list[Event]:
    """Numbered events with a sequence above `after`, oldest first, at most `limit`. Paging
    by the last sequence seen misses nothing: numbers are only ever appended
    (services.events_number)."""
    return list(_of_type(Event.objects.filter(sequence__gt=after), type).order_by("sequence")[:limit])


def order_timeline(*, actor, order_id: int) -> QuerySet[Event]:
    """An order's events, oldest first (an event committed a moment ago may not have its
    sequence yet); the order as `actor` may see it, else 404."""
    order_selectors.order_get_for(actor=actor, order_id=order_id)
    return Event.objects.filter(order_id=order_id).order_by("id")


def webhook_list() -> QuerySet[Webhook]:
    return Webhook.objects.order_by("id")


def webhook_get(*, webhook_id: int) -> Webhook:
    try:
        return Webhook.objects.get(pk=webhook_id)
    except Webhook.DoesNotExist:
        raise WebhookNotFound() from None


def delivery_list(*, webhook_id: int) -> QuerySet[Delivery]:
    """The webhook's deliveries log, newest first (404 for an unknown webhook)."""
    webhook_get(webhook_id=webhook_id)
    return Delivery.objects.filter(webhook_id=webhook_id).select_related("event").order_by("-id")
