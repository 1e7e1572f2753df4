"""Products and categories in MongoDB. The only catalog module that talks pymongo.

Documents are strictly typed (see shared/MONGO.md): prices are integer cents
(`price_cents`, absent on a parent without an active variant), ids are ObjectIds, a
product's `category_id` is the category's id string or None (never queried for None), a
category's `parent_id` is the parent's id string or "" for a top-level category (nx-27017
does not match a stored null with `{"parent_id": None}`, so roots are an empty string that
equality finds on both); likewise a product's `parent_id` is "" unless it is a variant.
Functions take and return plain Python values (str ids, Decimal prices), never raw BSON;
a malformed id finds nothing.
"""

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReplaceOne, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from ecommerce.api.money import CENT
from ecommerce.stores import mongo

PRODUCTS = "products"
CATEGORIES = "categories"
ROOT = ""  # the parent_id of a top-level category, and of a product that is not a variant

STANDALONE, PARENT, VARIANT = "standalone", "parent", "variant"
KINDS = (STANDALONE, PARENT, VARIANT)

# API sort key -> document field; every listing adds `_id` as a tie-breaker so pages are stable.
PRODUCT_SORTS = {
    "price": ("price_cents", ASCENDING),
    "-price": ("price_cents", DESCENDING),
    "name": ("name_lower", ASCENDING),
    "-name": ("name_lower", DESCENDING),
    "created_at": ("created_at", ASCENDING),
    "-created_at": ("created_at", DESCENDING),
}


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _oid(value: str) -> ObjectId | None:
    """The ObjectId of an id string; None when it is malformed (it then names nothing)."""
    value = str(value)
    return ObjectId(value) if mongo.is_object_id(value) else None


def _oids(ids: Iterable[str]) -> list[ObjectId]:
    return list({ObjectId(i) for i in map(str, ids) if mongo.is_object_id(i)})


class KeyTaken(Exception):
    """A unique index refused the write: `key` names what is taken, "sku", "options" (a
    variant's option combination within its parent) or "slug"."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


# The field that tells each unique index apart in the driver's message: MongoDB names the
# index and the key ("index: sku_unique dup key: { sku: ... }"), nx-27017 only the fields
# ("index 'idx_products_sku'"). Checked in order: the combination's index also holds parent_id.
_TAKEN_KEYS = (("option_key", "options"), ("sku", "sku"), ("slug", "slug"))


def _refusing_duplicates(write):
    """Run a write, turning the driver's duplicate-key error into KeyTaken."""
    try:
        return write()
    except DuplicateKeyError as error:
        message = str((error.details or {}).get("errmsg", "")) or str(error)
        key = next((key for marker, key in _TAKEN_KEYS if marker in message), "sku")
        raise KeyTaken(key) from None


# --- Products ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantSummary:
    """What a parent keeps of each variant (rewritten whole with the parent). `in_stock` is
    not stored: the selectors fill it from inventory when they answer."""

    id: str
    sku: str | None
    options: dict[str, str]
    price: Decimal
    is_active: bool
    in_stock: bool | None = None


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str
    sku: str | None
    price: Decimal | None  # None only for a parent without an active variant
    category_id: str | None
    tags: list[str]
    images: list[str]
    attributes: dict
    is_active: bool
    rating_sum: int
    rating_count: int
    created_at: datetime
    updated_at: datetime
    revision: int = 0
    kind: str = STANDALONE
    parent_id: str | None = None
    option_names: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    variants: tuple[VariantSummary, ...] = ()
    # A variant's copy of its parent's is_active: a variant of an inactive parent is not sold.
    parent_active: bool = True

    @property
    def rating_average(self) -> Decimal:
        if not self.rating_count:
            return Decimal("0.00")
        return (Decimal(self.rating_sum) / Decimal(self.rating_count)).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def variant_ids(self) -> list[str]:
        return [variant.id for variant in self.variants]

    @property
    def is_buyable(self) -> bool:
        """Standalone products and variants are bought; a parent never is."""
        return self.kind != PARENT


def option_key(options: dict[str, str]) -> str:
    """One string per combination, whatever the order of the options and case-insensitive:
    the unique index on (parent_id, option_key) is what makes a combination unique."""
    return json.dumps(sorted((name.casefold(), value.casefold()) for name, value in options.items()))


def _products():
    return mongo.get_db()[PRODUCTS]


def _summary_from_document(doc: dict) -> VariantSummary:
    return VariantSummary(
        id=doc["id"],
        sku=doc.get("sku"),
        options=dict(doc["options"]),
        price=from_cents(doc["price_cents"]),
        is_active=doc["is_active"],
    )


