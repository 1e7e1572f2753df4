"""Reads on the catalog, for the views and for the other apps (cart, orders, reviews)."""

import dataclasses
from collections.abc import Iterable, Sequence
from decimal import Decimal

from catalog import cache, repository
from catalog.exceptions import CategoryNotFound, NotAParent, ProductNotFound
from catalog.repository import PARENT, STANDALONE, VARIANT, Category, Product
from ecommerce.api.pagination import MongoSlice
from ecommerce.stores import mongo
from inventory import selectors as inventory_selectors

__all__ = ["PARENT", "PRODUCT_SORT_KEYS", "STANDALONE", "VARIANT", "Product"]

PRODUCT_SORT_KEYS = tuple(repository.PRODUCT_SORTS)

# A guard against a corrupt tree, far deeper than any real catalog: the services keep it acyclic.
MAX_CATEGORY_DEPTH = 32


def product_get(*, product_id: str, include_inactive: bool = False) -> Product:
    """One product of any kind; inactive ones only with `include_inactive` (staff). Unknown
    or malformed id: 404. A parent's variant summaries come without `in_stock` (see product_detail)."""
    product = repository.product_find_one(product_id)
    if product is None:
        raise ProductNotFound()
    product = _as_sold(product)
    if not product.is_active and not include_inactive:
        raise ProductNotFound()
    return product


def product_get_by_sku(*, sku: str) -> Product | None:
    """The product whose SKU is exactly `sku` (variants included, inactive ones too), or None:
    for staff tools; the public search matches names, descriptions and tags."""
    product = repository.product_find_by_sku(sku) if sku else None
    return _as_sold(product) if product is not None else None


def _as_sold(product: Product) -> Product:
    """A product as it is sold: a variant of an inactive parent is inactive too (its own
    flag kept in the store, so reactivating the parent brings it back as it was)."""
    if product.kind == VARIANT and not product.parent_active and product.is_active:
        return dataclasses.replace(product, is_active=False)
    return product


def product_detail(*, product_id: str, include_inactive: bool = False) -> Product:
    """`product_get` as the API answers it: a parent's variants with `in_stock` (customers
    see only its active ones), a variant with its parent's rating (ratings belong to the
    parent). One MongoDB read, plus one MySQL query for a parent or one more read for a variant."""
    product = product_get(product_id=product_id, include_inactive=include_inactive)
    if product.kind == VARIANT:
        parent = repository.product_find_one(product.parent_id or "")
        if parent is not None:
            product = dataclasses.replace(product, rating_sum=parent.rating_sum, rating_count=parent.rating_count)
    return _with_stock([product], include_inactive)[0]


def _with_stock(products: Sequence[Product], include_inactive: bool) -> list[Product]:
    """Fill the `in_stock` of every parent's variant summaries in one inventory query for
    them all (none when no parent is among the products): a page costs the same for any
    number of parents."""
    variant_ids = [v.id for product in products for v in product.variants]
    if not variant_ids:
        return list(products)
    in_stock = _in_stock(variant_ids)
    return [
        dataclasses.replace(
            product,
            variants=tuple(
                dataclasses.replace(v, in_stock=v.id in in_stock)
                for v in product.variants
                if v.is_active or include_inactive
            ),
        )
        if product.variants
        else product
        for product in products
    ]


def _in_stock(product_ids: list[str]) -> set[str]:
    """Which of these products have units to sell, in one MySQL query."""
    return inventory_selectors.inventory_in_stock(product_ids=product_ids)


def products_get_many(
    *, product_ids: Iterable[str], cached: bool = False, include_parents: bool = False
) -> dict[str, Product]:
    """Products by id in one MongoDB query, inactive included; unknown ids are absent, and so
    are parents unless `include_parents`: what carts, orders and wishlists hold is bought by
    its own id, so by default a parent reads as no product at all (400, never a 500 on its
    missing price).

    For the SQL side (carts, orders, inventory, analytics): each `Product` says its `kind`
    (`is_buyable`: standalone or variant), `parent_id` (variants), `sku`, `options`,
    `name`, `price`, `is_active`, and with `include_parents` a parent its `variant_ids`
    (for the 400 of `catalog.exceptions.ParentNotBuyable`).

    `cached`: may come from the catalog cache (for showing a cart). Anything that charges
    money (orders) reads MongoDB itself."""
    if cached:
        found = cache.cached_products(set(product_ids), repository.product_find_many)
    else:
        found = repository.product_find_many(product_ids)
    return {
        product_id: _as_sold(product) for product_id, product in found.items() if include_parents or product.is_buyable
    }


def variants_of(*, parent_ids: list[str]) -> list[Product]:
    """Every variant of these parents as sold (as products_get_many answers them), oldest
    first, in one query."""
    return [_as_sold(variant) for variant in repository.variants_of(parent_ids)]


def product_exists(*, product_id: str) -> bool:
    return repository.product_find_one(product_id) is not None


