from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from orders.metrics import register_books_collector

        register_books_collector()