def product_from_document(doc: dict) -> Product:
    cents = doc.get("price_cents")
    return Product(
        id=str(doc["_id"]),
        name=doc["name"],
        description=doc.get("description", ""),
        sku=doc.get("sku"),
        price=None if cents is None else from_cents(cents),
        category_id=doc.get("category_id"),
        tags=list(doc.get("tags", [])),
        images=list(doc.get("images", [])),
        attributes=dict(doc.get("attributes", {})),
        is_active=doc["is_active"],
        rating_sum=doc.get("rating_sum", 0),
        rating_count=doc.get("rating_count", 0),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        revision=doc.get("revision", 0),
        # Documents written before variants existed carry no kind: they are standalone.
        kind=doc.get("kind", STANDALONE),
        parent_id=doc.get("parent_id") or None,
        option_names=list(doc.get("option_names", [])),
        options=dict(doc.get("options", {})),
        variants=tuple(_summary_from_document(summary) for summary in doc.get("variants", [])),
        parent_active=doc.get("parent_active", True),
    )


def search_text(name: str, description: str, tags: Iterable[str], skus: Iterable[str] = ()) -> str:
    """One lower-cased field that case-insensitive search scans (see shared/MONGO.md); a
    parent's holds its variants' skus too, so searching a variant's sku finds the parent."""
    return " ".join([name, description, *tags, *skus]).lower()


def _document(product: Product) -> dict:
    """The whole document of a product, with the derived fields listings and search use."""
    document = {
        "name": product.name,
        "name_lower": product.name.lower(),
        "description": product.description,
        "category_id": product.category_id,
        "tags": list(product.tags),
        "images": list(product.images),
        "attributes": dict(product.attributes),
        "is_active": product.is_active,
        "rating_sum": product.rating_sum,
        "rating_count": product.rating_count,
        "search_text": search_text(
            product.name, product.description, product.tags, [v.sku for v in product.variants if v.sku]
        ),
        "revision": product.revision,
        "created_at": product.created_at,
        "updated_at": product.updated_at,
        "kind": product.kind,
        "parent_id": product.parent_id or ROOT,
        "option_names": list(product.option_names),
        "options": dict(product.options),
    }
    if product.price is not None:
        # A parent without an active variant has no price: no field (never null), so price
        # filters and sorts treat it as absent on both servers.
        document["price_cents"] = to_cents(product.price)
    if product.sku:
        # No SKU is no field (never null): the unique index is partial on its existence.
        document["sku"] = product.sku
    if product.kind == VARIANT:
        document["option_key"] = option_key(product.options)
        document["parent_active"] = product.parent_active
    if product.kind == PARENT:
        document["variants"] = [
            {
                "id": v.id,
                "options": dict(v.options),
                "price_cents": to_cents(v.price),
                "is_active": v.is_active,
                **({"sku": v.sku} if v.sku else {}),
            }
            for v in product.variants
        ]
    return document


def new_product(
    *,
    name: str,
    price: Decimal | None,
    now: datetime,
    description: str = "",
    sku: str | None = None,
    category_id: str | None = None,
    tags: list[str] | None = None,
    images: list[str] | None = None,
    attributes: dict | None = None,
    is_active: bool = True,
    kind: str = STANDALONE,
    parent_id: str | None = None,
    option_names: list[str] | None = None,
    options: dict[str, str] | None = None,
    parent_active: bool = True,
) -> Product:
    """A product not yet stored (its id is empty until `product_insert`)."""
    return Product(
        id="",
        name=name,
        description=description,
        sku=sku or None,
        price=price,
        category_id=category_id,
        tags=list(dict.fromkeys(tags or [])),
        images=list(images or []),
        attributes=dict(attributes or {}),
        is_active=is_active,
        rating_sum=0,
        rating_count=0,
        created_at=now,
        updated_at=now,
        kind=kind,
        parent_id=parent_id,
        option_names=list(option_names or []),
        options=dict(options or {}),
        parent_active=parent_active,
    )


def product_document(*, now: datetime, **fields) -> dict:
    """A new product's document, for bulk inserts (seeding, test data): `new_product`'s fields."""
    return _document(new_product(now=now, **fields))


def product_insert(product: Product) -> Product:
    """Insert a new product (KeyTaken on a taken SKU or a variant's taken option combination)."""
    document = _document(product)
    result = _refusing_duplicates(lambda: _products().insert_one(document))
    return product_from_document({**document, "_id": result.inserted_id})


