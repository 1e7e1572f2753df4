"""Test helpers for the shop's money paths: products with stock, addresses, placed orders."""

from decimal import Decimal

from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from inventory.models import Inventory, StockReservation

ADDRESS = {
    "name": "Cathy Customer",
    "line1": "1 High Street",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}


def product(name: str = "Mug", price: str = "9.99", stock: int = 10, active: bool = True):
    return catalog_services.product_create(name=name, price=Decimal(price), initial_stock=stock, is_active=active)


def stock(product_id: str) -> tuple[int, int]:
    """(quantity, reserved) of a product."""
    row = Inventory.objects.using(MYSQL).get(product_id=product_id)
    return row.quantity, row.reserved


def reservations(**filters) -> list[StockReservation]:
    return list(StockReservation.objects.using(MYSQL).filter(**filters).order_by("product_id"))


def order_body(*lines, **extra) -> dict:
    """`order_body((product, 2), (other, 1))` → a POST /api/orders body."""
    return {"items": [{"product_id": p.id, "quantity": q} for p, q in lines], "shipping_address": ADDRESS, **extra}
