"""Writes on the catalog. A product spans two stores: its document in MongoDB and its
inventory row in MySQL; there is no transaction across them, so each write orders its
steps so that a failure half-way is compensated or repaired by `manage.py catalog_repair`.

A product is standalone, a parent (a group of variants, never bought: no price of its
own, no SKU, no stock row) or a variant (bought by its own id, with its own SKU, price,
options and stock row). Each variant is its own document; the parent keeps a summary of
them and its price (the cheapest active one), rewritten whole under its revision counter
after every variant write, and the unique index on (parent_id, option_key) keeps each
option combination to one variant.
"""

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from django.utils import timezone
from django.utils.text import slugify

from catalog import repository, selectors
from catalog.cache import invalidates_catalog
from catalog.exceptions import CategoryNotFound, NotAParent, ProductNotFound
from catalog.repository import Category, Product, VariantSummary
from ecommerce.api.exceptions import ConflictError, ValidationFailed
from ecommerce.stores import mongo
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services

logger = logging.getLogger(__name__)

_product_deleted_hooks: list[Callable[[str], None]] = []
_product_changed_hooks: list[Callable[[str, str], None]] = []

# Optimistic updates retry this often when another write wins the race.
_UPDATE_ATTEMPTS = 5
_PRODUCT_FIELDS = {
    "name",
    "description",
    "price",
    "category_id",
    "tags",
    "images",
    "attributes",
    "is_active",
    "options",
}
MAX_OPTIONS = 3
T = TypeVar("T", Product, Category)
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


def _update_optimistically(*, load: Callable[[], T | None], change: Callable[[T], T], what: str) -> T | None:
    """The one optimistic-update loop: load the current version, compute the new one from it,
    write it only over the revision it was computed from (`repository.*_replace`), and start
    again when another write got there first. None when the object is gone; ConflictError
    when every attempt lost a race."""
    for _ in range(_UPDATE_ATTEMPTS):
        current = load()
        if current is None:
            return None
        updated = change(current)
        if _REPLACE[type(updated)](updated):
            return dataclasses.replace(updated, revision=updated.revision + 1)
    raise ConflictError(f"The {what} is being changed by someone else; try again.")


_REPLACE = {Product: repository.product_replace, Category: repository.category_replace}


def _ensure_category_exists(category_id: str | None) -> None:
    if category_id is not None and not selectors.category_exists(category_id=category_id):
        raise ValidationFailed(details={"category_id": ["Unknown category."]})


def _taken(error: repository.KeyTaken) -> ConflictError:
    if error.key == "options":
        return ConflictError(
            "A variant of this product already has these options.",
            details={"options": ["Already used by another variant of this product."]},
        )
    if error.key == "slug":
        return ConflictError("A category with this slug already exists.", details={"slug": ["Already taken."]})
    return ConflictError("A product with this SKU already exists.", details={"sku": ["Already taken."]})


def _inventory_row_or_undo(product: Product, quantity: int) -> None:
    """The stock row of a new standalone product or variant. If MySQL fails, the document is
    deleted again so no buyable product is left without its row (and if even that fails,
    `catalog_repair` gives it an empty row)."""
    try:
        inventory_services.inventory_create(product_id=product.id, quantity=quantity, parent_id=product.parent_id or "")
    except Exception:
        logger.warning("Inventory row for product %s failed; removing the product again", product.id)
        repository.product_delete_one(product.id)
        raise


# --- Products ---------------------------------------------------------------------------


