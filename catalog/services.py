"""Writes on the catalog. A product spans two stores: its document in MongoDB and its
inventory row in MySQL; there is no transaction across them, so each write orders its
steps so that a failure half-way is compensated or repaired by `manage.py catalog_repair`.
"""

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.text import slugify

from catalog import repository, selectors
from catalog.cache import invalidates_catalog
from catalog.exceptions import CategoryNotFound, ProductNotFound
from catalog.repository import Category, Product
from ecommerce.api.exceptions import ConflictError, ValidationFailed
from ecommerce.stores import mongo
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services

logger = logging.getLogger(__name__)

_product_deleted_hooks: list[Callable[[str], None]] = []
_product_changed_hooks: list[Callable[[str, str], None]] = []

# Optimistic updates retry this often when another write wins the race.
_UPDATE_ATTEMPTS = 5
_PRODUCT_FIELDS = {"name", "description", "price", "category_id", "tags", "images", "attributes", "is_active"}
_CATEGORY_FIELDS = {"name", "slug", "description", "parent_id"}
SLUG_MAX_LENGTH = 200


def on_product_deleted(hook: Callable[[str], None]) -> Callable[[str], None]:
    """Register `hook(product_id)` to run after a product is deleted (reviews, wishlists).

    Hooks must be idempotent: `catalog_repair` runs them again for a deletion that failed half-way.
    """
    if hook not in _product_deleted_hooks:
        _product_deleted_hooks.append(hook)
    return hook


def _run_product_deleted_hooks(product_id: str) -> None:
    for hook in _product_deleted_hooks:
        hook(product_id)


def on_product_changed(hook: Callable[[str, str], None]) -> Callable[[str, str], None]:
    """Register `hook(product_id, change)`, change in {"created", "updated", "deleted"}, to run
    after a product's (or a variant's) MongoDB write succeeded (events, for example); for
    "created", after its inventory row too, since a create whose row fails is undone.

    Not called for rating counts. A hook that raises makes the request fail, but the MongoDB
    write stays: MongoDB has no transaction to roll back, so hooks must tolerate repeats.
    """
    if hook not in _product_changed_hooks:
        _product_changed_hooks.append(hook)
    return hook


def _run_product_changed_hooks(product_id: str, change: str) -> None:
    for hook in _product_changed_hooks:
        hook(product_id, change)


def _now():
    # MongoDB keeps milliseconds: truncate now, so what we answer is what a read returns.
    now = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _ensure_category_exists(category_id: str | None) -> None:
    if category_id is not None and not selectors.category_exists(category_id=category_id):
        raise ValidationFailed(details={"category_id": ["Unknown category."]})


def _sku_taken() -> ConflictError:
    return ConflictError("A product with this SKU already exists.", details={"sku": ["Already taken."]})


# --- Products ---------------------------------------------------------------------------


@invalidates_catalog
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
    """Create a product and its inventory row. 409 on a taken SKU; 400 on an unknown category.

    The document is written first, then the inventory row; if MySQL fails, the
    document is deleted again so no product is left without its row (and if even that
    fails, `catalog_repair` gives the product an empty row).
    """
    _ensure_category_exists(category_id)
    document = repository.product_document(
        name=name,
        price=price,
        description=description,
        sku=sku,
        category_id=category_id,
        tags=tags,
        images=images,
        attributes=attributes,
        is_active=is_active,
        now=_now(),
    )
    try:
        product = repository.product_insert(document)
    except repository.KeyTaken:
        raise _sku_taken() from None
    try:
        inventory_services.inventory_create(product_id=product.id, quantity=initial_stock)
    except Exception:
        logger.warning("Inventory row for product %s failed; removing the product again", product.id)
        repository.product_delete_one(mongo.object_id_or_404(product.id))
        raise
    _run_product_changed_hooks(product.id, "created")
    return product


