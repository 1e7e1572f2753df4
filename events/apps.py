from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"

    def ready(self):
        from catalog import services as catalog_services
        from events import metrics, services
        from inventory import services as inventory_services
        from orders import services as order_services

        # Order events commit with the order (the hook runs inside its transaction); product
        # and stock events follow another store's commit and are repaired by repair_events.
        order_services.on_order_changed(services.order_event_record)
        catalog_services.on_product_changed(services.product_event_record)
        inventory_services.on_stock_low(services.stock_low_record)
        metrics.register()
