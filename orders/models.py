import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from ecommerce.api.idempotency import IdempotencyRecord


class Order(models.Model):
    """An order (PostgreSQL). Its stock is reserved in MySQL under `reference`, a UUID made
    before either store is written, so the two can be matched after any crash. Items are
    snapshots: later catalog changes do not alter an order."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"

    class CancelReason(models.TextChoices):
        NONE = "", "-"
        CUSTOMER = "customer"
        STAFF = "staff"
        # reconcile_orders found no stock reserved for an open order (a crash, or a
        # reservation released while the order was being written).
        STOCK_NOT_RESERVED = "stock_not_reserved"

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The account may be deleted; the order stays with its email snapshot.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="orders")
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    cancel_reason = models.CharField(max_length=32, choices=CancelReason.choices, blank=True, default="")
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    shipping_address = models.JSONField()
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    # Set by order_place to the instant the stock was reserved for (the sales day, in UTC).
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_non_negative")]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="order_user_created_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="order_status_created_idx"),
            models.Index(fields=["-created_at", "-id"], name="order_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.pk} ({self.status})"


class OrderLine(models.Model):
    """One product of an order, with the name and price it was sold at."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product_id = models.CharField(max_length=24)
    name = models.CharField(max_length=200)
    # A variant's SKU and options as sold ("" and {} for a product without them).
    sku = models.CharField(max_length=64, blank=True, default="")
    options = models.JSONField(default=dict, blank=True)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product_id"], name="order_line_order_product_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]
        indexes = [models.Index(fields=["product_id"], name="order_line_product_idx")]

    def __str__(self) -> str:
        return f"{self.product_id} x{self.quantity}"


class IdempotencyKey(IdempotencyRecord):
    """An `Idempotency-Key` a user sent to POST /api/orders, with a hash of the request and,
    once done, the response it got (replayed to any repeat for 24 hours).

    In progress, the key is leased: the attempt holding it may work until `lease_until`; a
    repeat before then is told to retry later, a repeat after it takes the key over
    (`attempt` + 1) and settles what the earlier attempt did under `reference`, the order
    reference that attempt reserved stock and would write its order under. `attempt` fences
    a late writer: an attempt writes its order only while the key still carries its number."""

    response_body = models.JSONField(null=True, blank=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reference = models.UUIDField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]


class BooksCheck(models.Model):
    """The last `reconcile_orders` check (one row): what /metrics exposes, so an imbalance
    alerts without anyone running the command."""

    checked_at = models.DateTimeField()
    mismatches = models.PositiveIntegerField()
    # Mismatches by kind (stock, idempotency, figures), for the alert's message.
    by_kind = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M:%S}: {self.mismatches} mismatch(es)"
