"""An order as the API answers it, as plain JSON values: what OrderSerializer renders and
what an Idempotency-Key replays (stored by the services, which know nothing of DRF)."""

from datetime import UTC, datetime

from ecommerce.api.money import money_text
from orders.models import Order

# The shipping address's fields, in the order the API shows them (ShippingAddressSerializer).
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "postal_code", "country")


def _timestamp(moment: datetime) -> str:
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def order_representation(order: Order) -> dict:
    """The order's JSON; its lines come from `order.lines.all()` (prefetched by the callers)."""
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
                "sku": line.sku,
                "options": line.options,
                "unit_price": money_text(line.unit_price),
                "quantity": line.quantity,
                "line_total": money_text(line.line_total),
            }
            for line in order.lines.all()
        ],
        "total": money_text(order.total),
        "currency": order.currency,
        "shipping_address": {field: address[field] for field in ADDRESS_FIELDS if field in address},
        "created_at": _timestamp(order.created_at),
        "updated_at": _timestamp(order.updated_at),
    }
