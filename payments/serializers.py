from decimal import Decimal

from rest_framework import serializers

from ecommerce.api.fields import MoneyField, StrictCharField
from payments.models import Payment, Refund
from payments.providers.simulated import SIMULATED_EVENTS


class RefundSerializer(serializers.ModelSerializer):
    payment_id = serializers.IntegerField(read_only=True)
    amount = MoneyField()

    class Meta:
        model = Refund
        fields = ["id", "payment_id", "amount", "reason", "status", "created_at"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(read_only=True)
    provider_reference = serializers.CharField(allow_null=True, read_only=True)
    amount = MoneyField()
    captured = MoneyField()
    refunded = MoneyField()
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "order_id",
            "provider",
            "provider_reference",
            "status",
            "amount",
            "captured",
            "refunded",
            "currency",
            "client_secret",
            "refunds",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PaymentCreateSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(
        choices=Payment.Provider.choices,
        required=False,
        help_text="Default: stripe when it is configured, else test.",
    )


class RefundCreateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Default: all that was captured and is not yet refunded.",
    )
    reason = StrictCharField(max_length=200, required=False, allow_blank=True, default="")


class SimulateSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=SIMULATED_EVENTS)


class WebhookEventDataSerializer(serializers.Serializer):
    payment = serializers.CharField(help_text="The payment's provider_reference.")
    amount = serializers.CharField(required=False, help_text='A decimal string, e.g. "12.34".')
    refund = serializers.CharField(required=False, help_text="The refund's id (refund events).")


class WebhookEventSerializer(serializers.Serializer):
    """The `test` provider's event (Stripe sends its own event objects to /webhooks/stripe)."""

    id = serializers.CharField(help_text="evt_…; an id already applied changes nothing.")
    type = serializers.ChoiceField(
        choices=["payment.authorized", "payment.captured", "payment.failed", "refund.succeeded", "refund.failed"]
    )
    data = WebhookEventDataSerializer()


class WebhookAckSerializer(serializers.Serializer):
    received = serializers.BooleanField()
    event_id = serializers.CharField(allow_blank=True)
    applied = serializers.BooleanField(help_text="Whether this delivery changed the ledger.")
    replayed = serializers.BooleanField(help_text="An event already applied: nothing changed.")


def payment_representation(payment: Payment) -> dict:
    """The payment as the API answers it (the `data` of its events)."""
    return PaymentSerializer(payment).data


def refund_representation(refund: Refund) -> dict:
    return RefundSerializer(refund).data
