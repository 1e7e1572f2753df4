"""JSON with orjson: rendering the same bytes DRF's JSONRenderer would send, faster, and
parsing request bodies strictly."""

import uuid
from decimal import Decimal

import orjson
from django.utils.functional import Promise
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
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


class OrjsonParser(JSONParser):
    """JSON bodies parsed by orjson, which refuses what no store can keep: lone surrogates
    ("\\ud800"), NaN and Infinity. Malformed input is the contract's 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
