from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from orders import services as order_services
        from payments import services

        # Cancelling a paid order gives the money back, in the cancellation's transaction.
        order_services.on_order_changed(services.order_changed)
