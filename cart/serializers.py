from django.conf import settings
from rest_framework import serializers

from cart.models import MAX_LINE_QUANTITY
from ecommerce.api.fields import MoneyField, ObjectIdField


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.CharField()
    name = serializers.CharField()
    unit_price = MoneyField()
    quantity = serializers.IntegerField()
    line_total = MoneyField()


class CartSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    items = CartLineSerializer(many=True)
    item_count = serializers.IntegerField()
    total = MoneyField()
    currency = serializers.SerializerMethodField()

    def get_currency(self, cart) -> str:
        return settings.STORE_CURRENCY


class CartItemAddSerializer(serializers.Serializer):
    product_id = ObjectIdField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemUpdateSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
