"""Serializer fields every app's input shares."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ecommerce.api.schema import OBJECT_ID_SCHEMA
from ecommerce.stores import mongo


class StrictCharField(serializers.CharField):
    """A string, and only a string (DRF's CharField would turn 5 into "5")."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and only that (DRF's IntegerField would take "2", 2.0 and true)."""

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


@extend_schema_field(OBJECT_ID_SCHEMA)
class ObjectIdField(StrictCharField):
    """A MongoDB id (product, category, review) in a body or a query: 24 hex digits, stored
    lower-case; anything else is a 400 naming the field (in a path it would be a 404)."""

    default_error_messages = {"invalid_id": "Must be a 24-hex-digit id."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not mongo.is_object_id(value):
            self.fail("invalid_id")
        return value.lower()


class MoneyField(serializers.DecimalField):
    """An amount the API answers with: a decimal string with two places. Wide enough for
    every money column (the daily figures' are 18 digits), so rendering never overflows."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=20, decimal_places=2, **kwargs)