def products_insert_many(documents: list[dict]) -> list[str]:
    """Bulk insert of `product_document`s (seeding); their ids, in order."""
    return [str(oid) for oid in _products().insert_many(documents).inserted_ids] if documents else []


def products_insert(products: list[Product]) -> list[Product]:
    """Bulk insert of new products (seeding) in one round trip; them with their ids, in order."""
    ids = products_insert_many([_document(product) for product in products])
    return [dataclasses.replace(product, id=product_id) for product, product_id in zip(products, ids, strict=True)]


def products_replace_many(products: list[Product]) -> int:
    """`product_replace` for many products in one round trip (seeding); how many were written."""
    if not products:
        return 0
    writes = [
        ReplaceOne({"_id": ObjectId(p.id), "revision": p.revision}, {**_document(p), "revision": p.revision + 1})
        for p in products
    ]
    return _products().bulk_write(writes, ordered=False).matched_count


def product_find_one(product_id: str) -> Product | None:
    object_id = _oid(product_id)
    doc = _products().find_one({"_id": object_id}) if object_id else None
    return product_from_document(doc) if doc else None


def product_find_by_sku(sku: str) -> Product | None:
    """The product (of any kind) holding exactly this SKU: one look-up on the unique SKU index."""
    doc = _products().find_one({"sku": sku})
    return product_from_document(doc) if doc else None


def product_find_many(product_ids: Iterable[str]) -> dict[str, Product]:
    """Products by id in one query; malformed or unknown ids are simply absent."""
    object_ids = _oids(product_ids)
    if not object_ids:
        return {}
    return {str(doc["_id"]): product_from_document(doc) for doc in _products().find({"_id": {"$in": object_ids}})}


def product_replace(product: Product) -> bool:
    """Write `product` over its document if the document is still at `product.revision`
    (optimistic concurrency), moving it to the next revision. False when the product is
    gone or another write got there first. KeyTaken on a taken SKU or option combination.

    A whole-document replace, not `$set`: nx-27017 stores a datetime given to `$set` as a
    string, and its find_one_and_update swallows duplicate-key errors; replace_one does neither.
    """
    object_id = _oid(product.id)
    if object_id is None:
        return False
    document = {**_document(product), "revision": product.revision + 1}
    result = _refusing_duplicates(
        lambda: _products().replace_one({"_id": object_id, "revision": product.revision}, document)
    )
    return result.matched_count == 1


def product_delete_one(product_id: str) -> Product | None:
    object_id = _oid(product_id)
    doc = _products().find_one_and_delete({"_id": object_id}) if object_id else None
    return product_from_document(doc) if doc else None


def product_rating_increment(product_id: str, *, sum_delta: int, count_delta: int) -> Product | None:
    """Atomically move the rating sum and count, so concurrent reviews lose no update."""
    object_id = _oid(product_id)
    if object_id is None:
        return None
    doc = _products().find_one_and_update(
        {"_id": object_id},
        # The revision moves too, so a concurrent product_replace retries instead of undoing this.
        {"$inc": {"rating_sum": sum_delta, "rating_count": count_delta, "revision": 1}},
        return_document=ReturnDocument.AFTER,
    )
    return product_from_document(doc) if doc else None


def product_query(
    *,
    active_only: bool = False,
    is_active: bool | None = None,
    category_ids: Iterable[str] | None = None,
    min_price: Decimal | None = None,
    max_price: Decimal | None = None,
    tag: str | None = None,
    search: str | None = None,
    kind: str | None = None,
) -> dict:
    """The MongoDB filter of a product listing: standalone products and parents (or only
    the `kind` asked for), never variants (a parent stands for them). Only operators both
    servers agree on."""
    # `$ne`/`$nin`, not `$in` of the listed kinds: documents from before variants carry no kind.
    query: dict = {"kind": {"$ne": VARIANT}}
    if kind == PARENT:
        query["kind"] = PARENT
    elif kind == STANDALONE:
        query["kind"] = {"$nin": [VARIANT, PARENT]}
    if active_only:
        query["is_active"] = True
        if is_active is False:
            # A customer asking for inactive products sees none: filters only narrow.
            query["is_active"] = {"$in": []}
    elif is_active is not None:
        query["is_active"] = is_active
    if category_ids is not None:
        ids = list(dict.fromkeys(category_ids))
        query["category_id"] = ids[0] if len(ids) == 1 else {"$in": ids}
    price: dict = {}
    if min_price is not None:
        price["$gte"] = to_cents(min_price)
    if max_price is not None:
        price["$lte"] = to_cents(max_price)
    if price:
        query["price_cents"] = price
    if tag is not None:
        # `$in`, not plain equality: with an index on the array, nx-27017 answers
        # `{"tags": tag}` with nothing from find() (count_documents still finds them).
        query["tags"] = {"$in": [tag]}
    if search is not None:
        # A substring of the lower-cased search field; escaped, so the user's text is literal.
        query["search_text"] = {"$regex": re.escape(search.lower())}
    return query


