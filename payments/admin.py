"""Payments and refunds in the back office, read-only: money moves only through the payment
provider's webhooks and payments.services. An order's page shows its payments and refunds
(orders.admin.on_order_panels), for staff with `payments.view_payment`."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ecommerce.admin_kit import ReadOnlyAdmin
from orders import admin as orders_admin
from payments import selectors
from payments.models import Payment, Refund


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["uid", "amount", "status", "reason", "failure", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["uid", "order_link", "provider", "status", "amount", "captured", "refunded", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["uid", "provider_reference", "order__email"]
    list_select_related = ["order"]
    exclude = ["client_secret"]
    inlines = [RefundInline]

    @admin.display(description="order", ordering="order_id")
    def order_link(self, payment):
        url = reverse("admin:orders_order_change", args=[payment.order_id])
        return format_html('<a href="{}">Order {}</a>', url, payment.order_id)


@orders_admin.on_order_panels
def _payments_panel(request, order) -> list[dict]:
    if not request.user.has_perm("payments.view_payment"):
        return []
    rows = []
    for payment in selectors.payments_of_order(order_id=order.pk):
        url = reverse("admin:payments_payment_change", args=[payment.pk])
        rows.append(
            [
                format_html('<a href="{}">{}</a>', url, payment.provider),
                payment.status,
                payment.amount,
                payment.captured,
                payment.refunded,
                payment.created_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
        for refund in payment.refunds.all():
            when = refund.created_at.strftime("%Y-%m-%d %H:%M")
            rows.append([f"↳ refund {refund.reason}".strip(), refund.status, f"-{refund.amount}", "", "", when])
    return [
        {
            "title": "Payments and refunds",
            "columns": ["Provider", "Status", "Amount", "Captured", "Refunded", "When"],
            "rows": rows,
            "empty": "No payment yet.",
        }
    ]
