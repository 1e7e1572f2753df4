"""Products and categories in MongoDB. The only catalog module that talks pymongo.

Documents are strictly typed (see shared/MONGO.md): prices are integer cents
(`price_cents`), ids are ObjectIds, a product's `category_id` is the category's id
string or None (never queried for None), a category's `parent_id` is the parent's id
string or "" for a top-level category (nx-27017 does not match a stored null with
`{"parent_id": None}`, so roots are an empty string that equality finds on both).
Functions take and return plain Python values (str ids, Decimal prices), never raw BSON.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from ecommerce.stores import mongo

PRODUCTS = "products"
CATEGORIES = "categories"
CENT = Decimal("0.01")
ROOT = ""  # the parent_id of a top-level category

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


def _oids(ids: Iterable[str]) -> list[ObjectId]:
    return list({ObjectId(i) for i in ids if mongo.is_object_id(i)})


# --- Products ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str
    sku: str | None
    price: Decimal
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

    @property
    def rating_average(self) -> Decimal:
        if not self.rating_count:
            return Decimal("0.00")
        return (Decimal(self.rating_sum) / Decimal(self.rating_count)).quantize(CENT, rounding=ROUND_HALF_UP)


def _products():
    return mongo.get_db()[PRODUCTS]


def product_from_document(doc: dict) -> Product:
    return Product(
        id=str(doc["_id"]),
        name=doc["name"],
        description=doc.get("description", ""),
        sku=doc.get("sku"),
        price=from_cents(doc["price_cents"]),
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
    )


def search_text(name: str, description: str, tags: Iterable[str]) -> str:
    """One lower-cased field that case-insensitive search scans (see shared/MONGO.md)."""
    return " ".join([name, description, *tags]).lower()


def product_document(
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
    now: datetime,
) -> dict:
    """A new product's document, with the derived fields listings and search use."""
    tags = list(tags or [])
    document = {
        "name": name,
        "name_lower": name.lower(),
        "description": description,
        "price_cents": to_cents(price),
        "category_id": category_id,
        "tags": tags,
        "images": list(images or []),
        "attributes": dict(attributes or {}),
        "is_active": is_active,
        "rating_sum": 0,
        "rating_count": 0,
        "search_text": search_text(name, description, tags),
        "revision": 0,
        "created_at": now,
        "updated_at": now,
    }
    if sku:
        # No SKU is no field (never null): the unique index is partial on its existence.
        document["sku"] = sku
    return document


class KeyTaken(Exception):
    """A unique index refused the write: the SKU or the slug belongs to another document."""


def _unique(write):
    """Run a write, turning the driver's duplicate-key error into KeyTaken."""
    try:
        return write()
    except DuplicateKeyError:
        raise KeyTaken() from None


def product_insert(document: dict) -> Product:
    """Insert a product document (KeyTaken on a taken SKU)."""
    result = _unique(lambda: _products().insert_one(document))
    return product_from_document({**document, "_id": result.inserted_id})


def products_insert_many(documents: list[dict]) -> list[str]:
    """Bulk insert of `product_document`s (seeding); their ids, in order."""
    return [str(oid) for oid in _products().insert_many(documents).inserted_ids] if documents else []


def product_find_one(product_id: ObjectId) -> Product | None:
    doc = _products().find_one({"_id": product_id})
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
    gone or another write got there first. KeyTaken on a taken SKU.

    A whole-document replace, not `$set`: nx-27017 stores a datetime given to `$set` as a
    string, and its find_one_and_update swallows duplicate-key errors; replace_one does neither.
    """
    document = product_document(
        name=product.name,
        price=product.price,
        description=product.description,
        sku=product.sku,
        category_id=product.category_id,
        tags=product.tags,
        images=product.images,
        attributes=product.attributes,
        is_active=product.is_active,
        now=product.updated_at,
    )
    document.update(
        created_at=product.created_at,
        rating_sum=product.rating_sum,
        rating_count=product.rating_count,
        revision=product.revision + 1,
    )
    result = _unique(
        lambda: _products().replace_one({"_id": ObjectId(product.id), "revision": product.revision}, document)
    )
    return result.matched_count == 1


def product_delete_one(product_id: ObjectId) -> Product | None:
    doc = _products().find_one_and_delete({"_id": product_id})
    return product_from_document(doc) if doc else None


def product_rating_increment(product_id: ObjectId, *, sum_delta: int, count_delta: int) -> Product | None:
    """Atomically move the rating sum and count, so concurrent reviews lose no update."""
    doc = _products().find_one_and_update(
        {"_id": product_id},
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
) -> dict:
    """The MongoDB filter of a product listing. Only operators both servers agree on."""
    query: dict = {}
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


def product_count(query: dict) -> int:
    """One round trip (an aggregate with $match/$group)."""
    return _products().count_documents(query)


def product_page(query: dict, *, sort: str, skip: int, limit: int) -> list[Product]:
    """One page in one round trip: `limit` is at most 100 small documents, one batch."""
    field_name, direction = PRODUCT_SORTS[sort]
    cursor = _products().find(query).sort([(field_name, direction), ("_id", direction)]).skip(skip).limit(limit)
    return [product_from_document(doc) for doc in cursor]


def product_any_in_category(category_id: str) -> bool:
    return _products().find_one({"category_id": category_id}, {"_id": 1}) is not None


def product_ids_created_before(cutoff: datetime) -> set[str]:
    """Ids of products created at or before `cutoff` (for repairs; only `_id` travels).

    `$lte`, not `$lt`: nx-27017's find() compares datetimes to the second, so `$lt` would
    miss products from the cutoff's own second there (MongoDB compares milliseconds)."""
    return {str(doc["_id"]) for doc in _products().find({"created_at": {"$lte": cutoff}}, {"_id": 1})}


def product_ids_existing(product_ids: Iterable[str]) -> set[str]:
    """Which of these ids are products (one query per 1,000 ids)."""
    object_ids = _oids(product_ids)
    found: set[str] = set()
    for start in range(0, len(object_ids), 1000):
        chunk = object_ids[start : start + 1000]
        found.update(str(doc["_id"]) for doc in _products().find({"_id": {"$in": chunk}}, {"_id": 1}))
    return found


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


def category_insert(document: dict) -> Category:
    """Insert a category document (KeyTaken on a taken slug)."""
    result = _unique(lambda: _categories().insert_one(document))
    return category_from_document({**document, "_id": result.inserted_id})


def category_find_one(category_id: ObjectId) -> Category | None:
    doc = _categories().find_one({"_id": category_id})
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
    result = _unique(
        lambda: _categories().replace_one({"_id": ObjectId(category.id), "revision": category.revision}, document)
    )
    return result.matched_count == 1


def category_delete_one(category_id: ObjectId) -> Category | None:
    doc = _categories().find_one_and_delete({"_id": category_id})
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
