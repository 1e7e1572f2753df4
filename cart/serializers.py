from django.conf import settings
from rest_framework import serializers

from cart.models import MAX_LINE_QUANTITY
from ecommerce.fields import ObjectIdField


def _money():
    # 100 lines of 1000 units at 1,000,000.00: up to 12 digits before the point.
    return serializers.DecimalField(max_digits=16, decimal_places=2)


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.CharField()
    name = serializers.CharField()
    unit_price = _money()
    quantity = serializers.IntegerField()
    line_total = _money()


class CartSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    items = CartLineSerializer(many=True)
    item_count = serializers.IntegerField()
    total = _money()
    currency = serializers.SerializerMethodField()

    def get_currency(self, cart) -> str:
        return settings.STORE_CURRENCY


class CartItemAddSerializer(serializers.Serializer):
    product_id = ObjectIdField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemUpdateSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
