import json
import uuid
from decimal import Decimal

from django.utils.translation import gettext_lazy

from ecommerce.api.renderers import OrjsonRenderer


def test_orjson_renders_what_the_api_sends():
    reference = uuid.uuid4()
    data = {
        "price": Decimal("19.99"),
        "name": "Crème brûlée ☕",
        "errors": {0: ["Too long."]},
        "message": gettext_lazy("Not found."),
        "reference": reference,
        "items": [1, 2.5, None, True],
    }

    rendered = json.loads(OrjsonRenderer().render(data))

    assert rendered == {
        "price": "19.99",
        "name": "Crème brûlée ☕",
        "errors": {"0": ["Too long."]},
        "message": "Not found.",
        "reference": str(reference),
        "items": [1, 2.5, None, True],
    }
    assert OrjsonRenderer().render(None) == b""
