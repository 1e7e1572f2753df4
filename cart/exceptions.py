from ecommerce.api.exceptions import ConflictError, NotFoundError, ValidationFailed


class CartItemNotFound(NotFoundError):
    default_message = "Cart item not found."


class ProductUnavailable(ValidationFailed):
    default_message = "The product does not exist or is not for sale."

    def __init__(self):
        super().__init__(details={"product_id": [self.default_message]})


class CartQuantityExceeded(ValidationFailed):
    def __init__(self, limit: int):
        super().__init__(
            f"A cart line holds at most {limit} units.",
            details={"quantity": [f"The line would exceed {limit} units."]},
        )


class CartFull(ValidationFailed):
    def __init__(self, limit: int):
        super().__init__(
            f"A cart holds at most {limit} products.",
            details={"product_id": [f"A cart holds at most {limit} products."]},
        )


class CartChanged(ConflictError):
    """An order from the cart lost its lines: another checkout of the same cart ordered them
    first, or the owner changed them while the order was being placed. Nothing was ordered.
    The contract's 409 `conflict` (no code of its own: shared/API.md lists the codes)."""

    default_message = (
        "The cart changed while it was being ordered (another checkout took its lines); nothing was ordered."
    )
