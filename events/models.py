import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """One change other systems care about (the outbox, PostgreSQL).

    `sequence` is the feed's order, and it is given after the fact: `services.events_number`
    (one at a time) numbers the events that have committed, after the highest number given.
    Numbers are therefore only ever appended, and a reader paging with ?after= never meets a
    smaller number committing after a larger one, while writers never wait for each other."""

    id = models.BigAutoField(primary_key=True)
    # The event's public id ("id" in the API, `webhook-id` on delivery), the same on every redelivery.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64)
    # DjangoJSONEncoder: a representation that carries a datetime or Decimal still serializes.
    data = models.JSONField(encoder=DjangoJSONEncoder)
    # The timeline's key: set for order events (no foreign key: orders are never deleted and
    # events outlive nothing they refer to; pruning is by age).
    order_id = models.BigIntegerField(null=True, blank=True)
    # A deterministic key for events written after another store's commit (product, stock):
    # the repair command re-derives them with the same key, so a repeat inserts nothing.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    sequence = models.BigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["order_id", "id"], name="event_order_idx"),
            models.Index(fields=["type", "sequence"], name="event_type_idx"),
            models.Index(fields=["created_at"], name="event_created_idx"),
            # What the numbering looks at: only the few events not numbered yet.
            models.Index(fields=["id"], name="event_unnumbered_idx", condition=models.Q(sequence__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.sequence or '-'} {self.type}"


class Webhook(models.Model):
    """A subscribed endpoint. Secrets are stored encrypted (events.crypto): a database dump
    alone does not hand them out. After a rotation the previous secret keeps signing beside
    the new one until `previous_secret_expires_at`."""

    url = models.URLField(max_length=2000)
    events = models.JSONField(help_text='Event types or "prefix.*" patterns, e.g. ["order.*", "stock.low"].')
    description = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return any(
            pattern in ("*", event_type) or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))
            for pattern in self.events
        )


class Delivery(models.Model):
    """One attempt to deliver an event to a webhook; the rows of one (webhook, event) are its
    deliveries log. A `pending` row is due at `next_attempt_at`; a relay claims it by setting
    `lease_until` (and its `lease_token`) in a short transaction, sends outside it, and
    records the outcome only while it still holds the lease. A relay killed mid-send leaves
    the lease to expire, and the row is sent again (same event id)."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Pending: when it is due. Failed: when the next attempt is due (null once given up).
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    attempted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(attempt__gte=1), name="delivery_attempt_positive"),
        ]
        indexes = [
            # The relay's claim: due pending rows only (a small partial index).
            models.Index(
                fields=["webhook", "next_attempt_at"],
                name="delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_idx"),
            models.Index(fields=["event"], name="delivery_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.webhook_id} #{self.attempt} ({self.status})"