@invalidates_catalog
def product_create(
    *,
    name: str,
    price: Decimal | None = None,
    description: str = "",
    sku: str | None = None,
    category_id: str | None = None,
    tags: list[str] | None = None,
    images: list[str] | None = None,
    attributes: dict | None = None,
    is_active: bool = True,
    initial_stock: int = 0,
    option_names: list[str] | None = None,
) -> Product:
    """Create a standalone product and its inventory row or, with `option_names`, a parent
    (a group of variants, never bought: no price, no SKU, no stock row). 409 on a taken SKU;
    400 on an unknown category or a body that mixes the two kinds.

    The document is written first, then the inventory row (see `_inventory_row_or_undo`).
    """
    if option_names:
        _ensure_parent_fields(option_names=option_names, price=price, sku=sku, initial_stock=initial_stock)
    elif price is None:
        raise ValidationFailed(details={"price": ["This field is required."]})
    _ensure_category_exists(category_id)
    product = repository.new_product(
        name=name,
        price=None if option_names else price,
        description=description,
        sku=sku,
        category_id=category_id,
        tags=tags,
        images=images,
        attributes=attributes,
        is_active=is_active,
        kind=repository.PARENT if option_names else repository.STANDALONE,
        option_names=option_names,
        now=mongo.now_ms(),
    )
    try:
        product = repository.product_insert(product)
    except repository.KeyTaken as error:
        raise _taken(error) from None
    if product.kind == repository.STANDALONE:
        _inventory_row_or_undo(product, initial_stock)
    _run_product_changed_hooks(product.id, "created")
    return product


def _ensure_parent_fields(*, option_names: list[str], price, sku, initial_stock: int) -> None:
    errors = {}
    folded = [name.casefold() for name in option_names]
    if not 1 <= len(option_names) <= MAX_OPTIONS or len(set(folded)) != len(folded):
        errors["option_names"] = [f"1 to {MAX_OPTIONS} different names."]
    if price is not None:
        errors["price"] = ["A parent has no price of its own: it is its cheapest active variant's."]
    if sku:
        errors["sku"] = ["A parent has no SKU: its variants do."]
    if initial_stock:
        errors["initial_stock"] = ["A parent holds no stock: its variants do."]
    if errors:
        raise ValidationFailed(details=errors)


def _variant_options(parent: Product, options: dict[str, str]) -> dict[str, str]:
    """The options in the parent's order; 400 unless they give one value for exactly the
    parent's option names (an option naming another option, a missing or an extra one)."""
    if set(options) != set(parent.option_names):
        names = ", ".join(parent.option_names)
        raise ValidationFailed(details={"options": [f"Give one value for each of exactly these options: {names}."]})
    return {name: options[name] for name in parent.option_names}


def _parent_for_variants(parent_id: str) -> Product:
    parent = repository.product_find_one(parent_id)
    if parent is None:
        raise ProductNotFound()
    if parent.kind != repository.PARENT:
        raise NotAParent()
    return parent


@invalidates_catalog
def variant_create(
    *,
    parent_id: str,
    sku: str,
    options: dict[str, str],
    price: Decimal,
    initial_stock: int = 0,
    name: str | None = None,
    description: str | None = None,
    images: list[str] | None = None,
    attributes: dict | None = None,
    is_active: bool = True,
) -> Product:
    """Add a variant to a parent: its own document (bought by its own id, with its own SKU,
    price and stock row), then the parent's summary and price. 404 for an unknown parent,
    400 when `parent_id` is not a parent or the options do not fit it, 409 when the SKU or
    the option combination is taken (the unique indexes decide, also between racing adds).

    The name defaults to the parent's with the option values; category and tags are the
    parent's. If the parent is deleted meanwhile, the variant is taken out again (404).
    """
    parent = _parent_for_variants(parent_id)
    options = _variant_options(parent, options)
    variant = repository.new_product(
        name=name or _variant_name(parent, options),
        price=price,
        description=parent.description if description is None else description,
        sku=sku,
        category_id=parent.category_id,
        tags=parent.tags,
        images=parent.images if images is None else images,
        attributes=attributes,
        is_active=is_active,
        kind=repository.VARIANT,
        parent_id=parent.id,
        options=options,
        parent_active=parent.is_active,
        now=mongo.now_ms(),
    )
    try:
        variant = repository.product_insert(variant)
    except repository.KeyTaken as error:
        raise _taken(error) from None
    _inventory_row_or_undo(variant, initial_stock)
    refreshed = _parent_refresh(parent.id)
    if refreshed is None:
        # Deleted while we added: its deletion may have missed this variant, so undo it here.
        repository.product_delete_one(variant.id)
        inventory_services.inventory_delete(product_id=variant.id)
        raise ProductNotFound()
    if refreshed.is_active != parent.is_active:
        # (De)activated while we added: its update may have passed its state on before our insert.
        _variants_inherit(refreshed)
        variant = dataclasses.replace(variant, parent_active=refreshed.is_active)
    _run_product_changed_hooks(variant.id, "created")
    return variant


