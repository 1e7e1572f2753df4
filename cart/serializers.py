from django.conf import settings
from rest_framework import serializers

from cart.models import MAX_LINE_QUANTITY
from cart.selectors import Cart
from ecommerce.api.fields import MoneyField, ObjectIdField, StrictIntegerField
from ecommerce.api.money import money_text


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.CharField()
    name = serializers.CharField()
    sku = serializers.CharField(allow_null=True, help_text="The product's SKU (a variant's own), null when none.")
    options = serializers.DictField(
        child=serializers.CharField(), help_text='A variant\'s options, e.g. {"Size": "M"}; {} for other products.'
    )
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

    def to_representation(self, cart: Cart) -> dict:
        """The JSON the declared fields give (a test holds them equal), built directly: DRF's
        field-by-field machinery costs more than the add-to-cart's database work."""
        return {
            "user_id": cart.user_id,
            "items": [
                {
                    "id": line.id,
                    "product_id": line.product_id,
                    "name": line.name,
                    "sku": line.sku,
                    "options": dict(line.options),
                    "unit_price": money_text(line.unit_price),
                    "quantity": line.quantity,
                    "line_total": money_text(line.line_total),
                }
                for line in cart.items
            ],
            "item_count": cart.item_count,
            "total": money_text(cart.total),
            "currency": settings.STORE_CURRENCY,
        }


class CartItemAddSerializer(serializers.Serializer):
    product_id = ObjectIdField()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartItemUpdateSerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)
