"""Writes on stock (MySQL). Every transaction names the `mysql` alias and stays short."""

from django.db import transaction

from ecommerce.routers import MYSQL
from inventory.models import Inventory


def inventory_create(*, product_id: str, quantity: int = 0) -> Inventory:
    """The inventory row of a new product (idempotent: an existing row is kept)."""
    with transaction.atomic(using=MYSQL):
        row, _ = Inventory.objects.using(MYSQL).get_or_create(product_id=product_id, defaults={"quantity": quantity})
    return row


def inventory_delete(*, product_id: str) -> None:
    """Remove a deleted product's row (idempotent)."""
    Inventory.objects.using(MYSQL).filter(product_id=product_id).delete()
