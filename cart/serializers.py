from django.conf import settings
from rest_framework import serializers

from cart.models import MAX_LINE_QUANTITY
from ecommerce.api.fields import MoneyField, ObjectIdField


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and only that (DRF's IntegerField would take "2" and 2.0)."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, and only that (DRF's BooleanField would take "yes", 1, "on")."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


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
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemUpdateSerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
