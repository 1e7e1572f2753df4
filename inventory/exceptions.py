from ecommerce.api.exceptions import ConflictError, NotFoundError, ValidationFailed


class InventoryNotFound(NotFoundError):
    default_message = "Inventory not found."


class OutOfStock(ConflictError):
    """Some lines cannot be reserved; `details.items` names each short line."""

    code = "out_of_stock"
    default_message = "Not enough stock for some items."

    def __init__(self, shortages: list[dict]):
        super().__init__(details={"items": shortages})


class StockLimitExceeded(ValidationFailed):
    default_message = "The quantity would exceed the largest stock a product can hold."
