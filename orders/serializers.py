from rest_framework import serializers

from cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY
from ecommerce.api.fields import MoneyField, ObjectIdField, StrictBooleanField, StrictCharField, StrictIntegerField
from orders.countries import COUNTRY_CODES
from orders.models import Order, OrderLine
from orders.representation import order_representation


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(help_text="The variant's SKU as sold (empty for a product without one).")
    options = serializers.DictField(
        child=serializers.CharField(), help_text='A variant\'s options as sold, e.g. {"Size": "M"}; {} otherwise.'
    )
    unit_price = MoneyField()
    line_total = MoneyField()

    class Meta:
        model = OrderLine
        fields = ["product_id", "name", "sku", "options", "unit_price", "quantity", "line_total"]
        read_only_fields = fields


class ShippingAddressSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True)
    city = StrictCharField(max_length=100)
    postal_code = StrictCharField(max_length=20)
    country = StrictCharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in COUNTRY_CODES:
            raise serializers.ValidationError("Must be an ISO 3166-1 alpha-2 country code.")
        return code


class OrderSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(allow_null=True, read_only=True)
    items = OrderLineSerializer(source="lines", many=True, read_only=True)
    total = MoneyField()
    shipping_address = ShippingAddressSerializer(read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "user_id",
            "email",
            "status",
            "items",
            "total",
            "currency",
            "shipping_address",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, order: Order) -> dict:
        """The same JSON as the declared fields give (a test holds them equal), built
        directly: DRF's field-by-field machinery costs more than the queries of a page."""
        return order_representation(order)


class OrderItemInSerializer(serializers.Serializer):
    product_id = ObjectIdField()
    quantity = StrictIntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class OrderPlaceSerializer(serializers.Serializer):
    """Either `items` or `"from_cart": true`, with a shipping address. Lines naming the same
    product twice are merged (their quantities added, at most 1000 in all)."""

    items = OrderItemInSerializer(many=True, required=False, min_length=1, max_length=MAX_CART_LINES)
    from_cart = StrictBooleanField(
        required=False,
        default=False,
        help_text=(
            "Order the caller's cart. Its lines leave the cart with the order; should another "
            "checkout of the same cart take them first, the answer is 409 conflict and nothing "
            "is ordered (one cart, one order)."
        ),
    )
    shipping_address = ShippingAddressSerializer()
    user_id = StrictIntegerField(
        required=False,
        min_value=1,
        help_text=(
            "Staff only: place the order for this user (400 when there is no such user). A customer may "
            "leave it out or send their own id; any other id answers 403 permission_denied and creates nothing."
        ),
    )

    def validate(self, attrs):
        if attrs.get("from_cart") and "items" in attrs:
            raise serializers.ValidationError({"items": ["Send either items or from_cart, not both."]})
        if not attrs.get("from_cart") and "items" not in attrs:
            raise serializers.ValidationError({"items": ["Required unless from_cart is true."]})
        if "items" in attrs:
            merged: dict[str, int] = {}
            for item in attrs["items"]:
                merged[item["product_id"]] = merged.get(item["product_id"], 0) + item["quantity"]
            too_many = [pid for pid, quantity in merged.items() if quantity > MAX_LINE_QUANTITY]
            if too_many:
                raise serializers.ValidationError(
                    {"items": [f"At most {MAX_LINE_QUANTITY} units of one product ({', '.join(too_many)})."]}
                )
            attrs["items"] = [{"product_id": pid, "quantity": quantity} for pid, quantity in merged.items()]
        return attrs


class OrderStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices)


class OrderListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
