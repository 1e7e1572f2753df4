"""The payments ledger (PostgreSQL, beside the orders it pays for).

Each payment keeps three running amounts that only move forward under a row lock or a
conditional UPDATE, and the database refuses any state where they disagree:

    0 <= refunded <= refund_reserved <= captured <= amount

`refund_reserved` counts refunds from the moment they are asked for (pending and
succeeded), so two refunds racing for the same money cannot both pass; `refunded` counts
only those the provider confirmed.
"""

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from ecommerce.api.idempotency import IdempotencyRecord

MONEY = {"max_digits": 12, "decimal_places": 2}


class Payment(models.Model):
    class Status(models.TextChoices):
        REQUIRES_CONFIRMATION = "requires_confirmation"
        AUTHORIZED = "authorized"
        CAPTURED = "captured"
        PARTIALLY_REFUNDED = "partially_refunded"
        REFUNDED = "refunded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Provider(models.TextChoices):
        TEST = "test"
        STRIPE = "stripe"

    # What the provider is told (its idempotency keys): unique across every environment
    # sharing one provider account, unlike the row id.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Money records outlive nothing they point at: an order with payments cannot be deleted.
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Null until the provider answered the creation.
    provider_reference = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - unique when set
    client_secret = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.REQUIRES_CONFIRMATION)
    amount = models.DecimalField(**MONEY)
    captured = models.DecimalField(**MONEY, default=0)
    refund_reserved = models.DecimalField(**MONEY, default=0)
    refunded = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured__gte=0, captured__lte=F("amount")), name="payment_captured_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(refund_reserved__gte=0, refund_reserved__lte=F("captured")),
                name="payment_refunds_within_captured",
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0, refunded__lte=F("refund_reserved")),
                name="payment_refunded_within_reserved",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_reference"], name="payment_provider_reference_unique"
            ),
        ]
        indexes = [models.Index(fields=["order"], name="payment_order_idx")]

    def __str__(self) -> str:
        return f"Payment {self.pk} of order {self.order_id} ({self.status})"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider_reference = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 - unique when set
    # What the provider said when it refused (for staff).
    failure = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(fields=["provider_reference"], name="refund_provider_reference_unique"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_created_idx")]

    def __str__(self) -> str:
        return f"Refund {self.pk} of {self.amount} ({self.status})"


class WebhookEvent(models.Model):
    """A provider event applied: the unique (provider, event_id) written in the same
    transaction as the event's effect makes every repeat a no-op."""

    provider = models.CharField(max_length=16, choices=Payment.Provider.choices)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=64)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="+")
    # Whether the event changed anything (a late `authorized` after the capture does not).
    applied = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_id} ({self.type})"


class IdempotencyKey(IdempotencyRecord):
    """An `Idempotency-Key` sent to create a payment or a refund: the request's hash and,
    once answered, what to answer its repeats for 24 hours (the object, or the error)."""

    error_body = models.JSONField(null=True, blank=True)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="payment_idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="payment_idem_created_idx")]
