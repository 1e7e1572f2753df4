from ecommerce.api.exceptions import ApplicationError, ConflictError, NotFoundError, ValidationFailed


class OrderNotFound(NotFoundError):
    default_message = "Order not found."


class InvalidTransition(ConflictError):
    code = "invalid_transition"

    def __init__(self, current: str, wanted: str):
        super().__init__(f"An order cannot go from {current} to {wanted}.", details={"from": current, "to": wanted})


class IdempotencyConflict(ConflictError):
    code = "idempotency_conflict"


class EmptyCart(ValidationFailed):
    default_message = "The cart has nothing that can be ordered."


class ProductsUnavailable(ValidationFailed):
    """Unknown or inactive products in an order: a 400 naming each."""

    def __init__(self, product_ids: list[str]):
        super().__init__(
            "Some products do not exist or are not for sale.",
            details={"items": [{"product_id": pid, "message": "Not found or not for sale."} for pid in product_ids]},
        )


class ReplayedError(ApplicationError):
    """The stored error answer of an earlier request with the same Idempotency-Key."""

    def __init__(self, status_code: int, body: dict):
        error = body.get("error", {})
        self.status_code = status_code
        self.code = error.get("code", "error")
        super().__init__(error.get("message"), details=error.get("details"))
