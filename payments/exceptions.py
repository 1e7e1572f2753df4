from ecommerce.api.exceptions import ApplicationError, ConflictError, NotFoundError, ValidationFailed


class PaymentNotFound(NotFoundError):
    default_message = "Payment not found."


class OrderNotPayable(ConflictError):
    """Payments are only taken for pending orders (the contract's `invalid_transition`)."""

    code = "invalid_transition"

    def __init__(self, current: str):
        super().__init__(f"An order in status {current} cannot be paid.", details={"from": current, "to": "paid"})


class PaymentInProgress(ConflictError):
    default_message = "The order already has a payment that has not failed or been cancelled."


class RefundExceedsCaptured(ConflictError):
    code = "refund_exceeds_captured"

    def __init__(self, *, requested, available):
        super().__init__(
            "The refund would exceed what was captured and not yet refunded.",
            details={"requested": str(requested), "available": str(available)},
        )


class ProviderUnavailable(ValidationFailed):
    """The provider asked for is not configured here."""

    def __init__(self, provider: str):
        super().__init__(f"The payment provider {provider!r} is not available.", details={"provider": [provider]})


class InvalidWebhook(ValidationFailed):
    """A webhook whose signature is missing, wrong or stale, or whose body is not an event."""

    default_message = "The webhook signature is missing, invalid or stale."


class PaymentProviderError(ApplicationError):
    """The provider refused the request, or could not be reached."""

    status_code = 502
    code = "payment_provider_error"
    default_message = "The payment provider refused the request."
