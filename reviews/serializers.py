from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecommerce import mongo
from reviews.repository import REVIEW_SORTS


@extend_schema_field({"type": "string", "pattern": "^[0-9a-fA-F]{24}$", "example": "6b0da54becce2e8703ae3d6f"})
class ObjectIdField(serializers.CharField):
    """A 24-hex-digit id in a request body: malformed is a 400 on that field."""

    default_error_messages = {"invalid": "Must be a 24-hex-digit id."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not mongo.is_object_id(value):
            self.fail("invalid")
        return value.lower()


class StrictCharField(serializers.CharField):
    """A JSON string only: a number or boolean is not silently turned into text."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings ("4"), floats (4.0, 4.5) or booleans."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class ReviewSerializer(serializers.Serializer):
    id = serializers.CharField()
    product_id = serializers.CharField()
    user_id = serializers.IntegerField()
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField()
    body = serializers.CharField()
    helpful_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ReviewCreateSerializer(serializers.Serializer):
    product_id = ObjectIdField()
    rating = StrictIntegerField(min_value=1, max_value=5)
    title = StrictCharField(min_length=1, max_length=200)
    body = StrictCharField(max_length=5000, allow_blank=True, required=False, default="")


class ReviewListQuerySerializer(serializers.Serializer):
    sort = serializers.ChoiceField(choices=list(REVIEW_SORTS), required=False, default="recent")


class WishlistItemSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    added_at = serializers.DateTimeField()


class WishlistSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    items = WishlistItemSerializer(many=True)


class WishlistItemAddSerializer(serializers.Serializer):
    product_id = ObjectIdField()
