from ecommerce.api.exceptions import NotFoundError


class ProductNotFound(NotFoundError):
    default_message = "Product not found."


class CategoryNotFound(NotFoundError):
    default_message = "Category not found."
