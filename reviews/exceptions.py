from ecommerce.api.exceptions import ConflictError, NotFoundError, ValidationFailed


class ReviewNotFound(NotFoundError):
    default_message = "Review not found."


class ReviewAlreadyExists(ConflictError):
    default_message = "You have already reviewed this product."


class WishlistItemNotFound(NotFoundError):
    default_message = "This product is not in the wishlist."


class UnknownProduct(ValidationFailed):
    """A `product_id` in a request body that names no (visible) product: a bad field, so 400."""

    def __init__(self):
        super().__init__("Unknown product.", details={"product_id": ["Unknown product."]})


class WishlistFull(ValidationFailed):
    def __init__(self, limit: int):
        super().__init__(
            f"A wishlist holds at most {limit} products.",
            details={"product_id": [f"The wishlist already holds {limit} products; remove one first."]},
        )
