"""Reads on carts: the lines from PostgreSQL, live names and prices from the catalog in
one MongoDB query for the whole cart."""

from dataclasses import dataclass, field
from decimal import Decimal

from cart.models import CartItem
from catalog import selectors as catalog_selectors
from catalog.repository import Product


@dataclass(frozen=True)
class CartLine:
    id: int
    product_id: str
    name: str
    unit_price: Decimal
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Cart:
    """A cart as its owner sees it. Lines whose product was deleted or deactivated are left
    out (and out of the totals) rather than shown at a price nobody can pay: an inactive
    product's line comes back if it is reactivated; deleted products' lines are removed."""

    user_id: int
    items: list[CartLine]
    unavailable: list[CartItem] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.items)

    @property
    def total(self) -> Decimal:
        return sum((line.line_total for line in self.items), Decimal("0.00"))


def cart_get(*, user_id: int, known_products: dict[str, Product] | None = None, fresh: bool = False) -> Cart:
    """The cart of `user_id`: one PostgreSQL query and one catalog read, whatever its size.

    Shown to its owner, its names and prices may come from the catalog cache; `fresh` reads
    them from MongoDB (an order placed from the cart). `known_products`: products the
    caller just read (the add-to-cart service), so only the missing ones are fetched."""
    rows = list(CartItem.objects.filter(user_id=user_id).order_by("id"))
    products = dict(known_products or {})
    missing = {row.product_id for row in rows} - products.keys()
    if missing:
        products |= catalog_selectors.products_get_many(product_ids=missing, cached=not fresh)
    items, unavailable = [], []
    for row in rows:
        product = products.get(row.product_id)
        if product is None or not product.is_active:
            unavailable.append(row)
            continue
        items.append(
            CartLine(
                id=row.id, product_id=row.product_id, name=product.name, unit_price=product.price, quantity=row.quantity
            )
        )
    return Cart(user_id=user_id, items=items, unavailable=unavailable)
