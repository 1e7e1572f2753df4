from django.conf import settings
from django.db import models

# A cart holds at most this many products, and an order (from a cart or not) as many lines.
MAX_CART_LINES = 100
MAX_LINE_QUANTITY = 1000


class CartItem(models.Model):
    """One line of a user's cart: one per user and product (the same product again adds to
    its quantity). Prices are not stored: the cart shows live catalog prices."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart_items")
    product_id = models.CharField(max_length=24)
    quantity = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product_id"], name="cart_item_user_product_unique"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1, quantity__lte=MAX_LINE_QUANTITY), name="cart_item_quantity_range"
            ),
        ]
        indexes = [models.Index(fields=["product_id"], name="cart_item_product_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.product_id} x{self.quantity}"
