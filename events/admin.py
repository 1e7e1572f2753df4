"""Events, webhooks and deliveries in the back office, read-only: events are written by the
apps' hooks and delivered by the relay; webhooks are managed through the API (their secrets
are never shown). An order's page shows its event timeline (orders.admin.on_order_panels),
for staff with `events.view_event`."""

from django.contrib import admin

from ecommerce.backoffice.kit import ReadOnlyAdmin
from events import selectors
from events.models import Delivery, Event, Webhook
from orders import admin as orders_admin


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "type", "order_id", "created_at"]
    list_filter = ["type"]
    search_fields = ["uuid", "order_id"]


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyAdmin):
    list_display = ["id", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    fields = ["url", "events", "description", "is_active", "previous_secret_expires_at", "created_at", "updated_at"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "webhook", "event", "attempt", "status", "status_code", "attempted_at"]
    list_filter = ["status"]
    list_select_related = ["webhook", "event"]


@orders_admin.on_order_panels
def _timeline_panel(request, order) -> list[dict]:
    if not request.user.has_perm("events.view_event"):
        return []
    events = selectors.order_timeline(actor=request.user, order_id=order.pk)
    return [
        {
            "title": "Timeline",
            "columns": ["#", "Event", "When"],
            "rows": [[event.sequence, event.type, event.created_at.strftime("%Y-%m-%d %H:%M:%S")] for event in events],
            "empty": "No event yet.",
        }
    ]