def _variant_name(parent: Product, options: dict[str, str]) -> str:
    """A variant's default name: its parent's with the option values, "Tee (M / Red)"."""
    return f"{parent.name} ({' / '.join(options.values())})"


def _summarised(parent: Product, variants: list[Product]) -> Product:
    """The parent with its summary of these variants and its price: the cheapest active one's."""
    summaries = tuple(
        VariantSummary(id=v.id, sku=v.sku, options=v.options, price=v.price, is_active=v.is_active) for v in variants
    )
    prices = [v.price for v in variants if v.is_active]
    return dataclasses.replace(parent, variants=summaries, price=min(prices) if prices else None)


@invalidates_catalog
def product_groups_create_many(*, groups: list[tuple[dict, list[dict]]]) -> list[tuple[Product, list[Product]]]:
    """Parents with their variants in bulk, for seeding: three MongoDB round trips for any
    number (the parents, the variants, the parents' summaries). Each group is the parent's
    fields (`repository.new_product`'s, with `option_names`, and optionally `rating_sum` and
    `rating_count`) and its variants' (`sku`, `options`, `price`, ...; category, tags and
    creation time are the parent's). Writes no inventory rows and runs no hooks: the seed
    writes the variants' rows in bulk itself."""
    built = []
    for parent_fields, variants_fields in groups:
        fields = dict(parent_fields)
        ratings = {name: fields.pop(name) for name in ("rating_sum", "rating_count") if name in fields}
        parent = dataclasses.replace(repository.new_product(kind=repository.PARENT, price=None, **fields), **ratings)
        variants = [
            repository.new_product(
                kind=repository.VARIANT,
                category_id=parent.category_id,
                tags=parent.tags,
                parent_active=parent.is_active,
                now=parent.created_at,
                **{
                    "name": _variant_name(parent, variant["options"]),
                    "description": parent.description,
                    "images": parent.images,
                    **variant,
                },
            )
            for variant in variants_fields
        ]
        built.append((parent, variants))
    parents = repository.products_insert([parent for parent, _ in built])
    pairs = zip(parents, built, strict=True)
    variants = repository.products_insert([dataclasses.replace(v, parent_id=p.id) for p, (_, vs) in pairs for v in vs])
    groups_out, start = [], 0
    for parent, (_, planned) in zip(parents, built, strict=True):
        own = variants[start : start + len(planned)]
        start += len(planned)
        groups_out.append((_summarised(parent, own), own))
    repository.products_replace_many([parent for parent, _ in groups_out])
    return [(dataclasses.replace(parent, revision=parent.revision + 1), own) for parent, own in groups_out]


def _parent_refresh(parent_id: str) -> Product | None:
    """Rewrite a parent's summary of its variants and its price (the cheapest active variant)
    from the variant documents, whole, under its revision counter. None when the parent is gone.

    Each attempt reads the parent's revision before the variants, so a rewrite that wins
    was computed from variants at least as new as any change made before it started: the
    last rewrite holds every variant write that preceded it. When every attempt loses, the
    writes that beat the later attempts read the variants after ours, so the summary holds
    our change anyway.
    """

    try:
        parent = _update_optimistically(
            load=lambda: repository.product_find_one(parent_id),
            # updated_at moves too: the parent's answer (variants, price) changed.
            change=lambda parent: dataclasses.replace(
                _summarised(parent, repository.variants_of([parent.id])), updated_at=mongo.now_ms()
            ),
            what="product",
        )
    except ConflictError:
        logger.info("Parent %s summary: other writes won every attempt and hold this change", parent_id)
        return repository.product_find_one(parent_id)
    if parent is not None:
        _run_product_changed_hooks(parent.id, "updated")
    return parent


