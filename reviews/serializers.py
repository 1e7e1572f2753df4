from rest_framework import serializers

from ecommerce.api.fields import ObjectIdField, StrictCharField, StrictIntegerField
from reviews.selectors import REVIEW_SORT_KEYS


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
    sort = serializers.ChoiceField(
        choices=list(REVIEW_SORT_KEYS),
        required=False,
        default="recent",
        help_text="`recent` (newest first, the default), `helpful`, `rating` or `-rating`.",
    )


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