@invalidates_catalog
def product_update(*, product_id: str, data: dict) -> Product:
    """Change the fields in `data` (a partial update; `sku: None` removes the SKU, and
    `category_id: None` the category). 404 for an unknown product, 409 on a taken SKU,
    400 on an unknown category.

    `name_lower` and `search_text` derive from several fields, so the new document is
    written only over the revision it was computed from, and recomputed if another write
    (an update, a review's rating) got there first: no lost update, no stale search field.
    """
    if data.get("category_id") is not None:
        _ensure_category_exists(data["category_id"])
    object_id = mongo.object_id_or_404(product_id, "Product")
    changes = {name: value for name, value in data.items() if name in _PRODUCT_FIELDS}
    for _ in range(_UPDATE_ATTEMPTS):
        current = repository.product_find_one(object_id)
        if current is None:
            raise ProductNotFound()
        updated = dataclasses.replace(current, **changes, sku=data.get("sku", current.sku) or None, updated_at=_now())
        try:
            saved = repository.product_replace(updated)
        except repository.KeyTaken:
            raise _sku_taken() from None
        if saved:
            _run_product_changed_hooks(product_id, "updated")
            return dataclasses.replace(updated, revision=updated.revision + 1)
    raise ConflictError("The product is being changed by someone else; try again.")


@invalidates_catalog
def product_delete(*, product_id: str) -> None:
    """Delete a product, then (through hooks) its reviews and wishlist entries, then its
    inventory row. Orders keep their snapshots.

    The inventory row goes last on purpose: if a hook or MySQL fails after the document
    is gone, the row left behind marks the unfinished deletion, and `catalog_repair`
    runs the hooks again and removes it.
    """
    product = repository.product_delete_one(mongo.object_id_or_404(product_id, "Product"))
    if product is None:
        raise ProductNotFound()
    _run_product_changed_hooks(product.id, "deleted")
    _run_product_deleted_hooks(product.id)
    inventory_services.inventory_delete(product_id=product.id)


@invalidates_catalog
def product_rating_add(*, product_id: str, rating: int) -> None:
    """Count one more review of `rating` stars (atomic $inc: no lost update)."""
    repository.product_rating_increment(mongo.object_id_or_404(product_id, "Product"), sum_delta=rating, count_delta=1)


@invalidates_catalog
def product_rating_remove(*, product_id: str, rating: int) -> None:
    """Count one review of `rating` stars less."""
    repository.product_rating_increment(
        mongo.object_id_or_404(product_id, "Product"), sum_delta=-rating, count_delta=-1
    )


# --- Categories -------------------------------------------------------------------------


def _slug_taken() -> ConflictError:
    return ConflictError("A category with this slug already exists.", details={"slug": ["Already taken."]})


def _derived_slug(name: str) -> str:
    """A free slug from the name: `shoes`, else `shoes-2`, `shoes-3`, ... (the smallest free).

    A slug that would read as an id (24 hex digits) is never used as is, so
    `/products/category/{category}` can tell slugs and ids apart.
    """
    base = slugify(name)[: SLUG_MAX_LENGTH - 8].strip("-") or "category"
    taken = repository.category_slugs_like(base)
    if base not in taken and not mongo.is_object_id(base):
        return base
    suffixes = {int(slug[len(base) + 1 :]) for slug in taken if _is_suffixed(slug, base)}
    n = 2
    while n in suffixes:
        n += 1
    return f"{base}-{n}"


def _is_suffixed(slug: str, base: str) -> bool:
    rest = slug[len(base) + 1 :]
    return slug.startswith(base + "-") and rest.isdigit() and rest.isascii()


@invalidates_catalog
def category_create(
    *, name: str, slug: str | None = None, description: str = "", parent_id: str | None = None
) -> Category:
    """Create a category. An explicit `slug` that is taken is a 409; without one, the slug
    derives from the name and is suffixed (`-2`, `-3`, ...) until free. 400 on an unknown parent.
    """
    if parent_id is not None and not selectors.category_exists(category_id=parent_id):
        raise ValidationFailed(details={"parent_id": ["Unknown category."]})
    now = _now()
    document = {
        "name": name,
        "name_lower": name.lower(),
        "description": description,
        "parent_id": parent_id or repository.ROOT,
        "revision": 0,
        "created_at": now,
        "updated_at": now,
    }
    if slug:
        try:
            return repository.category_insert({**document, "slug": slug})
        except repository.KeyTaken:
            raise _slug_taken() from None
    # Another create may take the derived slug between the look-up and the insert: try again.
    for _ in range(5):
        try:
            return repository.category_insert({**document, "slug": _derived_slug(name)})
        except repository.KeyTaken:
            continue
    raise _slug_taken()