# A variant change that the parent's summary (skus, options, prices, activity) must show.
_SUMMARISED = {"sku", "options", "price", "is_active"}
# What a parent shares with its variants (only through the parent), and what they take from it.
_INHERITED = {"category_id", "tags"}
_INHERITED_FROM_PARENT = _INHERITED | {"is_active"}


def _ensure_update_fits_kind(product: Product, data: dict) -> None:
    errors = {}
    if product.kind == repository.PARENT:
        if "price" in data:
            errors["price"] = ["A parent's price is its cheapest active variant's."]
        if data.get("sku"):
            errors["sku"] = ["A parent has no SKU: its variants do."]
    if product.kind == repository.VARIANT:
        for name in sorted(_INHERITED & data.keys()):
            errors[name] = ["A variant's category and tags are its parent's; change the parent."]
        if "sku" in data and not data["sku"]:
            errors["sku"] = ["A variant keeps a SKU of its own."]
    if product.kind != repository.VARIANT and "options" in data:
        errors["options"] = ["Only a variant has options."]
    if errors:
        raise ValidationFailed(details=errors)


@invalidates_catalog
def product_update(*, product_id: str, data: dict) -> Product:
    """Change the fields in `data` (a partial update; `sku: None` removes the SKU, and
    `category_id: None` the category). 404 for an unknown product, 409 on a taken SKU or
    (a variant's `options`) a taken combination, 400 on an unknown category or a field
    the product's kind does not have (a parent's price, a variant's category or tags).

    `name_lower` and `search_text` derive from several fields, so the new document is
    written only over the revision it was computed from, and recomputed if another write
    (an update, a review's rating) got there first: no lost update, no stale search field.
    A variant's change then shows in its parent's summary and price; a parent's category
    and tags pass to its variants.
    """
    if data.get("category_id") is not None:
        _ensure_category_exists(data["category_id"])
    current = repository.product_find_one(product_id)
    if current is None:
        raise ProductNotFound()
    _ensure_update_fits_kind(current, data)
    changes = {name: value for name, value in data.items() if name in _PRODUCT_FIELDS}
    if "options" in data and current.kind == repository.VARIANT:
        parent = repository.product_find_one(current.parent_id or "")
        if parent is not None:
            changes["options"] = _variant_options(parent, data["options"])

    def change(product: Product) -> Product:
        sku = data.get("sku", product.sku) or None
        return dataclasses.replace(product, **changes, sku=sku, updated_at=mongo.now_ms())

    try:
        updated = _update_optimistically(
            load=lambda: repository.product_find_one(product_id), change=change, what="product"
        )
    except repository.KeyTaken as error:
        raise _taken(error) from None
    if updated is None:
        raise ProductNotFound()
    _run_product_changed_hooks(updated.id, "updated")
    if updated.kind == repository.VARIANT and _SUMMARISED & data.keys():
        _parent_refresh(updated.parent_id or "")
    if updated.kind == repository.PARENT and _INHERITED_FROM_PARENT & data.keys():
        _variants_inherit(updated)
    return updated


def _variants_inherit(parent: Product) -> None:
    """Pass a parent's category, tags and activity on to its variants that do not hold them.

    Each variant is rewritten whole under its revision, not `$set` on them all at once:
    nx-27017 stores a boolean given to `$set` as 0 or 1. If another write keeps winning,
    that variant is left for `catalog_repair`, which compares them."""
    inherited = (parent.category_id, list(parent.tags), parent.is_active)
    for variant in repository.variants_of([parent.id]):
        if (variant.category_id, variant.tags, variant.parent_active) == inherited:
            continue
        try:
            _update_optimistically(
                load=lambda variant_id=variant.id: repository.product_find_one(variant_id),
                change=lambda v: dataclasses.replace(
                    v, category_id=inherited[0], tags=inherited[1], parent_active=inherited[2]
                ),
                what="product",
            )
        except ConflictError:
            logger.warning("Variant %s did not take its parent's fields; catalog_repair will", variant.id)


