from ecommerce.api.exceptions import NotFoundError, ValidationFailed


class ProductNotFound(NotFoundError):
    default_message = "Product not found."


class CategoryNotFound(NotFoundError):
    default_message = "Category not found."


class NotAParent(ValidationFailed):
    """Variants are added to (and listed under) a parent only: a standalone product or a
    variant named as the parent is a bad request, not an unknown resource."""

    def __init__(self):
        super().__init__(
            "This product is not a parent: only a parent (a product created with option_names) has variants.",
            details={"parent_id": ["Not a parent product."]},
        )


class ParentNotBuyable(ValidationFailed):
    """A parent named where a product is bought or kept (a cart or order line, a wishlist):
    400 whose `details.product_id` lists its variants' ids, so the client can pick one."""

    def __init__(self, *, variant_ids: list[str], field: str = "product_id"):
        super().__init__(
            "This product is a group of variants, never bought itself: name one of its variants "
            f"(details.{field} lists their ids).",
            details={field: list(variant_ids)},
        )
        self.variant_ids = variant_ids
