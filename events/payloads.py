"""An event's `data`: the resource as the API answers it, rendered by its own app's serializer."""

from catalog.serializers import ProductSerializer
from inventory.serializers import InventorySerializer
from orders.serializers import order_representation


def order_payload(order) -> dict:
    return order_representation(order)


def product_payload(product) -> dict:
    return ProductSerializer(product).data


def stock_payload(row) -> dict:
    return InventorySerializer(row).data
