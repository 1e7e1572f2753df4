from ecommerce.api.exceptions import NotFoundError, ValidationFailed


class WebhookUrlRefused(ValidationFailed):
    """A webhook URL that is not http(s), does not resolve, or resolves to an address
    the shop must not call (SSRF)."""

    def __init__(self, message: str):
        super().__init__(message, details={"url": [message]})


class WebhookNotFound(NotFoundError):
    default_message = "Webhook not found."


class DeliveryNotFound(NotFoundError):
    default_message = "Delivery not found."
