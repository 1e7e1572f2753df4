"""Catalog input validation and output shapes (shared/API.md). No database access here:
what needs the stores (a taken SKU or slug, an unknown category) is the services' job."""

import math
import re
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from catalog.selectors import PRODUCT_SORT_KEYS
from ecommerce.api.fields import ObjectIdField, StrictCharField
from ecommerce.stores import mongo

NAME_MAX = 200
DESCRIPTION_MAX = 5000
SKU_MAX = 64
TAG_MAX = 50
TAGS_MAX = 20
IMAGES_MAX = 20
URL_MAX = 2000
ATTRIBUTES_MAX = 50
ATTRIBUTE_KEY_MAX = 100
ATTRIBUTE_VALUE_MAX = 1000
MAX_PRICE = Decimal("1000000")
MAX_STOCK = 1_000_000
SEARCH_MAX = 100
OPTION_NAME_MAX = 50
OPTION_VALUE_MAX = 50
MAX_OPTIONS = 3
# A JSON number both Python and every JSON client read back exactly.
SAFE_INTEGER = 2**53 - 1
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class PriceField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=9,
            decimal_places=2,
            min_value=Decimal("0.01"),
            max_value=MAX_PRICE,
            error_messages={"min_value": "Must be greater than 0.", "max_value": "Must be at most 1000000.00."},
            **kwargs,
        )


class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, **kwargs)


class AttributesField(serializers.JSONField):
    """A flat JSON object: at most 50 keys of up to 100 characters (no `.`, no leading `$`:
    MongoDB field names), each value a string (<= 1000), number, boolean or null."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        if len(data) > ATTRIBUTES_MAX:
            raise serializers.ValidationError(f"At most {ATTRIBUTES_MAX} attributes.")
        for key, value in data.items():
            if not key or len(key) > ATTRIBUTE_KEY_MAX or "." in key or key.startswith("$") or "\x00" in key:
                raise serializers.ValidationError(
                    f"Keys are 1..{ATTRIBUTE_KEY_MAX} characters, without '.', a leading '$' or NUL."
                )
            if not _is_flat_value(value):
                raise serializers.ValidationError(
                    f"'{key[:ATTRIBUTE_KEY_MAX]}': values are strings (<= {ATTRIBUTE_VALUE_MAX} characters), "
                    "numbers, booleans or null; no nested objects or lists."
                )
        return dict(data)


class OptionsField(serializers.DictField):
    """A variant's options: `{"Size": "M", "Colour": "Red"}`, one non-blank value (up to 50
    characters) per option name of its parent."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(max_length=OPTION_VALUE_MAX), **kwargs)

    def to_internal_value(self, data):
        options = super().to_internal_value(data)
        if not 1 <= len(options) <= MAX_OPTIONS:
            raise serializers.ValidationError(f"Give 1 to {MAX_OPTIONS} options.")
        for name in options:
            if not name.strip() or len(name) > OPTION_NAME_MAX or "\x00" in name:
                raise serializers.ValidationError(f"Option names are 1..{OPTION_NAME_MAX} characters.")
        return {name.strip(): value for name, value in options.items()}


def _is_flat_value(value) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, str):
        return len(value) <= ATTRIBUTE_VALUE_MAX and "\x00" not in value
    if isinstance(value, int):
        return -SAFE_INTEGER <= value <= SAFE_INTEGER
    if isinstance(value, float):
        return math.isfinite(value)
    return False


class PartialMixin:
    """Every field optional, so the schema of PUT/PATCH says what they accept: only the
    fields sent change (use with `partial=True`)."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields


def _tags(value: list[str]) -> list[str]:
    """Trimmed (by the child field), duplicates dropped, order kept."""
    return list(dict.fromkeys(value))


# --- Categories -------------------------------------------------------------------------


class CategorySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CategoryInputSerializer(serializers.Serializer):
    """The POST body."""

    name = StrictCharField(max_length=NAME_MAX)
    slug = StrictCharField(
        max_length=NAME_MAX,
        required=False,
        help_text=(
            "Lower-case letters, digits and hyphens. When absent it derives from the name, "
            "suffixed -2, -3, ... if that slug is taken; a taken explicit slug is a 409."
        ),
    )
    description = StrictCharField(max_length=DESCRIPTION_MAX, allow_blank=True, required=False)
    parent_id = ObjectIdField(allow_null=True, required=False, help_text="null for a top-level category.")

    def validate_slug(self, value: str) -> str:
        if not SLUG.match(value):
            raise serializers.ValidationError("Use lower-case letters, digits and single hyphens.")
        if mongo.is_object_id(value):
            raise serializers.ValidationError("A slug cannot look like an id (24 hex digits).")
        return value


class CategoryUpdateSerializer(PartialMixin, CategoryInputSerializer):
    """The PUT/PATCH body: any of the fields, only those sent change."""


class CategoryListParamsSerializer(serializers.Serializer):
    parent_id = StrictCharField(
        required=False, help_text="Children of this category; `null` for top-level categories only."
    )

    def validate_parent_id(self, value: str) -> str:
        if value != "null" and not mongo.is_object_id(value):
            raise serializers.ValidationError("Must be a 24-hex-digit id or `null`.")
        return value.lower()


# --- Products ---------------------------------------------------------------------------


class ProductRatingSerializer(serializers.Serializer):
    average = MoneyField(source="rating_average", help_text='Two decimal places, "0.00" without reviews.')
    count = serializers.IntegerField(source="rating_count")


class VariantSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField(allow_null=True)
    options = serializers.DictField(child=serializers.CharField())
    price = MoneyField()
    is_active = serializers.BooleanField()
    in_stock = serializers.BooleanField(help_text="Units of this variant are available to buy.")


class ProductSerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=["standalone", "parent", "variant"],
        help_text="standalone (bought as it is), parent (a group of variants, never bought) or variant.",
    )
    parent_id = serializers.CharField(allow_null=True, help_text="A variant's parent; null otherwise.")
    name = serializers.CharField()
    description = serializers.CharField()
    sku = serializers.CharField(allow_null=True)
    price = MoneyField(
        allow_null=True, help_text="A parent's is its cheapest active variant's (null when it has none)."
    )
    currency = serializers.SerializerMethodField()
    category_id = serializers.CharField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    images = serializers.ListField(child=serializers.CharField())
    attributes = serializers.DictField()
    is_active = serializers.BooleanField()
    option_names = serializers.ListField(child=serializers.CharField(), help_text="A parent's options; [] otherwise.")
    options = serializers.DictField(child=serializers.CharField(), help_text="A variant's option values; {} otherwise.")
    variants = VariantSummarySerializer(
        many=True, help_text="A parent's variants (customers see the active ones); [] otherwise."
    )
    rating = ProductRatingSerializer(source="*")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_currency(self, product) -> str:
        return settings.STORE_CURRENCY


class ProductInputSerializer(serializers.Serializer):
    """The fields a product's body may carry."""

    name = StrictCharField(max_length=NAME_MAX)
    description = StrictCharField(max_length=DESCRIPTION_MAX, allow_blank=True, required=False)
    sku = StrictCharField(max_length=SKU_MAX, allow_null=True, required=False, help_text="Unique when set.")
    price = PriceField(help_text="Greater than 0, at most two decimal places, at most 1000000.00.")
    category_id = ObjectIdField(allow_null=True, required=False)
    tags = serializers.ListField(
        child=StrictCharField(max_length=TAG_MAX), max_length=TAGS_MAX, required=False, help_text="Up to 20 tags."
    )
    images = serializers.ListField(
        child=serializers.URLField(max_length=URL_MAX), max_length=IMAGES_MAX, required=False
    )
    attributes = AttributesField(required=False, help_text="A flat object of strings, numbers, booleans or null.")
    is_active = serializers.BooleanField(required=False)

    def validate_tags(self, value):
        return _tags(value)


