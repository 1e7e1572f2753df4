"""Products and categories in MongoDB. The only catalog module that talks pymongo.

Documents are strictly typed: prices are integer cents (`price_cents`), ids are
ObjectIds, `category_id` is the category's id string or None. Functions take and
return plain Python values (str ids, Decimal prices), never raw BSON.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database

from ecommerce import mongo

PRODUCTS = "products"
CATEGORIES = "categories"
CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


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
    extra: dict = field(default_factory=dict, compare=False)

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
    )


def search_text(name: str, description: str, tags: Iterable[str]) -> str:
    """One lower-cased field that case-insensitive search scans (see shared/MONGO.md)."""
    return " ".join([name, description, *tags]).lower()


def product_insert(document: dict) -> Product:
    """Insert a product document (raises DuplicateKeyError on a taken SKU)."""
    result = _products().insert_one(document)
    return product_from_document({**document, "_id": result.inserted_id})


def product_find_one(product_id: ObjectId) -> Product | None:
    doc = _products().find_one({"_id": product_id})
    return product_from_document(doc) if doc else None


def product_find_many(product_ids: Iterable[str]) -> dict[str, Product]:
    """Products by id in one query; malformed or unknown ids are simply absent."""
    object_ids = list({ObjectId(pid) for pid in product_ids if mongo.is_object_id(pid)})
    if not object_ids:
        return {}
    return {str(doc["_id"]): product_from_document(doc) for doc in _products().find({"_id": {"$in": object_ids}})}


def product_delete_one(product_id: ObjectId) -> Product | None:
    doc = _products().find_one_and_delete({"_id": product_id})
    return product_from_document(doc) if doc else None


def product_rating_increment(product_id: ObjectId, *, sum_delta: int, count_delta: int) -> Product | None:
    """Atomically move the rating sum and count, so concurrent reviews lose no update."""
    doc = _products().find_one_and_update(
        {"_id": product_id},
        {"$inc": {"rating_sum": sum_delta, "rating_count": count_delta}},
        return_document=ReturnDocument.AFTER,
    )
    return product_from_document(doc) if doc else None


@mongo.register_indexes
def create_indexes(db: Database) -> None:
    products = db[PRODUCTS]
    # SKU is optional: unique where present (the field is omitted, never null, when absent).
    products.create_index(
        [("sku", ASCENDING)], name="sku_unique", unique=True, partialFilterExpression={"sku": {"$exists": True}}
    )
    products.create_index([("is_active", ASCENDING), ("created_at", DESCENDING)], name="active_created")
    products.create_index([("category_id", ASCENDING), ("created_at", DESCENDING)], name="category_created")
    products.create_index([("price_cents", ASCENDING)], name="price")
    products.create_index([("name_lower", ASCENDING)], name="name")
    products.create_index([("tags", ASCENDING)], name="tags")
    products.create_index([("created_at", DESCENDING)], name="created")
    categories = db[CATEGORIES]
    categories.create_index([("slug", ASCENDING)], name="slug_unique", unique=True)
    categories.create_index([("parent_id", ASCENDING)], name="parent")
