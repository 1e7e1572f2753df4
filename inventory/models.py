from django.db import models


class Inventory(models.Model):
    """Stock of one catalog product (MySQL). `quantity` can still be sold; `reserved` is
    held by open (pending or paid) orders. The database keeps both from going negative."""

    product_id = models.CharField(max_length=24, primary_key=True)
    # A variant's parent ("" otherwise), given by the catalog at creation: inventory sits
    # below the catalog, so this is how `?product_id={parent}` finds a parent's rows.
    parent_id = models.CharField(max_length=24, blank=True, default="")
    quantity = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    low_stock_threshold = models.IntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "inventory"
        ordering = ["product_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="inventory_quantity_non_negative"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="inventory_reserved_non_negative"),
            models.CheckConstraint(
                condition=models.Q(low_stock_threshold__gte=0), name="inventory_threshold_non_negative"
            ),
        ]
        # No index on `quantity`: with one, MariaDB may plan a reservation's
        # `UPDATE ... WHERE product_id = %s AND quantity >= %s` as a range scan of it, and a
        # concurrent order that moves the row's entry behind the scan makes the UPDATE match
        # nothing: a spurious out_of_stock with plenty on the shelf (orders/tests/
        # test_concurrent_buyers_plenty.py). Only the staff low-stock list would use it.
        indexes = [
            models.Index(fields=["parent_id"], name="inventory_parent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.quantity} (+{self.reserved} reserved)"


class StockReservation(models.Model):
    """Units of one product held for one order, matched to the PostgreSQL order by its
    `order_reference` (a UUID generated before either store is written). The status only
    moves forward from `reserved`, and every stock movement is guarded by that change in
    the same MySQL transaction, so stock returns or is sold exactly once.

    `sales_date` and `unit_price` are kept so that a later cancellation subtracts from
    the same day's sales figures the order was counted on."""

    class Status(models.TextChoices):
        RESERVED = "reserved"
        RELEASED = "released"
        COMMITTED = "committed"

    order_reference = models.UUIDField()
    product_id = models.CharField(max_length=24)
    # The name it was sold under: with the price and quantity, what the order's line snapshots,
    # so an order whose write was interrupted can be completed from its reservation alone.
    name = models.CharField(max_length=200, blank=True, default="")
    sku = models.CharField(max_length=64, blank=True, default="")
    options = models.JSONField(default=dict, blank=True)
    # The variant's parent, for the sales figures grouped by parent (analytics knows no catalog).
    parent_id = models.CharField(max_length=24, blank=True, default="")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    sales_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RESERVED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order_reference", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["order_reference", "product_id"], name="reservation_order_product_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="reservation_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="reservation_status_created_idx"),
            models.Index(fields=["product_id", "status"], name="reservation_product_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_reference} {self.product_id} x{self.quantity} ({self.status})"
