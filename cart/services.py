"""Writes on carts (PostgreSQL)."""

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cart import selectors as cart_selectors
from cart.exceptions import CartChanged, CartItemNotFound, CartQuantityExceeded, ProductUnavailable
from cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY, CartItem
from cart.selectors import Cart
from catalog import selectors as catalog_selectors
from ecommerce.api.exceptions import ValidationFailed


def cart_item_add(*, user_id: int, product_id: str, quantity: int) -> Cart:
    """Add `quantity` of a product for sale; a product already in the cart adds to its line.
    Answers the cart.

    An upsert that holds under concurrent adds: a conditional `UPDATE quantity = quantity + n
    WHERE quantity <= 1000 - n` (the database re-checks the cap on the row it locks), else
    INSERT; when a concurrent add inserted the line first, the unique constraint refuses ours
    and the UPDATE is tried again. 400 when the line would pass 1000 units.

    The catalog is read once, for the new product and the cart's others together, and that
    read also prices the cart that is answered."""
    in_cart = set(CartItem.objects.filter(user_id=user_id).values_list("product_id", flat=True))
    products = catalog_selectors.products_get_many(product_ids=in_cart | {product_id}, cached=True)
    product = products.get(product_id)
    if product is None or not product.is_active:
        raise ProductUnavailable()
    if product_id not in in_cart and len(in_cart) >= MAX_CART_LINES:
        raise ValidationFailed(details={"product_id": [f"A cart holds at most {MAX_CART_LINES} products."]})
    _line_add(user_id=user_id, product_id=product_id, quantity=quantity)
    return cart_selectors.cart_get(user_id=user_id, known_products=products)


def _line_add(*, user_id: int, product_id: str, quantity: int) -> None:
    lines = CartItem.objects.filter(user_id=user_id, product_id=product_id)
    for _ in range(5):
        if lines.filter(quantity__lte=MAX_LINE_QUANTITY - quantity).update(
            quantity=F("quantity") + quantity, updated_at=timezone.now()
        ):
            return
        current = lines.values_list("quantity", flat=True).first()
        if current is not None:
            if current > MAX_LINE_QUANTITY - quantity:
                raise CartQuantityExceeded(MAX_LINE_QUANTITY)
            continue  # The line was inserted by a concurrent add after our UPDATE: increment it.
        try:
            with transaction.atomic():
                CartItem.objects.create(user_id=user_id, product_id=product_id, quantity=quantity)
            return
        except IntegrityError:
            continue
    raise CartQuantityExceeded(MAX_LINE_QUANTITY)


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
    lines = Q()
    for product_id, quantity in ordered.items():
        lines |= Q(product_id=product_id, quantity=quantity)
    deleted, _ = CartItem.objects.filter(lines, user_id=user_id).delete()
    if deleted != len(ordered):
        raise CartChanged()


def cart_items_remove_product(product_id: str) -> None:
    """A deleted product leaves every cart (a catalog on_product_deleted hook)."""
    CartItem.objects.filter(product_id=product_id).delete()
