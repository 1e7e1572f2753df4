"""Payments in the back office, read-only: money moves only through the API and the providers'
webhooks. An order's page shows its payments and refunds (a panel on orders' admin) to staff
with `payments.view_payment`. (First drawn by helper H: the permission, the order link, the
refund inline and the hidden client secret are theirs.)"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ecommerce.backoffice.kit import ReadOnlyAdmin
from orders.admin import on_order_panels
from payments import selectors
from payments.models import Payment, Refund, WebhookEvent


@on_order_panels
def order_payment_panels(request, order) -> list[dict]:
    if not request.user.has_perm("payments.view_payment"):
        return []
    payments = selectors.payments_of_order(order_id=order.pk)
    refunds = [refund for payment in payments for refund in payment.refunds.all()]
    return [
        {
            "title": "Payments",
            "columns": ["Payment", "Provider", "Reference", "Status", "Amount", "Captured", "Refunded", "Created"],
            "rows": [
                [
                    p.pk,
                    p.provider,
                    p.provider_reference or "-",
                    p.status,
                    p.amount,
                    p.captured,
                    p.refunded,
                    p.created_at,
                ]
                for p in payments
            ],
            "empty": "No payment.",
        },
        {
            "title": "Refunds",
            "columns": ["Refund", "Payment", "Amount", "Reason", "Status", "Failure", "Created"],
            "rows": [
                [r.pk, r.payment_id, r.amount, r.reason or "-", r.status, r.failure or "-", r.created_at]
                for r in refunds
            ],
            "empty": "No refund.",
        },
    ]


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["id", "amount", "reason", "status", "provider_reference", "failure", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "order_link", "provider", "provider_reference", "status", "amount", "captured", "refunded"]
    list_filter = ["provider", "status"]
    search_fields = ["provider_reference", "=order__id"]
    date_hierarchy = "created_at"
    # The client's secret confirms the payment at the provider: not for the back office.
    exclude = ["client_secret"]
    inlines = [RefundInline]

    @admin.display(description="order", ordering="order_id")
    def order_link(self, payment):
        url = reverse("admin:orders_order_change", args=[payment.order_id])
        return format_html('<a href="{}">Order {}</a>', url, payment.order_id)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment_id", "amount", "reason", "status", "provider_reference", "created_at"]
    list_filter = ["status"]
    search_fields = ["provider_reference", "=payment__id"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "provider", "type", "payment_id", "applied", "received_at"]
    list_filter = ["provider", "type", "applied"]
    search_fields = ["event_id"]
