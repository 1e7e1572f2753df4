"""Writes on carts (PostgreSQL)."""

from django.db import connections, router, transaction
from django.utils import timezone

from cart import selectors as cart_selectors
from cart.exceptions import CartChanged, CartFull, CartItemNotFound, CartQuantityExceeded, ProductUnavailable
from cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY, CartItem
from cart.selectors import Cart, CartRow
from catalog import selectors as catalog_selectors
from catalog.exceptions import ParentNotBuyable

# The first key of the carts' transaction-level advisory locks (the second is the user's id):
# adds to one cart take turns, so the 100-line cap holds however many run at once. The
# two-key space never meets the one-key locks other apps take.
_CART_LOCK_CLASS = 0x43415254  # "CART"

# One round trip for PostgreSQL: two statements sent in one message (Django's default
# client-side binding sends them as one simple query) run as one implicit transaction, so
# the advisory lock taken by the first is held until the second is done, and the second's
# snapshot, taken after the lock, sees every line an earlier add committed. The upsert is
# atomic against a concurrent add of the same product (ON CONFLICT locks the line and
# re-checks the 1000-unit cap on its latest version); it inserts only while the cart holds
# fewer than 100 other products. The answer is every line of the cart: the `added` one as
# written (flag true), and all as they stood before it (flag false).
_ADD_SQL = """
SELECT pg_advisory_xact_lock(%(lock_class)s, (%(user_id)s %% 2147483647)::int);
WITH cart AS (
    SELECT id, product_id, quantity FROM cart_cartitem WHERE user_id = %(user_id)s
), added AS (
    INSERT INTO cart_cartitem AS line (user_id, product_id, quantity, created_at, updated_at)
    SELECT %(user_id)s, %(product_id)s, %(quantity)s, %(now)s, %(now)s
    WHERE (SELECT count(*) FROM cart WHERE product_id <> %(product_id)s) < %(max_lines)s
    ON CONFLICT (user_id, product_id) DO UPDATE
        SET quantity = line.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
        WHERE line.quantity <= %(max_quantity)s - EXCLUDED.quantity
    RETURNING id, product_id, quantity
)
SELECT id, product_id, quantity, true FROM added
UNION ALL
SELECT id, product_id, quantity, false FROM cart
"""


def cart_item_add(*, user_id: int, product_id: str, quantity: int) -> Cart:
    """Add `quantity` of a product for sale; a product already in the cart adds to its line.
    Answers the cart.

    400 when the product is unknown or not for sale, when it is a parent (naming its
    variants), when the line would pass 1000 units or the cart 100 products. Concurrent
    adds lose nothing and the caps hold under them (see `_line_add`).

    The product is read (from the catalog cache) before the write, so nothing is stored for
    a bad one; the write answers the cart's lines, so the cart is not read again, and only
    its other products are looked up to price it."""
    product = catalog_selectors.products_get_many(product_ids={product_id}, cached=True, include_parents=True).get(
        product_id
    )
    if product is None or not product.is_active:
        raise ProductUnavailable()
    if not product.is_buyable:
        raise ParentNotBuyable(variant_ids=product.variant_ids)
    rows = _line_add(user_id=user_id, product_id=product_id, quantity=quantity)
    return cart_selectors.cart_from_rows(user_id=user_id, rows=rows, known_products={product_id: product})


