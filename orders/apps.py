from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from prometheus_client import REGISTRY

        from orders.metrics import BooksCollector

        # Once per process (ready() may run again in tests that reload apps).
        if not any(isinstance(collector, BooksCollector) for collector in REGISTRY._collector_to_names):
            REGISTRY.register(BooksCollector())
