from django.db import models


class Inventory(models.Model):
    """Stock of one catalog product (MySQL). `quantity` can still be sold; `reserved` is
    held by open (pending or paid) orders. The database keeps both from going negative."""

    product_id = models.CharField(max_length=24, primary_key=True)
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
        indexes = [models.Index(fields=["quantity"], name="inventory_quantity_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.quantity} (+{self.reserved} reserved)"
