"""Writes on the catalog. A product spans two stores: its document in MongoDB and its
inventory row in MySQL; there is no transaction across them, so each write orders its
steps so that a failure half-way is compensated or repaired by `manage.py catalog_repair`.
"""

from collections.abc import Callable
from decimal import Decimal

from django.utils import timezone
from pymongo.errors import DuplicateKeyError

from catalog import repository
from catalog.exceptions import ProductNotFound
from catalog.repository import Product
from ecommerce import mongo
from ecommerce.exceptions import ConflictError
from inventory import services as inventory_services

_product_deleted_hooks: list[Callable[[str], None]] = []


def on_product_deleted(hook: Callable[[str], None]) -> Callable[[str], None]:
    """Register `hook(product_id)` to run after a product is deleted (reviews, wishlists)."""
    if hook not in _product_deleted_hooks:
        _product_deleted_hooks.append(hook)
    return hook


def product_create(
    *,
    name: str,
    price: Decimal,
    description: str = "",
    sku: str | None = None,
    category_id: str | None = None,
    tags: list[str] | None = None,
    images: list[str] | None = None,
    attributes: dict | None = None,
    is_active: bool = True,
    initial_stock: int = 0,
) -> Product:
    """Create a product and its inventory row. 409 on a taken SKU.

    The document is written first, then the inventory row; if MySQL fails, the
    document is deleted again so no product is left without its row.
    """
    now = timezone.now()
    tags = tags or []
    document = {
        "name": name,
        "name_lower": name.lower(),
        "description": description,
        "price_cents": repository.to_cents(price),
        "category_id": category_id,
        "tags": tags,
        "images": images or [],
        "attributes": attributes or {},
        "is_active": is_active,
        "rating_sum": 0,
        "rating_count": 0,
        "search_text": repository.search_text(name, description, tags),
        "created_at": now,
        "updated_at": now,
    }
    if sku:
        document["sku"] = sku
    try:
        product = repository.product_insert(document)
    except DuplicateKeyError:
        raise ConflictError("A product with this SKU already exists.", details={"sku": ["Already taken."]}) from None
    try:
        inventory_services.inventory_create(product_id=product.id, quantity=initial_stock)
    except Exception:
        repository.product_delete_one(mongo.object_id_or_404(product.id))
        raise
    return product


def product_delete(*, product_id: str) -> None:
    """Delete a product, then its inventory row, then (through hooks) its reviews and
    wishlist entries. Orders keep their snapshots. A failure after the document is gone
    leaves only orphans, which `catalog_repair` removes."""
    product = repository.product_delete_one(mongo.object_id_or_404(product_id, "Product"))
    if product is None:
        raise ProductNotFound()
    inventory_services.inventory_delete(product_id=product.id)
    for hook in _product_deleted_hooks:
        hook(product.id)


def product_rating_add(*, product_id: str, rating: int) -> None:
    """Count one more review of `rating` stars (atomic $inc: no lost update)."""
    repository.product_rating_increment(mongo.object_id_or_404(product_id, "Product"), sum_delta=rating, count_delta=1)


def product_rating_remove(*, product_id: str, rating: int) -> None:
    """Count one review of `rating` stars less."""
    repository.product_rating_increment(
        mongo.object_id_or_404(product_id, "Product"), sum_delta=-rating, count_delta=-1
    )
