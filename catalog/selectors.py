"""Reads on the catalog, for the views and for the other apps (cart, orders, reviews)."""

from collections.abc import Iterable
from decimal import Decimal

from catalog import cache, repository
from catalog.exceptions import CategoryNotFound, ProductNotFound
from catalog.repository import Category, Product
from ecommerce.api.pagination import MongoSlice
from ecommerce.stores import mongo

# A guard against a corrupt tree, far deeper than any real catalog: the services keep it acyclic.
MAX_CATEGORY_DEPTH = 32


def product_get(*, product_id: str, include_inactive: bool = False) -> Product:
    """One product; inactive ones only with `include_inactive` (staff). Unknown or malformed id: 404."""
    product = repository.product_find_one(mongo.object_id_or_404(product_id, "Product"))
    if product is None or (not product.is_active and not include_inactive):
        raise ProductNotFound()
    return product


def products_get_many(*, product_ids: Iterable[str], cached: bool = False) -> dict[str, Product]:
    """Products by id in one MongoDB query, inactive included; unknown ids are absent.

    `cached`: may come from the catalog cache (for showing a cart). Anything that charges
    money (orders) reads MongoDB itself."""
    if cached:
        return cache.cached_products(set(product_ids), repository.product_find_many)
    return repository.product_find_many(product_ids)


def product_exists(*, product_id: str) -> bool:
    return mongo.is_object_id(product_id) and bool(repository.product_find_many([product_id]))


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
    query = repository.product_query(active_only=not include_inactive, category_ids=category_ids, **filters)
    return MongoSlice(
        count=lambda: repository.product_count(query),
        fetch=lambda skip, limit: repository.product_page(query, sort=sort, skip=skip, limit=limit),
    )


def category_get(*, category_id: str) -> Category:
    """One category; unknown or malformed id: 404."""
    category = repository.category_find_one(mongo.object_id_or_404(category_id, "Category"))
    if category is None:
        raise CategoryNotFound()
    return category


def category_get_by_slug_or_id(*, category: str) -> Category:
    """A category by id (24 hex digits) or by slug; 404 when neither names one.

    Slugs never look like an id (the services refuse or suffix them), so the two cannot clash.
    """
    found = None
    if mongo.is_object_id(category):
        found = repository.category_find_one(mongo.object_id_or_404(category))
    else:
        found = repository.category_find_by_slug(category.lower())
    if found is None:
        raise CategoryNotFound()
    return found


def category_exists(*, category_id: str) -> bool:
    return (
        mongo.is_object_id(category_id)
        and repository.category_find_one(mongo.object_id_or_404(category_id)) is not None
    )


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
    current = repository.category_find_one(mongo.object_id_or_404(category_id, "Category"))
    while current is not None and current.parent_id and len(ancestors) < MAX_CATEGORY_DEPTH:
        if current.parent_id in ancestors:
            break
        ancestors.append(current.parent_id)
        current = repository.category_find_one(mongo.object_id_or_404(current.parent_id, "Category"))
    return ancestors
