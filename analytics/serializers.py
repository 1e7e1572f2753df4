"""Query and answer shapes of the analytics endpoints. `from` is a Python keyword, so the
serializers with a `from` field are built with type()."""

from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from analytics.selectors import GROUPS
from ecommerce.api.fields import MoneyField, ObjectIdField

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _date():
    return serializers.DateField(required=False, input_formats=["%Y-%m-%d"])


class _RangeValidation(serializers.Serializer):
    def validate(self, attrs):
        date_to = attrs.get("to") or timezone.now().date()
        # Never before date.min: `?to=0001-01-01` alone is a range of one day, not an overflow.
        date_from = attrs.get("from") or date_to - timedelta(days=min(DEFAULT_DAYS - 1, (date_to - date.min).days))
        if date_from > date_to:
            raise serializers.ValidationError({"from": ["Must not be after `to`."]})
        if (date_to - date_from).days + 1 > MAX_DAYS:
            raise serializers.ValidationError({"from": [f"The range may span at most {MAX_DAYS} days."]})
        return {**attrs, "from": date_from, "to": date_to}


RangeQuerySerializer = type(
    "RangeQuerySerializer",
    (_RangeValidation,),
    {
        "__doc__": "`?from=&to=` (YYYY-MM-DD, inclusive); default the last 30 days up to today (UTC).",
        "from": _date(),
        "to": _date(),
    },
)


class SalesQuerySerializer(RangeQuerySerializer):
    product_id = ObjectIdField(required=False)


class PopularQuerySerializer(RangeQuerySerializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    group = serializers.ChoiceField(choices=GROUPS, required=False, default="product")


class SalesPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    orders = serializers.IntegerField()
    units = serializers.IntegerField()
    revenue = MoneyField()


SalesSeriesSerializer = type(
    "SalesSeriesSerializer",
    (serializers.Serializer,),
    {"from": serializers.DateField(), "to": serializers.DateField(), "series": SalesPointSerializer(many=True)},
)


class PopularProductSerializer(serializers.Serializer):
    product_id = serializers.CharField()
    name = serializers.CharField()
    units = serializers.IntegerField()
    revenue = MoneyField()


class PopularProductsSerializer(serializers.Serializer):
    results = PopularProductSerializer(many=True)


class _Currency(serializers.Serializer):
    def to_representation(self, instance):
        return {**super().to_representation(instance), "currency": settings.STORE_CURRENCY}


RevenueSerializer = type(
    "RevenueSerializer",
    (_Currency,),
    {
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "orders": serializers.IntegerField(),
        "gross": MoneyField(),
        "cancelled": MoneyField(),
        "net": MoneyField(),
        "average_order_value": MoneyField(),
        "currency": serializers.CharField(read_only=True),
    },
)
