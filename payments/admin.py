"""Payments in the back office, read-only: money moves only through the API and the providers'
webhooks. An order's page shows its payments and refunds (a panel on orders' admin)."""

from django.contrib import admin

from ecommerce.admin_kit import ReadOnlyAdmin
from orders.admin import on_order_panels
from payments import selectors
from payments.models import Payment, Refund, WebhookEvent


@on_order_panels
def order_payment_panels(request, order) -> list[dict]:
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


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["id", "order_id", "provider", "provider_reference", "status", "amount", "captured", "refunded"]
    list_filter = ["provider", "status"]
    search_fields = ["provider_reference", "=order__id"]
    date_hierarchy = "created_at"


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
