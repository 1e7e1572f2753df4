"""Reviews, helpful votes and wishlist entries in MongoDB. The only reviews module that talks pymongo.

Documents are strictly typed: `_id` is an ObjectId, `product_id` the product's id string,
`user_id` an int (kept after the user is deleted), `rating` and `helpful_count` ints,
timestamps tz-aware UTC datetimes. Every "once per user" rule is a document of its own
under a unique index (shared/MONGO.md: no per-user arrays inside a review), so races end
in a DuplicateKeyError rather than a double count. Functions take and return plain Python
values (str ids), never raw BSON; a malformed id finds nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from ecommerce.stores import mongo

REVIEWS = "reviews"
REVIEW_VOTES = "review_votes"
WISHLIST_ENTRIES = "wishlist_entries"

# Every order ends in created_at (newest first) and has an index of its own below, so a page
# is an index walk. No `_id` tie-break: nx-27017 refuses `_id` inside a compound index (inserts
# then fail with "JSON path error near '_id'"), and a sort key outside the index would make
# MongoDB sort in memory. Equal millisecond timestamps keep the index's order.
REVIEW_SORTS = {
    "recent": [("created_at", DESCENDING)],
    "helpful": [("helpful_count", DESCENDING), ("created_at", DESCENDING)],
    "rating": [("rating", ASCENDING), ("created_at", DESCENDING)],
    "-rating": [("rating", DESCENDING), ("created_at", DESCENDING)],
}


@dataclass(frozen=True)
class Review:
    id: str
    product_id: str
    user_id: int
    rating: int
    title: str
    body: str
    helpful_count: int
    created_at: datetime


@dataclass(frozen=True)
class WishlistEntry:
    user_id: int
    product_id: str
    added_at: datetime


def _oid(review_id: str) -> ObjectId | None:
    review_id = str(review_id)
    return ObjectId(review_id) if mongo.is_object_id(review_id) else None


def _reviews():
    return mongo.get_db()[REVIEWS]


def _votes():
    return mongo.get_db()[REVIEW_VOTES]


def _wishlist():
    return mongo.get_db()[WISHLIST_ENTRIES]


def review_from_document(doc: dict) -> Review:
    return Review(
        id=str(doc["_id"]),
        product_id=doc["product_id"],
        user_id=doc["user_id"],
        rating=doc["rating"],
        title=doc["title"],
        body=doc["body"],
        helpful_count=doc["helpful_count"],
        created_at=doc["created_at"],
    )


# Reviews


def review_document(*, product_id: str, user_id: int, rating: int, title: str, body: str, created_at: datetime) -> dict:
    return {
        "product_id": product_id,
        "user_id": user_id,
        "rating": rating,
        "title": title,
        "body": body,
        "helpful_count": 0,
        "created_at": created_at,
    }


def review_insert(
    *, product_id: str, user_id: int, rating: int, title: str, body: str, created_at: datetime
) -> Review | None:
    """Insert a review; None when the user already reviewed the product (the unique index says so)."""
    document = review_document(
        product_id=product_id, user_id=user_id, rating=rating, title=title, body=body, created_at=created_at
    )
    try:
        result = _reviews().insert_one(document)
    except DuplicateKeyError:
        return None
    return review_from_document({**document, "_id": result.inserted_id})


def reviews_insert_many(documents: list[dict]) -> int:
    """Bulk insert (seeding) of `review_document`s."""
    return len(_reviews().insert_many(documents, ordered=False).inserted_ids) if documents else 0


def review_find_one(review_id: str) -> Review | None:
    object_id = _oid(review_id)
    doc = _reviews().find_one({"_id": object_id}) if object_id else None
    return review_from_document(doc) if doc else None


def review_count_for_product(product_id: str) -> int:
    return _reviews().count_documents({"product_id": product_id})


def review_find_for_product(product_id: str, *, sort: str, skip: int, limit: int) -> list[Review]:
    cursor = _reviews().find({"product_id": product_id}).sort(REVIEW_SORTS[sort]).skip(skip).limit(limit)
    return [review_from_document(doc) for doc in cursor]


def review_count_by_user(user_id: int) -> int:
    return _reviews().count_documents({"user_id": user_id})


def review_find_by_user(user_id: int, *, sort: str, skip: int, limit: int) -> list[Review]:
    cursor = _reviews().find({"user_id": user_id}).sort(REVIEW_SORTS[sort]).skip(skip).limit(limit)
    return [review_from_document(doc) for doc in cursor]


def review_delete_one(review_id: str) -> Review | None:
    """Delete and return the review; None when it is already gone (so only one deleter wins)."""
    object_id = _oid(review_id)
    doc = _reviews().find_one_and_delete({"_id": object_id}) if object_id else None
    return review_from_document(doc) if doc else None


def review_increment_helpful(review_id: str) -> Review | None:
    object_id = _oid(review_id)
    if object_id is None:
        return None
    doc = _reviews().find_one_and_update(
        {"_id": object_id}, {"$inc": {"helpful_count": 1}}, return_document=ReturnDocument.AFTER
    )
    return review_from_document(doc) if doc else None


def reviews_delete_for_product(product_id: str) -> int:
    return _reviews().delete_many({"product_id": product_id}).deleted_count


# Helpful votes: one document per (review, user). `review_id` is the review's id string:
# nx-27017 does not match ObjectId values in fields other than _id.


def vote_insert(*, review_id: str, product_id: str, user_id: int, created_at: datetime) -> bool:
    """Record the user's vote; False when they had already voted (the unique index says so)."""
    try:
        _votes().insert_one(
            {"review_id": review_id, "product_id": product_id, "user_id": user_id, "created_at": created_at}
        )
    except DuplicateKeyError:
        return False
    return True


