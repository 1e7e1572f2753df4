from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal

from rest_framework import serializers

from cart.models import MAX_LINE_QUANTITY
from ecommerce.api.fields import MoneyField, ObjectIdField
from orders.countries import COUNTRY_CODES
from orders.models import Order, OrderLine

MAX_ORDER_LINES = 100


class OrderLineSerializer(serializers.ModelSerializer):
    unit_price = MoneyField()
    line_total = MoneyField()

    class Meta:
        model = OrderLine
        fields = ["product_id", "name", "unit_price", "quantity", "line_total"]
        read_only_fields = fields


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.CharField(min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")

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
        address = order.shipping_address
        return {
            "id": order.pk,
            "user_id": order.user_id,
            "email": order.email,
            "status": order.status,
            "items": [
                {
                    "product_id": line.product_id,
                    "name": line.name,
                    "unit_price": _money_text(line.unit_price),
                    "quantity": line.quantity,
                    "line_total": _money_text(line.line_total),
                }
                for line in order.lines.all()
            ],
            "total": _money_text(order.total),
            "currency": order.currency,
            "shipping_address": {field: address[field] for field in _ADDRESS_FIELDS if field in address},
            "created_at": _timestamp(order.created_at),
            "updated_at": _timestamp(order.updated_at),
        }


_ADDRESS_FIELDS = tuple(ShippingAddressSerializer().fields)
_CENT = Decimal("0.01")


def _money_text(amount: Decimal) -> str:
    return str(amount.quantize(_CENT, rounding=ROUND_HALF_UP))


def _timestamp(moment) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class OrderItemInSerializer(serializers.Serializer):
    product_id = ObjectIdField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class OrderPlaceSerializer(serializers.Serializer):
    """Either `items` or `"from_cart": true`, with a shipping address. Lines naming the same
    product twice are merged (their quantities added, at most 1000 in all)."""

    items = OrderItemInSerializer(many=True, required=False, min_length=1, max_length=MAX_ORDER_LINES)
    from_cart = serializers.BooleanField(required=False, default=False)
    shipping_address = ShippingAddressSerializer()
    user_id = serializers.IntegerField(
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


def order_representation(order: Order) -> dict:
    """The order as the API answers it (also the body an Idempotency-Key replays)."""
    return OrderSerializer(order).data