def variant_query(parent_id: str, *, active_only: bool = False) -> dict:
    """The filter of a parent's variants."""
    query: dict = {"parent_id": parent_id, "kind": VARIANT}
    if active_only:
        query["is_active"] = True
    return query


def product_count(query: dict) -> int:
    """One round trip (an aggregate with $match/$group)."""
    return _products().count_documents(query)


def product_page(query: dict, *, sort: str, skip: int, limit: int) -> list[Product]:
    """One page in one round trip: `limit` is at most 100 small documents, one batch."""
    field_name, direction = PRODUCT_SORTS[sort]
    cursor = _products().find(query).sort([(field_name, direction), ("_id", direction)]).skip(skip).limit(limit)
    return [product_from_document(doc) for doc in cursor]


def variants_of(parent_ids: Iterable[str]) -> list[Product]:
    """Every variant of these parents, oldest first, in one query."""
    ids = list(dict.fromkeys(parent_ids))
    if not ids:
        return []
    query = {"parent_id": ids[0] if len(ids) == 1 else {"$in": ids}, "kind": VARIANT}
    cursor = _products().find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
    return [product_from_document(doc) for doc in cursor]


def product_any_in_category(category_id: str) -> bool:
    return _products().find_one({"category_id": category_id}, {"_id": 1}) is not None


def product_ids_created_before(cutoff: datetime, *, kinds: Iterable[str] = KINDS) -> set[str]:
    """Ids of products of these kinds created at or before `cutoff` (for repairs; only `_id` travels).

    `$lte`, not `$lt`: nx-27017's find() compares datetimes to the second, so `$lt` would
    miss products from the cutoff's own second there (MongoDB compares milliseconds)."""
    query: dict = {"created_at": {"$lte": cutoff}}
    kinds = set(kinds)
    if STANDALONE in kinds and PARENT not in kinds:
        query["kind"] = {"$ne": PARENT}  # old documents without a kind are standalone
    elif kinds != set(KINDS):
        query["kind"] = {"$in": sorted(kinds)}
    return {str(doc["_id"]) for doc in _products().find(query, {"_id": 1})}


def product_kinds(product_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """(kind, parent_id) of each of these products that exists, one query per 1,000 ids."""
    object_ids = _oids(product_ids)
    found: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(object_ids), 1000):
        chunk = object_ids[start : start + 1000]
        for doc in _products().find({"_id": {"$in": chunk}}, {"_id": 1, "kind": 1, "parent_id": 1}):
            found[str(doc["_id"])] = (doc.get("kind", STANDALONE), doc.get("parent_id") or None)
    return found


def parent_ids_of_variants() -> dict[str, str]:
    """variant id -> parent id for every variant (for repairs; two fields travel)."""
    return {
        str(doc["_id"]): doc["parent_id"] for doc in _products().find({"kind": VARIANT}, {"_id": 1, "parent_id": 1})
    }


def parent_ids() -> set[str]:
    """Every parent's id (for repairs)."""
    return {str(doc["_id"]) for doc in _products().find({"kind": PARENT}, {"_id": 1})}


# --- Categories -------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    slug: str
    description: str
    parent_id: str | None
    created_at: datetime
    updated_at: datetime
    revision: int = 0


def _categories():
    return mongo.get_db()[CATEGORIES]


def category_from_document(doc: dict) -> Category:
    return Category(
        id=str(doc["_id"]),
        name=doc["name"],
        slug=doc["slug"],
        description=doc.get("description", ""),
        parent_id=doc.get("parent_id") or None,
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        revision=doc.get("revision", 0),
    )


def category_insert(*, name: str, slug: str, description: str, parent_id: str | None, now: datetime) -> Category:
    """Insert a new category (KeyTaken on a taken slug)."""
    document = {
        "name": name,
        "name_lower": name.lower(),
        "slug": slug,
        "description": description,
        "parent_id": parent_id or ROOT,
        "revision": 0,
        "created_at": now,
        "updated_at": now,
    }
    result = _refusing_duplicates(lambda: _categories().insert_one(document))
    return category_from_document({**document, "_id": result.inserted_id})