@invalidates_catalog
def category_update(*, category_id: str, data: dict) -> Category:
    """Change the fields in `data` (partial). The slug changes only when sent (409 if taken).

    A new `parent_id` must exist and must not be the category itself or one of its
    descendants (400): the tree cannot loop. Two concurrent moves of different categories
    under each other could still race (MongoDB has no multi-document isolation here);
    staff-only and rare, so the check is not made atomic.
    """
    object_id = mongo.object_id_or_404(category_id, "Category")
    if repository.category_find_one(object_id) is None:
        raise CategoryNotFound()
    if data.get("parent_id") is not None:
        _ensure_valid_parent(category_id=category_id, parent_id=data["parent_id"])
    changes = {name: value for name, value in data.items() if name in _CATEGORY_FIELDS}
    for _ in range(_UPDATE_ATTEMPTS):
        current = repository.category_find_one(object_id)
        if current is None:
            raise CategoryNotFound()
        updated = dataclasses.replace(current, **changes, updated_at=_now())
        try:
            saved = repository.category_replace(updated)
        except repository.KeyTaken:
            raise _slug_taken() from None
        if saved:
            return dataclasses.replace(updated, revision=updated.revision + 1)
    raise ConflictError("The category is being changed by someone else; try again.")


def _ensure_valid_parent(*, category_id: str, parent_id: str) -> None:
    if parent_id == category_id:
        raise ValidationFailed(details={"parent_id": ["A category cannot be its own parent."]})
    if not selectors.category_exists(category_id=parent_id):
        raise ValidationFailed(details={"parent_id": ["Unknown category."]})
    if category_id in selectors.category_ancestor_ids(category_id=parent_id):
        raise ValidationFailed(details={"parent_id": ["A category cannot move under one of its descendants."]})


@invalidates_catalog
def category_delete(*, category_id: str) -> None:
    """Delete a category that nothing refers to: 409 while child categories or products do.

    A product created in this category at the same instant could slip past the check;
    its `category_id` then names no category, which listings tolerate.
    """
    object_id = mongo.object_id_or_404(category_id, "Category")
    if repository.category_find_one(object_id) is None:
        raise CategoryNotFound()
    if repository.category_has_children(category_id):
        raise ConflictError("The category has sub-categories; move or delete them first.")
    if repository.product_any_in_category(category_id):
        raise ConflictError("Products are in this category; move or delete them first.")
    if repository.category_delete_one(object_id) is None:
        raise CategoryNotFound()


# --- Repairs across stores --------------------------------------------------------------


@dataclass
class RepairReport:
    inventory_created: list[str] = field(default_factory=list)
    deletions_finished: list[str] = field(default_factory=list)


@invalidates_catalog
def catalog_repair(*, dry_run: bool = False, grace: timedelta = timedelta(minutes=1)) -> RepairReport:
    """Bring MongoDB products and MySQL inventory rows back in line (idempotent).

    - A product without an inventory row gets one with quantity 0. Products younger
      than `grace` are left alone: their create may still be writing the row.
    - An inventory row whose product is gone is an unfinished deletion: the
      product-deleted hooks run again (reviews, wishlists), then the row goes.

    Inventory ids are read before products: a product's document is always written
    before its row, so a row whose product is missing at the later read really is orphaned.
    """
    report = RepairReport()
    inventory_ids = inventory_selectors.inventory_product_ids()
    existing = repository.product_ids_existing(inventory_ids)
    report.deletions_finished = sorted(inventory_ids - existing)
    old_products = repository.product_ids_created_before(timezone.now() - grace)
    report.inventory_created = sorted(old_products - inventory_ids)
    if dry_run:
        return report
    for product_id in report.inventory_created:
        inventory_services.inventory_create(product_id=product_id, quantity=0)
    for product_id in report.deletions_finished:
        _run_product_deleted_hooks(product_id)
        inventory_services.inventory_delete(product_id=product_id)
    return report
