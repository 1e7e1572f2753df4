from rest_framework import serializers

from ecommerce.api.fields import ObjectIdField
from inventory.models import Inventory
from inventory.services import MAX_STOCK


class InventorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Inventory
        fields = ["product_id", "quantity", "reserved", "low_stock_threshold", "updated_at"]
        read_only_fields = fields


class InventoryUpdateSerializer(serializers.Serializer):
    """Partial: only the fields sent change."""

    quantity = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)


class RestockSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_STOCK)


class LowStockQuerySerializer(serializers.Serializer):
    threshold = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, required=False)


class InventoryListQuerySerializer(serializers.Serializer):
    product_id = ObjectIdField(
        required=False,
        help_text="Only the rows of this product: a parent's are its variants' rows, any other product's its own.",
    )
