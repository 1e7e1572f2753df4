"""Writes on reviews, helpful votes and wishlists.

MongoDB gives no multi-document transaction here (shared/MONGO.md), so each write is a
sequence of single-document atomic steps, ordered so that a crash or a race never counts
anything twice: the unique index decides first (review, vote, wishlist entry), and only
the request that won it moves a counter ($inc). A crash between the two steps can only
under-count, never double count.
"""

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.exceptions import ParentNotBuyable, ProductNotFound
from ecommerce.api.permissions import ensure_owner_or_staff, is_staff
from ecommerce.stores import mongo
from reviews import repository, selectors
from reviews.exceptions import (
    ReviewAlreadyExists,
    ReviewNotFound,
    UnknownProduct,
    WishlistFull,
    WishlistItemNotFound,
)
from reviews.repository import Review
from reviews.selectors import Wishlist
from users import selectors as user_selectors
from users.models import User


def _reviewed_product_id(*, actor: User, product_id: str) -> str:
    """The product a review of `product_id` is filed under, if the actor may see it (customers:
    active only); else 400. A variant's reviews are its parent's: ratings belong to the parent."""
    try:
        return catalog_selectors.product_owning_reviews(product_id=product_id, include_inactive=is_staff(actor)).id
    except ProductNotFound:
        raise UnknownProduct() from None


def _wishable_product_id(*, actor: User, product_id: str) -> str:
    """The standalone product or variant a wishlist entry names, if the actor may see it; else
    400. A parent is never kept itself (400 listing its variants), as in carts and orders."""
    try:
        product = catalog_selectors.product_get(product_id=product_id, include_inactive=is_staff(actor))
    except ProductNotFound:
        raise UnknownProduct() from None
    if not product.is_buyable:
        raise ParentNotBuyable(variant_ids=product.variant_ids)
    return product.id


def review_create(*, actor: User, product_id: str, rating: int, title: str, body: str = "") -> Review:
    """Post the actor's review of a product and count it in the product's rating.

    400 for an unknown product (or an inactive one, for a customer); 409 when the actor
    already reviewed it, also when two posts race (the unique index lets one insert win).
    A review naming a variant is filed under (and rates) its parent.
    The review is inserted before the rating moves, so a retry after a crash is a 409,
    never a second count.
    """
    product_id = _reviewed_product_id(actor=actor, product_id=product_id)
    review = repository.review_insert(
        product_id=product_id, user_id=actor.pk, rating=rating, title=title, body=body, created_at=mongo.now_ms()
    )
    if review is None:
        raise ReviewAlreadyExists()
    catalog_services.product_rating_add(product_id=product_id, rating=rating)
    # The product may have been deleted since we looked: its delete hook may have run before
    # our insert, which would leave this review behind. Take it back out.
    if not catalog_selectors.product_exists(product_id=product_id):
        _review_remove(review_id=review.id)
        raise UnknownProduct()
    return review


def _review_remove(*, review_id: str) -> Review | None:
    """Delete a review, then uncount it, then drop its votes. Only the caller whose
    find_one_and_delete returned the review decrements, so racing deletes count once."""
    review = repository.review_delete_one(review_id)
    if review is None:
        return None
    catalog_services.product_rating_remove(product_id=review.product_id, rating=review.rating)
    repository.votes_delete_for_review(review.id)
    return review


def review_delete(*, actor: User, review_id: str) -> None:
    """Delete a review: its author or staff; another customer's answers 404, as if absent."""
    review = selectors.review_get(review_id=review_id)
    ensure_owner_or_staff(actor, review.user_id, "Review")
    if _review_remove(review_id=review.id) is None:
        raise ReviewNotFound()  # another request deleted it first


def review_mark_helpful(*, actor: User, review_id: str) -> Review:
    """Count the actor's "helpful" vote once; a repeat changes nothing. Answers the review.

    The vote document's unique index decides who counts: helpful_count moves only after
    this request's vote was inserted, so concurrent repeats cannot double count.
    """
    review = selectors.review_get(review_id=review_id)
    if not repository.vote_insert(
        review_id=review.id, product_id=review.product_id, user_id=actor.pk, created_at=mongo.now_ms()
    ):
        return selectors.review_get(review_id=review_id)
    updated = repository.review_increment_helpful(review.id)
    if updated is None:
        # The review was deleted between our read and the $inc: drop the orphan vote.
        repository.vote_delete(review_id=review.id, user_id=actor.pk)
        raise ReviewNotFound()
    return updated


def wishlist_item_add(*, actor: User, user_id: int, product_id: str) -> tuple[Wishlist, bool]:
    """Add a product to the user's wishlist; returns the wishlist and whether it was new.

    Owner or staff (404 otherwise, or for an unknown user); 400 for an unknown product
    (inactive too, for a customer), a parent (naming its variants), or when the wishlist
    already holds WISHLIST_LIMIT products. Idempotent: adding it again changes nothing.
    """
    user = user_selectors.user_get_for(actor=actor, user_id=user_id)
    product_id = _wishable_product_id(actor=actor, product_id=product_id)
    created = repository.wishlist_entry_insert(user_id=user.pk, product_id=product_id, added_at=mongo.now_ms())
    # Insert, then count: two racing adds at the limit cannot both slip past a count taken first.
    limit = selectors.WISHLIST_LIMIT
    if created and repository.wishlist_entry_count(user.pk) > limit:
        repository.wishlist_entry_delete(user_id=user.pk, product_id=product_id)
        raise WishlistFull(limit)
    wishlist, products = selectors.wishlist_build(user_id=user.pk, include_inactive=is_staff(actor))
    if created and product_id not in products:
        # Deleted since we looked (its hook may have run before our insert): take the entry back.
        repository.wishlist_entry_delete(user_id=user.pk, product_id=product_id)
        raise UnknownProduct()
    return wishlist, created


def wishlist_item_remove(*, actor: User, user_id: int, product_id: str) -> None:
    """Remove a product from the user's wishlist; 404 when it is not there."""
    user = user_selectors.user_get_for(actor=actor, user_id=user_id)
    if not mongo.is_object_id(product_id):
        raise WishlistItemNotFound()
    if not repository.wishlist_entry_delete(user_id=user.pk, product_id=product_id.lower()):
        raise WishlistItemNotFound()


def wishlist_delete_for_user(user_id: int) -> None:
    """The users' user-deleted hook: the wishlist entries go (the reviews stay, under the plain user_id)."""
    repository.wishlist_entries_delete_for_user(user_id)


def reviews_delete_for_product(product_id: str) -> None:
    """The catalog's product-deleted hook: the product's reviews, their votes and its
    wishlist entries go. No rating to keep current: the product document is already gone."""
    repository.reviews_delete_for_product(product_id)
    repository.votes_delete_for_product(product_id)
    repository.wishlist_entries_delete_for_product(product_id)