def category_find_one(category_id: str) -> Category | None:
    object_id = _oid(category_id)
    doc = _categories().find_one({"_id": object_id}) if object_id else None
    return category_from_document(doc) if doc else None


def category_find_by_slug(slug: str) -> Category | None:
    doc = _categories().find_one({"slug": slug})
    return category_from_document(doc) if doc else None


def category_replace(category: Category) -> bool:
    """Write `category` over its document if still at `category.revision` (see product_replace).
    KeyTaken on a taken slug."""
    document = {
        "name": category.name,
        "name_lower": category.name.lower(),
        "slug": category.slug,
        "description": category.description,
        "parent_id": category.parent_id or ROOT,
        "revision": category.revision + 1,
        "created_at": category.created_at,
        "updated_at": category.updated_at,
    }
    object_id = _oid(category.id)
    if object_id is None:
        return False
    result = _refusing_duplicates(
        lambda: _categories().replace_one({"_id": object_id, "revision": category.revision}, document)
    )
    return result.matched_count == 1


def category_delete_one(category_id: str) -> Category | None:
    object_id = _oid(category_id)
    doc = _categories().find_one_and_delete({"_id": object_id}) if object_id else None
    return category_from_document(doc) if doc else None


def category_query(*, parent_id: str | None = None, roots_only: bool = False) -> dict:
    if roots_only:
        return {"parent_id": ROOT}
    if parent_id is not None:
        return {"parent_id": parent_id}
    return {}


def category_count(query: dict) -> int:
    return _categories().count_documents(query)


def category_page(query: dict, *, skip: int, limit: int) -> list[Category]:
    cursor = _categories().find(query).sort([("name_lower", ASCENDING), ("_id", ASCENDING)]).skip(skip).limit(limit)
    return [category_from_document(doc) for doc in cursor]


def category_child_ids(parent_ids: Iterable[str]) -> list[str]:
    """Ids of the direct children of these categories, in one query."""
    ids = list(parent_ids)
    if not ids:
        return []
    return [str(doc["_id"]) for doc in _categories().find({"parent_id": {"$in": ids}}, {"_id": 1})]


def category_has_children(category_id: str) -> bool:
    return _categories().find_one({"parent_id": category_id}, {"_id": 1}) is not None


def category_slugs_like(base: str) -> set[str]:
    """Slugs containing `base` (a substring regex: nx-27017 ignores `^`/`$` anchors,
    so the caller filters the exact shape in Python)."""
    return {doc["slug"] for doc in _categories().find({"slug": {"$regex": re.escape(base)}}, {"slug": 1, "_id": 0})}


@mongo.register_indexes
def create_indexes(db: Database) -> None:
    products = db[PRODUCTS]
    # SKU is optional: unique where present (the field is omitted, never null, when absent).
    products.create_index(
        [("sku", ASCENDING)], name="sku_unique", unique=True, partialFilterExpression={"sku": {"$exists": True}}
    )
    # One variant per option combination within a parent, decided by the index under
    # concurrency (two staff adding "M / Red" at once: one insert, one duplicate key).
    products.create_index(
        [("parent_id", ASCENDING), ("option_key", ASCENDING)],
        name="variant_options_unique",
        unique=True,
        partialFilterExpression={"option_key": {"$exists": True}},
    )
    products.create_index([("parent_id", ASCENDING), ("created_at", ASCENDING)], name="parent_created")
    # Listings: customers always filter is_active, staff may not; each sort has an index
    # for both. Category listings (and "is the category in use") lead with category_id.
    products.create_index([("is_active", ASCENDING), ("created_at", DESCENDING)], name="active_created")
    products.create_index([("is_active", ASCENDING), ("price_cents", ASCENDING)], name="active_price")
    products.create_index([("is_active", ASCENDING), ("name_lower", ASCENDING)], name="active_name")
    products.create_index([("created_at", DESCENDING)], name="created")
    products.create_index([("price_cents", ASCENDING)], name="price")
    products.create_index([("name_lower", ASCENDING)], name="name")
    products.create_index([("category_id", ASCENDING), ("created_at", DESCENDING)], name="category_created")
    products.create_index([("tags", ASCENDING)], name="tags")
    categories = db[CATEGORIES]
    categories.create_index([("slug", ASCENDING)], name="slug_unique", unique=True)
    categories.create_index([("parent_id", ASCENDING), ("name_lower", ASCENDING)], name="parent_name")
    categories.create_index([("name_lower", ASCENDING)], name="name")