def _product_deleted(product: Product) -> None:
    """What follows a product's document going: the hooks (reviews, wishlists, carts), then
    its inventory row, last on purpose: if a hook or MySQL fails, the row left behind marks
    the unfinished deletion, and `catalog_repair` runs the hooks again and removes it."""
    _run_product_changed_hooks(product.id, "deleted")
    _run_product_deleted_hooks(product.id)
    if product.kind != repository.PARENT:
        inventory_services.inventory_delete(product_id=product.id)


@invalidates_catalog
def product_delete(*, product_id: str) -> None:
    """Delete a product (then, through hooks, its reviews and wishlist entries, and its
    inventory row). Deleting a parent deletes its variants; deleting a variant updates its
    parent's summary and price. Orders keep their snapshots.

    A parent goes before its variants, so no variant can be added to it meanwhile (the add
    checks its parent afterwards); a failure half-way leaves variants without a parent,
    which `catalog_repair` deletes.
    """
    product = repository.product_delete_one(product_id)
    if product is None:
        raise ProductNotFound()
    _product_deleted(product)
    if product.kind == repository.PARENT:
        for variant in repository.variants_of([product.id]):
            if repository.product_delete_one(variant.id) is not None:
                _product_deleted(variant)
    if product.kind == repository.VARIANT:
        _parent_refresh(product.parent_id or "")


@invalidates_catalog
def product_rating_add(*, product_id: str, rating: int) -> None:
    """Count one more review of `rating` stars (atomic $inc: no lost update)."""
    repository.product_rating_increment(product_id, sum_delta=rating, count_delta=1)


@invalidates_catalog
def product_rating_remove(*, product_id: str, rating: int) -> None:
    """Count one review of `rating` stars less."""
    repository.product_rating_increment(product_id, sum_delta=-rating, count_delta=-1)


# --- Categories -------------------------------------------------------------------------


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
    fields = {"name": name, "description": description, "parent_id": parent_id, "now": mongo.now_ms()}
    if slug:
        try:
            return repository.category_insert(slug=slug, **fields)
        except repository.KeyTaken as error:
            raise _taken(error) from None
    # Another create may take the derived slug between the look-up and the insert: try again.
    for _ in range(5):
        try:
            return repository.category_insert(slug=_derived_slug(name), **fields)
        except repository.KeyTaken:
            continue
    raise _taken(repository.KeyTaken("slug"))


@invalidates_catalog
def category_update(*, category_id: str, data: dict) -> Category:
    """Change the fields in `data` (partial). The slug changes only when sent (409 if taken).

    A new `parent_id` must exist and must not be the category itself or one of its
    descendants (400): the tree cannot loop. Two concurrent moves of different categories
    under each other could still race (MongoDB has no multi-document isolation here);
    staff-only and rare, so the check is not made atomic.
    """
    if repository.category_find_one(category_id) is None:
        raise CategoryNotFound()
    if data.get("parent_id") is not None:
        _ensure_valid_parent(category_id=category_id, parent_id=data["parent_id"])
    changes = {name: value for name, value in data.items() if name in _CATEGORY_FIELDS}
    try:
        updated = _update_optimistically(
            load=lambda: repository.category_find_one(category_id),
            change=lambda category: dataclasses.replace(category, **changes, updated_at=mongo.now_ms()),
            what="category",
        )
    except repository.KeyTaken as error:
        raise _taken(error) from None
    if updated is None:
        raise CategoryNotFound()
    return updated


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
    if repository.category_find_one(category_id) is None:
        raise CategoryNotFound()
    if repository.category_has_children(category_id):
        raise ConflictError("The category has sub-categories; move or delete them first.")
    if repository.product_any_in_category(category_id):
        raise ConflictError("Products are in this category; move or delete them first.")
    if repository.category_delete_one(category_id) is None:
        raise CategoryNotFound()


# --- Repairs across stores --------------------------------------------------------------


