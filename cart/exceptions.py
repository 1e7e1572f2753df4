from ecommerce.api.exceptions import NotFoundError, ValidationFailed


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
