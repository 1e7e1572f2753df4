from django.apps import AppConfig


class EcommerceConfig(AppConfig):
    """The project's wiring: health, MongoDB indexes and the embedded default's commands."""

    name = "ecommerce"
    verbose_name = "E-commerce"
