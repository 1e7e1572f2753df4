"""Reads on the catalog, for the views and for the other apps (cart, orders, reviews)."""

from collections.abc import Iterable

from catalog import repository
from catalog.exceptions import ProductNotFound
from catalog.repository import Product
from ecommerce import mongo


def product_get(*, product_id: str, include_inactive: bool = False) -> Product:
    """One product; inactive ones only with `include_inactive` (staff). Unknown or malformed id: 404."""
    product = repository.product_find_one(mongo.object_id_or_404(product_id, "Product"))
    if product is None or (not product.is_active and not include_inactive):
        raise ProductNotFound()
    return product


def products_get_many(*, product_ids: Iterable[str]) -> dict[str, Product]:
    """Products by id in one MongoDB query, inactive included; unknown ids are absent."""
    return repository.product_find_many(product_ids)


def product_exists(*, product_id: str) -> bool:
    return mongo.is_object_id(product_id) and bool(repository.product_find_many([product_id]))
