"""Orders in the back office. Nothing of an order is edited by hand: its status moves only
through orders.services.order_status_change (the same conditional transition as the API,
which moves the stock exactly once), from the buttons on an order's page or the list's
actions; a transition the order cannot make is a message, never a 500.

Permissions: `orders.view_order` to read; `orders.change_order` to move an order's status.
Apps above orders (payments, events) add panels to an order's page with `on_order_panels`.
"""

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from ecommerce.api.exceptions import ApplicationError
from ecommerce.backoffice.kit import ReadOnlyAdmin
from orders import selectors, services
from orders.models import IdempotencyKey, Order, OrderLine

_order_panels: list[Callable] = []

# Each transition's button and action label, in the order an order lives them.
TRANSITION_LABELS = {
    Order.Status.PAID: "Mark paid",
    Order.Status.SHIPPED: "Ship",
    Order.Status.DELIVERED: "Mark delivered",
    Order.Status.CANCELLED: "Cancel",
}
ADDRESS_ORDER = ["name", "line1", "line2", "city", "postal_code", "country"]


def on_order_panels(hook: Callable) -> Callable:
    """Register `hook(request, order) -> list of panels` ({title, columns, rows, empty}) shown on
    an order's page (payments and refunds, the event timeline)."""
    if hook not in _order_panels:
        _order_panels.append(hook)
    return hook


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product_id", "name", "unit_price", "quantity", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _transition(request, order: Order, status: str) -> bool:
    """Move one order; a refusal becomes a message. True when it moved."""
    try:
        services.order_status_change(order=order, status=status, actor=request.user)
    except ApplicationError as error:
        messages.error(request, f"Order {order.pk}: {error.message}")
        return False
    return True


def _bulk(status: str):
    def action(modeladmin, request, queryset):
        moved = [order.pk for order in queryset.order_by("pk") if _transition(request, order, status)]
        if moved:
            modeladmin.message_user(
                request, f"{len(moved)} order(s) now {status}: {', '.join(map(str, moved))}.", messages.SUCCESS
            )

    action.__name__ = f"mark_{status}"
    return admin.action(description=f"{TRANSITION_LABELS[status]} selected orders", permissions=["transition"])(action)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer_email", "status", "total", "currency", "created_at"]
    list_filter = ["status", "cancel_reason"]
    search_fields = ["email", "reference"]
    search_help_text = "Email or order reference."
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    change_form_template = "admin/orders/order/change_form.html"
    fields = [
        "reference",
        "customer",
        "status",
        "cancel_reason",
        "total",
        "currency",
        "address",
        "idempotency_key",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = [_bulk(status) for status in TRANSITION_LABELS]

    @admin.display(description="customer", ordering="email")
    def customer_email(self, order):
        return order.email

    @admin.display(description="customer")
    def customer(self, order):
        if order.user_id is None:
            return f"{order.email} (account deleted)"
        url = reverse("admin:users_user_change", args=[order.user_id])
        return format_html('<a href="{}">{}</a>', url, order.email)

    @admin.display(description="shipping address")
    def address(self, order):
        address = order.shipping_address or {}
        keys = [key for key in ADDRESS_ORDER if address.get(key)] + sorted(set(address) - set(ADDRESS_ORDER))
        return format_html_join("", "{}<br>", ((address[key],) for key in keys))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The form has nothing to save; status changes are the transition buttons.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_transition_permission(self, request, obj=None):
        return request.user.has_perm("orders.change_order")

    def get_urls(self):
        transition = self.admin_site.admin_view(self.transition_view)
        return [
            path("<int:order_id>/status/<str:status>/", transition, name="orders_order_transition"),
            *super().get_urls(),
        ]

    def transition_view(self, request, order_id: int, status: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_transition_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order_id])
        try:
            order = selectors.order_get(order_id=order_id)
        except ApplicationError:
            return HttpResponseRedirect(reverse("admin:orders_order_changelist"))
        if status not in TRANSITION_LABELS:
            self.message_user(request, f"Unknown status “{status}”.", messages.ERROR)
        elif _transition(request, order, status):
            self.message_user(request, f"Order {order.pk} is now {status}.", messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        order = self.get_object(request, object_id)
        if order is not None:
            allowed = services.TRANSITIONS.get(order.status, set())
            if self.has_transition_permission(request):
                extra["transitions"] = [
                    {
                        "status": status,
                        "label": label,
                        "url": reverse("admin:orders_order_transition", args=[order.pk, status]),
                    }
                    for status, label in TRANSITION_LABELS.items()
                    if status in allowed
                ]
            extra["panels"] = [panel for hook in _order_panels for panel in hook(request, order)]
        return super().change_view(request, object_id, form_url, extra)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    """Read-only: a key removed or changed by hand could let a retried checkout order twice."""

    list_display = ["user", "key", "status", "response_status", "order", "created_at"]
    list_filter = ["status"]
    search_fields = ["key", "user__email"]
    list_select_related = ["user", "order"]