def _line_add(*, user_id: int, product_id: str, quantity: int) -> list[CartRow]:
    """Write the line; answer the cart's lines after it, oldest first."""
    database = router.db_for_write(CartItem)
    connection = connections[database]
    if connection.vendor != "postgresql":
        return _line_add_portable(database=database, user_id=user_id, product_id=product_id, quantity=quantity)
    params = {
        "user_id": user_id,
        "product_id": product_id,
        "quantity": quantity,
        "now": timezone.now(),
        "lock_class": _CART_LOCK_CLASS,
        "max_lines": MAX_CART_LINES,
        "max_quantity": MAX_LINE_QUANTITY,
    }
    with connection.cursor() as cursor:
        cursor.execute(_ADD_SQL, params)
        cursor.nextset()  # past the lock's result, to the lines
        results = cursor.fetchall()
    lines, written, held = [], None, False
    for line_id, line_product, line_quantity, is_written in results:
        if is_written:
            written = CartRow(line_id, line_product, line_quantity)
        elif line_product == product_id:
            held = True
        else:
            lines.append(CartRow(line_id, line_product, line_quantity))
    if written is None:
        if held:
            raise CartQuantityExceeded(MAX_LINE_QUANTITY)
        raise CartFull(MAX_CART_LINES)
    return sorted([*lines, written])


def _line_add_portable(*, database: str, user_id: int, product_id: str, quantity: int) -> list[CartRow]:
    """The same write on SQLite (the embedded default), whose transactions are IMMEDIATE
    (settings): each holds the database's write lock from its start, so adds take turns and
    what this one reads stays true until it commits."""
    with transaction.atomic(using=database):
        rows = cart_selectors.cart_rows(user_id=user_id, using=database)
        line = next((row for row in rows if row.product_id == product_id), None)
        if line is None:
            if len(rows) >= MAX_CART_LINES:
                raise CartFull(MAX_CART_LINES)
            created = CartItem.objects.using(database).create(user_id=user_id, product_id=product_id, quantity=quantity)
            return [*rows, CartRow(created.pk, product_id, quantity)]
        if line.quantity > MAX_LINE_QUANTITY - quantity:
            raise CartQuantityExceeded(MAX_LINE_QUANTITY)
        CartItem.objects.using(database).filter(pk=line.id).update(
            quantity=line.quantity + quantity, updated_at=timezone.now()
        )
        return [row._replace(quantity=line.quantity + quantity) if row.id == line.id else row for row in rows]


def cart_item_set_quantity(*, user_id: int, item_id: int, quantity: int) -> None:
    """Set one line's quantity (1..1000). 404 when the line is not in this user's cart."""
    if not CartItem.objects.filter(user_id=user_id, pk=item_id).update(quantity=quantity, updated_at=timezone.now()):
        raise CartItemNotFound()


def cart_item_remove(*, user_id: int, item_id: int) -> None:
    deleted, _ = CartItem.objects.filter(user_id=user_id, pk=item_id).delete()
    if not deleted:
        raise CartItemNotFound()


def cart_clear(*, user_id: int) -> None:
    CartItem.objects.filter(user_id=user_id).delete()


def cart_items_remove_ordered(*, user_id: int, ordered: dict[str, int]) -> None:
    """Remove the lines an order was placed from (`{product_id: quantity}`), inside the
    transaction that writes the order, so the cart empties only if the order stands.

    One cart, one order: the DELETE locks the lines, so a concurrent checkout of the same
    cart waits for this one's transaction and then finds them gone. When a line is gone, or
    its quantity changed since the order read it (the owner changed it meanwhile), this
    raises CartChanged: the order must not stand, and the caller rolls it back."""
    if not ordered:
        return
    connection = connections[router.db_for_write(CartItem)]
    quote = connection.ops.quote_name
    line = f"({quote('product_id')} = %s AND {quote('quantity')} = %s)"
    with connection.cursor() as cursor:
        # One hand-written DELETE (on the write every order from a cart pays).
        cursor.execute(
            f"DELETE FROM {quote(CartItem._meta.db_table)} WHERE {quote('user_id')} = %s "  # noqa: S608  # nosec B608 - names from the model, values as parameters
            f"AND ({' OR '.join(line for _ in ordered)})",
            [user_id, *(value for product_id, quantity in ordered.items() for value in (product_id, quantity))],
        )
        deleted = cursor.rowcount
    if deleted != len(ordered):
        raise CartChanged()


def cart_items_remove_product(product_id: str) -> None:
    """A deleted product leaves every cart (a catalog on_product_deleted hook)."""
    CartItem.objects.filter(product_id=product_id).delete()
