"""Reads on reviews and wishlists."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser

from catalog import selectors as catalog_selectors
from catalog.selectors import Product
from ecommerce.api.pagination import MongoSlice
from ecommerce.api.permissions import is_staff
from reviews import repository
from reviews.exceptions import ReviewNotFound
from reviews.repository import Review
from users import selectors as user_selectors
from users.models import User

# A wishlist is one plain object (the contract shows no pagination), so it is capped.
WISHLIST_LIMIT = 500
REVIEW_SORT_KEYS = tuple(repository.REVIEW_SORTS)


@dataclass(frozen=True)
class WishlistItem:
    product_id: str
    name: str
    price: Decimal
    added_at: datetime


@dataclass(frozen=True)
class Wishlist:
    user_id: int
    items: list[WishlistItem]


def review_get(*, review_id: str) -> Review:
    """One review by its id string; unknown or malformed: 404."""
    review = repository.review_find_one(review_id)
    if review is None:
        raise ReviewNotFound()
    return review


def review_list_for_product(*, actor: User | AnonymousUser, product_id: str, sort: str = "recent") -> MongoSlice:
    """A product's reviews in `sort` order (a key of repository.REVIEW_SORTS), for pagination.

    404 for an unknown or malformed product, and for an inactive one unless the actor is staff
    (customers see only active products). A variant's reviews are its parent's. Each page
    costs one count and one find.
    """
    product = catalog_selectors.product_owning_reviews(product_id=product_id, include_inactive=is_staff(actor))
    return MongoSlice(
        count=lambda: repository.review_count_for_product(product.id),
        fetch=lambda skip, limit: repository.review_find_for_product(product.id, sort=sort, skip=skip, limit=limit),
    )


def review_list_by_author(*, user_id: int, sort: str = "recent") -> MongoSlice:
    """Every review one user wrote, whatever the product, for the back office (staff only:
    it shows reviews of inactive products too). One count and one find a page."""
    return MongoSlice(
        count=lambda: repository.review_count_by_user(user_id),
        fetch=lambda skip, limit: repository.review_find_by_user(user_id, sort=sort, skip=skip, limit=limit),
    )


def wishlist_build(*, user_id: int, include_inactive: bool) -> tuple[Wishlist, dict[str, Product]]:
    """The wishlist with each product's current name and price, and the products it found.

    Two round trips whatever its size: the entries, then every product in one query.
    Entries whose product is gone are left out (the product-deleted hook removes them).
    """
    entries = repository.wishlist_entries_for_user(user_id, limit=WISHLIST_LIMIT)
    products = catalog_selectors.products_get_many(product_ids=[entry.product_id for entry in entries])
    items = []
    for entry in entries:
        product = products.get(entry.product_id)
        if product is None or not (product.is_active or include_inactive):
            continue
        items.append(
            WishlistItem(product_id=product.id, name=product.name, price=product.price, added_at=entry.added_at)
        )
    return Wishlist(user_id=user_id, items=items), products


def wishlist_get(*, actor: User, user_id: int) -> Wishlist:
    """The user's wishlist as `actor` may see it: owner or staff; another customer's, or an unknown user: 404.

    Customers see the items whose product is active; staff see inactive ones too.
    """
    user = user_selectors.user_get_for(actor=actor, user_id=user_id)
    wishlist, _ = wishlist_build(user_id=user.pk, include_inactive=is_staff(actor))
    return wishlist
