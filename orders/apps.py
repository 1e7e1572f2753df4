from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from analytics import selectors as analytics_selectors
        from catalog import selectors as catalog_selectors
        from orders.metrics import register_books_collector

        register_books_collector()

        # Orders record the sales; analytics, below the catalog, names a parent's group of
        # variants through this (one MongoDB read per popular-products page grouped by parent).
        def parent_names(product_ids: list[str]) -> dict[str, str]:
            products = catalog_selectors.products_get_many(product_ids=product_ids, include_parents=True)
            return {pid: product.name for pid, product in products.items() if product.kind == catalog_selectors.PARENT}

        analytics_selectors.on_parent_names(parent_names)
