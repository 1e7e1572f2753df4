from ecommerce.api.exceptions import ApplicationError, ConflictError, NotFoundError, ValidationFailed
from ecommerce.api.idempotency import IdempotencyConflict


class OrderNotFound(NotFoundError):
    default_message = "Order not found."


class OrderForbidden(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "Only staff may order for another user."


class InvalidTransition(ConflictError):
    code = "invalid_transition"

    def __init__(self, current: str, wanted: str):
        super().__init__(f"An order cannot go from {current} to {wanted}.", details={"from": current, "to": wanted})


class IdempotencyInProgress(IdempotencyConflict):
    """Another attempt with this Idempotency-Key holds its lease: retry after `retry_after`
    seconds (the Retry-After header), when it has answered or its lease has run out."""

    default_message = "A request with this Idempotency-Key is still being processed; retry later."

    def __init__(self, *, retry_after: int):
        self.retry_after = max(1, retry_after)
        super().__init__(details={"retry_after": self.retry_after})


class LeaseLost(Exception):
    """This attempt's lease on its Idempotency-Key was taken over by a retry: it must not
    write its order (the retry settles what it did)."""


class EmptyCart(ValidationFailed):
    default_message = "The cart has nothing that can be ordered."


class ProductsUnavailable(ValidationFailed):
    """Unknown or inactive products in an order: a 400 naming each."""

    def __init__(self, product_ids: list[str]):
        super().__init__(
            "Some products do not exist or are not for sale.",
            details={"items": [{"product_id": pid, "message": "Not found or not for sale."} for pid in product_ids]},
        )