def vote_delete(*, review_id: str, user_id: int) -> None:
    _votes().delete_one({"review_id": review_id, "user_id": user_id})


def votes_delete_for_review(review_id: str) -> int:
    return _votes().delete_many({"review_id": review_id}).deleted_count


def votes_delete_for_product(product_id: str) -> int:
    return _votes().delete_many({"product_id": product_id}).deleted_count


# Wishlist entries: one document per (user, product).


def _entry_from_document(doc: dict) -> WishlistEntry:
    return WishlistEntry(user_id=doc["user_id"], product_id=doc["product_id"], added_at=doc["added_at"])


def wishlist_entry_insert(*, user_id: int, product_id: str, added_at: datetime) -> bool:
    """Add the entry; False when it was already there."""
    try:
        _wishlist().insert_one({"user_id": user_id, "product_id": product_id, "added_at": added_at})
    except DuplicateKeyError:
        return False
    return True


def wishlist_entries_insert_many(documents: list[dict]) -> int:
    """Bulk insert (seeding): {"user_id", "product_id", "added_at"} documents."""
    return len(_wishlist().insert_many(documents, ordered=False).inserted_ids) if documents else 0


def wishlist_entry_count(user_id: int) -> int:
    return _wishlist().count_documents({"user_id": user_id})


def wishlist_entries_for_user(user_id: int, *, limit: int) -> list[WishlistEntry]:
    cursor = _wishlist().find({"user_id": user_id}).sort([("added_at", DESCENDING)]).limit(limit)
    return [_entry_from_document(doc) for doc in cursor]


def wishlist_entry_delete(*, user_id: int, product_id: str) -> bool:
    return _wishlist().delete_one({"user_id": user_id, "product_id": product_id}).deleted_count == 1


def wishlist_entries_delete_for_product(product_id: str) -> int:
    return _wishlist().delete_many({"product_id": product_id}).deleted_count


def wishlist_entries_delete_for_user(user_id: int) -> int:
    return _wishlist().delete_many({"user_id": user_id}).deleted_count


@mongo.register_indexes
def create_indexes(db: Database) -> None:
    reviews = db[REVIEWS]
    # One review per user and product: two racing posts give one insert and one DuplicateKeyError.
    # Its product_id prefix also serves the per-product count.
    reviews.create_index([("product_id", ASCENDING), ("user_id", ASCENDING)], name="product_user_unique", unique=True)
    for sort, keys in REVIEW_SORTS.items():
        reviews.create_index([("product_id", ASCENDING), *keys], name=f"product_sort_{sort.replace('-', 'desc_')}")
    # A user's reviews, newest first (the back office's reviews by author).
    reviews.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)], name="user_recent")
    votes = db[REVIEW_VOTES]
    # A helpful vote counts once per user: the $inc runs only after this insert succeeds.
    votes.create_index([("review_id", ASCENDING), ("user_id", ASCENDING)], name="review_user_unique", unique=True)
    votes.create_index([("product_id", ASCENDING)], name="product")
    wishlist = db[WISHLIST_ENTRIES]
    wishlist.create_index([("user_id", ASCENDING), ("product_id", ASCENDING)], name="user_product_unique", unique=True)
    wishlist.create_index([("user_id", ASCENDING), ("added_at", DESCENDING)], name="user_added")
    wishlist.create_index([("product_id", ASCENDING)], name="product")
