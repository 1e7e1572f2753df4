"""Reads on stock (MySQL)."""

from ecommerce.routers import MYSQL
from inventory.models import Inventory


def inventory_product_ids() -> set[str]:
    """Every product id that has an inventory row (for repairs across stores)."""
    return set(Inventory.objects.using(MYSQL).values_list("product_id", flat=True))