class ProductUpdateSerializer(PartialMixin, ProductInputSerializer):
    """The PUT/PATCH body: any of the fields, only those sent change (`initial_stock` is not one:
    stock moves through /api/inventory). A parent's price and a variant's category and tags
    are derived (400); a variant's `options` may change to an unused combination (409)."""

    options = OptionsField(required=False, help_text="A variant's option values (variants only).")


class ProductCreateSerializer(ProductInputSerializer):
    """The POST body: a standalone product (with `price`), or a parent (with `option_names`,
    without price, sku or initial_stock)."""

    price = PriceField(required=False, help_text="Required for a standalone product; a parent has none.")
    initial_stock = serializers.IntegerField(
        min_value=0, max_value=MAX_STOCK, required=False, help_text="Units in stock at creation (default 0)."
    )
    option_names = serializers.ListField(
        child=StrictCharField(max_length=OPTION_NAME_MAX),
        min_length=1,
        max_length=MAX_OPTIONS,
        required=False,
        help_text='Makes a parent: 1 to 3 different option names, e.g. ["Size", "Colour"].',
    )

    def get_fields(self):
        # `price` is required unless the body makes a parent: reported with the other missing fields.
        fields = super().get_fields()
        data = getattr(self, "initial_data", None)
        if isinstance(data, Mapping) and data.get("option_names") is None:
            fields["price"].required = True
        return fields


class VariantCreateSerializer(serializers.Serializer):
    """The body of POST /api/products/{parent_id}/variants."""

    sku = StrictCharField(max_length=SKU_MAX, help_text="Unique among all products.")
    options = OptionsField(help_text='One value for each of the parent\'s option names, e.g. {"Size": "M"}.')
    price = PriceField(help_text="Greater than 0, at most two decimal places, at most 1000000.00.")
    initial_stock = serializers.IntegerField(
        min_value=0, max_value=MAX_STOCK, required=False, help_text="Units in stock at creation (default 0)."
    )
    name = StrictCharField(max_length=NAME_MAX, required=False, help_text="Default: the parent's name and the options.")
    description = StrictCharField(
        max_length=DESCRIPTION_MAX, allow_blank=True, required=False, help_text="Default: the parent's."
    )
    images = serializers.ListField(
        child=serializers.URLField(max_length=URL_MAX),
        max_length=IMAGES_MAX,
        required=False,
        help_text="Default: the parent's.",
    )
    attributes = AttributesField(required=False, help_text="A flat object of strings, numbers, booleans or null.")
    is_active = serializers.BooleanField(required=False)


class ProductCategoryFilterSerializer(serializers.Serializer):
    """Query parameters of the product listings (pass `query_params.dict()`, not the QueryDict:
    DRF reads a missing boolean in form data as False)."""

    min_price = MoneyField(min_value=Decimal("0"), required=False)
    max_price = MoneyField(min_value=Decimal("0"), required=False)
    tag = StrictCharField(max_length=TAG_MAX, required=False, help_text="Products carrying exactly this tag.")
    is_active = serializers.BooleanField(required=False, help_text="Staff only; others only ever see active products.")
    sort = serializers.ChoiceField(choices=list(PRODUCT_SORT_KEYS), default="-created_at", required=False)

    def validate(self, attrs):
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_price": ["Must not exceed max_price."]})
        return attrs


class ProductFilterSerializer(ProductCategoryFilterSerializer):
    category_id = ObjectIdField(required=False, help_text="Products of exactly this category.")


class ProductSearchParamsSerializer(ProductFilterSerializer):
    q = StrictCharField(max_length=SEARCH_MAX, help_text="Matched case-insensitively in name, description and tags.")
