from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"

    def ready(self):
        from cart.services import cart_items_remove_product
        from catalog.services import on_product_deleted

        on_product_deleted(cart_items_remove_product)