def variant_list(*, parent_id: str, include_inactive: bool) -> MongoSlice:
    """A parent's variants, oldest first, for the paginator (customers: active ones of an
    active parent). 404 for an unknown parent, 400 for a product that is not a parent."""
    parent = product_get(product_id=parent_id, include_inactive=include_inactive)
    if parent.kind != PARENT:
        raise NotAParent()
    query = repository.variant_query(parent.id, active_only=not include_inactive)
    return MongoSlice(
        count=lambda: repository.product_count(query),
        fetch=lambda skip, limit: [
            _as_sold(variant) for variant in repository.product_page(query, sort="created_at", skip=skip, limit=limit)
        ],
    )


def product_owning_reviews(*, product_id: str, include_inactive: bool = False) -> Product:
    """The product a review of `product_id` belongs to: the product itself, or a variant's
    parent (ratings belong to the parent). 404 as product_get, also for a variant whose
    parent is gone or (customers) inactive."""
    product = product_get(product_id=product_id, include_inactive=include_inactive)
    if product.kind == VARIANT:
        return product_get(product_id=product.parent_id or "", include_inactive=include_inactive)
    return product


def product_list(
    *,
    include_inactive: bool,
    sort: str = "-created_at",
    is_active: bool | None = None,
    category_id: str | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    tag: str | None = None,
    search: str | None = None,
    kind: str | None = None,
) -> MongoSlice:
    """Products matching the filters, for the paginator: one count and one page query.

    Without `include_inactive` (customers, anonymous) only active products are listed,
    and `is_active=False` narrows that to nothing. `search` is a case-insensitive
    substring of the name, description or a tag.
    """
    return _product_slice(
        include_inactive=include_inactive,
        sort=sort,
        is_active=is_active,
        category_ids=[category_id] if category_id else None,
        min_price=min_price,
        max_price=max_price,
        tag=tag,
        search=search,
        kind=kind,
    )


def product_list_in_category(
    *, category: str, include_inactive: bool, sort: str = "-created_at", **filters
) -> MongoSlice:
    """Products of a category (by slug or id) and of all its sub-categories; 404 when unknown.

    Costs one query to find the category and one per level of the tree below it, then
    the usual count and page queries.
    """
    root = category_get_by_slug_or_id(category=category)
    return _product_slice(
        include_inactive=include_inactive,
        sort=sort,
        category_ids=category_descendant_ids(category_id=root.id),
        **filters,
    )


def _product_slice(
    *, include_inactive: bool, sort: str, category_ids: list[str] | None = None, **filters
) -> MongoSlice:
    """Standalone products and parents (never variants): one count, one page query, and one
    inventory query when the page holds parents."""
    query = repository.product_query(active_only=not include_inactive, category_ids=category_ids, **filters)
    return MongoSlice(
        count=lambda: repository.product_count(query),
        fetch=lambda skip, limit: _with_stock(
            repository.product_page(query, sort=sort, skip=skip, limit=limit), include_inactive
        ),
    )


def category_get(*, category_id: str) -> Category:
    """One category; unknown or malformed id: 404."""
    category = repository.category_find_one(category_id)
    if category is None:
        raise CategoryNotFound()
    return category


def category_get_by_slug_or_id(*, category: str) -> Category:
    """A category by id (24 hex digits) or by slug; 404 when neither names one.

    Slugs never look like an id (the services refuse or suffix them), so the two cannot clash.
    """
    if mongo.is_object_id(category):
        found = repository.category_find_one(category)
    else:
        found = repository.category_find_by_slug(category.lower())
    if found is None:
        raise CategoryNotFound()
    return found


def category_exists(*, category_id: str) -> bool:
    return repository.category_find_one(category_id) is not None


def category_list(*, parent_id: str | None = None, roots_only: bool = False) -> MongoSlice:
    """Categories by name, optionally only the children of `parent_id` or only the top level."""
    query = repository.category_query(parent_id=parent_id, roots_only=roots_only)
    return MongoSlice(
        count=lambda: repository.category_count(query),
        fetch=lambda skip, limit: repository.category_page(query, skip=skip, limit=limit),
    )


def category_descendant_ids(*, category_id: str) -> list[str]:
    """The category and everything below it, walking the tree one level (one $in query) at a time."""
    found = [category_id]
    seen = {category_id}
    level = [category_id]
    for _ in range(MAX_CATEGORY_DEPTH):
        level = [child for child in repository.category_child_ids(level) if child not in seen]
        if not level:
            break
        seen.update(level)
        found.extend(level)
    return found


def category_ancestor_ids(*, category_id: str) -> list[str]:
    """Ids from the category's parent up to its root (one query per level)."""
    ancestors: list[str] = []
    current = repository.category_find_one(category_id)
    while current is not None and current.parent_id and len(ancestors) < MAX_CATEGORY_DEPTH:
        if current.parent_id in ancestors:
            break
        ancestors.append(current.parent_id)
        current = repository.category_find_one(current.parent_id)
    return ancestors