@dataclass
class RepairReport:
    inventory_created: list[str] = field(default_factory=list)
    deletions_finished: list[str] = field(default_factory=list)
    parent_rows_removed: list[str] = field(default_factory=list)
    orphan_variants_deleted: list[str] = field(default_factory=list)
    parents_refreshed: list[str] = field(default_factory=list)


@invalidates_catalog
def catalog_repair(*, dry_run: bool = False, grace: timedelta = timedelta(minutes=1)) -> RepairReport:
    """Bring MongoDB products and MySQL inventory rows back in line, knowing the kinds (idempotent).

    - A standalone product or variant without an inventory row gets one with quantity 0.
      Products younger than `grace` are left alone: their create may still be writing the row.
    - An inventory row whose product is gone is an unfinished deletion: the
      product-deleted hooks run again (reviews, wishlists), then the row goes.
    - A parent holds no stock: a row under a parent's id goes.
    - A variant whose parent is gone is what an interrupted parent deletion left: it is deleted.
    - A parent whose summary of its variants (or price) differs from the variants is
      rewritten, and passes its category, tags and activity on again (a failure between a
      variant's or a parent's write and the write that follows it).

    Inventory ids are read before products: a product's document is always written
    before its row, so a row whose product is missing at the later read really is orphaned.
    """
    report = RepairReport()
    inventory_ids = inventory_selectors.inventory_product_ids()
    kinds = repository.product_kinds(inventory_ids)
    report.deletions_finished = sorted(inventory_ids - kinds.keys())
    report.parent_rows_removed = sorted(pid for pid, (kind, _) in kinds.items() if kind == repository.PARENT)
    cutoff = timezone.now() - grace
    buyable = repository.product_ids_created_before(cutoff, kinds=(repository.STANDALONE, repository.VARIANT))
    report.inventory_created = sorted(buyable - inventory_ids)
    parents = repository.parent_ids()
    variant_parents = repository.parent_ids_of_variants()
    old_variants = repository.product_ids_created_before(cutoff, kinds=(repository.VARIANT,))
    report.orphan_variants_deleted = sorted(
        vid for vid, parent_id in variant_parents.items() if parent_id not in parents and vid in old_variants
    )
    report.parents_refreshed = sorted(_stale_parents(parents, variant_parents))
    if dry_run:
        return report
    for product_id in report.inventory_created:
        inventory_services.inventory_create(product_id=product_id, quantity=0)
    for product_id in report.deletions_finished:
        _run_product_deleted_hooks(product_id)
        inventory_services.inventory_delete(product_id=product_id)
    for product_id in report.parent_rows_removed:
        inventory_services.inventory_delete(product_id=product_id)
    for variant_id in report.orphan_variants_deleted:
        variant = repository.product_delete_one(variant_id)
        if variant is not None:
            _product_deleted(variant)
    for parent_id in report.parents_refreshed:
        parent = _parent_refresh(parent_id)
        if parent is not None:
            _variants_inherit(parent)
    return report


def _stale_parents(parents: set[str], variant_parents: dict[str, str]) -> set[str]:
    """Parents whose stored summary lists other variants than exist, or other prices or states,
    or whose variants hold another category, tags or activity than theirs."""
    stale = set()
    stored = repository.product_find_many(parents)
    variants = repository.product_find_many(variant_parents)
    by_parent: dict[str, list[Product]] = {}
    for variant in variants.values():
        by_parent.setdefault(variant.parent_id or "", []).append(variant)
    for parent_id, parent in stored.items():
        actual = {(v.id, v.sku, v.price, v.is_active, tuple(v.options.items())) for v in by_parent.get(parent_id, [])}
        summary = {(v.id, v.sku, v.price, v.is_active, tuple(v.options.items())) for v in parent.variants}
        prices = [v.price for v in by_parent.get(parent_id, []) if v.is_active]
        inherited = {(v.category_id, tuple(v.tags), v.parent_active) for v in by_parent.get(parent_id, [])}
        if (
            actual != summary
            or parent.price != (min(prices) if prices else None)
            or inherited - {(parent.category_id, tuple(parent.tags), parent.is_active)}
        ):
            stale.add(parent_id)
    return stale
