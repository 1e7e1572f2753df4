"""Helpers for the payment tests: orders placed through the API, signed webhooks."""

import json
import time

from orders.tests.factories import order_body, product
from payments.providers.simulated import signature_header

WEBHOOK_SECRET = "test-webhook-secret-for-payments"
STRIPE_WEBHOOK_SECRET = "whsec_test_payments"


def place_order(client, *, price: str = "25.00", quantity: int = 1, stock: int = 10):
    """A pending order of one product, placed through POST /api/orders: (order body, product)."""
    item = product(price=price, stock=stock)
    response = client.post("/api/orders", order_body((item, quantity)), format="json")
    assert response.status_code == 201, response.content
    return response.json(), item


def event(payment: dict, kind: str, *, event_id: str | None = None, amount: str | None = None, refund=None) -> bytes:
    """A test-provider event body (`kind`: payment.captured, refund.succeeded, ...)."""
    data = {"payment": payment["provider_reference"], "amount": amount or payment["amount"]}
    if refund is not None:
        data["refund"] = str(refund)
    body = {"id": event_id or f"evt_{kind}_{payment['id']}", "type": kind, "data": data}
    return json.dumps(body).encode()


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, age: int = 0) -> dict:
    return {"Payment-Signature": signature_header(body=body, secret=secret, timestamp=int(time.time()) - age)}
