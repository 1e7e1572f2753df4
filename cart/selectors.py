"""Reads on carts: the lines from PostgreSQL, live names and prices from the catalog in
one MongoDB query for the whole cart."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import connections, router

from cart.models import CartItem
from catalog import selectors as catalog_selectors
from catalog.repository import Product


class CartRow(NamedTuple):
    """A stored line as the cart needs it (from the ORM or from the add-to-cart statement)."""

    id: int
    product_id: str
    quantity: int


@dataclass(frozen=True)
class CartLine:
    id: int
    product_id: str
    name: str
    unit_price: Decimal
    quantity: int
    # A variant's own SKU and options, live like its name and price (None and {} when the
    # product has none): an order snapshots them.
    sku: str | None = None
    options: dict[str, str] = field(default_factory=dict)

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
    unavailable: list[CartRow] = field(default_factory=list)

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
    caller just read, so only the missing ones are fetched."""
    return cart_from_rows(user_id=user_id, rows=cart_rows(user_id=user_id), known_products=known_products, fresh=fresh)


def cart_rows(*, user_id: int, using: str | None = None) -> list[CartRow]:
    """The stored lines of `user_id`'s cart, oldest first, on `using` (default: where carts are
    read): one hand-written SELECT (every cart read and every order from a cart pays it; the
    ORM's query costs more to build than to run)."""
    connection = connections[using or router.db_for_read(CartItem)]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('id')}, {quote('product_id')}, {quote('quantity')} FROM {quote(CartItem._meta.db_table)} "  # noqa: S608  # nosec B608 - names from the model, the id as a parameter
            f"WHERE {quote('user_id')} = %s ORDER BY {quote('id')}",
            [user_id],
        )
        return [CartRow(*row) for row in cursor.fetchall()]


def cart_from_rows(
    *, user_id: int, rows: Iterable[CartRow], known_products: dict[str, Product] | None = None, fresh: bool = False
) -> Cart:
    """The cart made of `rows` (in the order given), priced from `known_products` and one
    catalog read for the products not among them (none when all are known)."""
    rows = list(rows)
    products = known_products or {}
    missing = {row.product_id for row in rows} - products.keys()
    if missing:
        products = products | catalog_selectors.products_get_many(product_ids=missing, cached=not fresh)
    items, unavailable = [], []
    for row in rows:
        product = products.get(row.product_id)
        if product is None or not product.is_active or not product.is_buyable:
            unavailable.append(row)
            continue
        items.append(
            CartLine(
                id=row.id,
                product_id=row.product_id,
                name=product.name,
                unit_price=product.price,
                quantity=row.quantity,
                sku=product.sku,
                options=product.options,
            )
        )
    return Cart(user_id=user_id, items=items, unavailable=unavailable)
