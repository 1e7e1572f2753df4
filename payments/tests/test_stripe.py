"""The stripe provider through the official library, pointed at a local stand-in of the API
(payments/tests/stripe_stub.py): what it sends Stripe, how it reads Stripe's answers, and the
webhooks verified by stripe.Webhook.construct_event. Stripe itself is not reachable here."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.db import connections

from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Order
from payments.models import Payment, Refund, WebhookEvent
from payments.selectors import money_check
from payments.tests.factories import STRIPE_WEBHOOK_SECRET, place_order

pytestmark = pytest.mark.django_db(databases="__all__")

WEBHOOK = "/api/payments/webhooks/stripe"


def stripe_event(event_type: str, obj: dict, *, event_id: str = "evt_stripe_1") -> bytes:
    body = {"id": event_id, "object": "event", "type": event_type, "api_version": "2025-01-27", "data": {"object": obj}}
    return json.dumps(body).encode()


def stripe_signature(body: bytes, *, secret: str = STRIPE_WEBHOOK_SECRET, age: int = 0) -> dict:
    """Stripe's scheme, computed here independently of the library that verifies it."""
    timestamp = int(time.time()) - age
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={mac}"}


def deliver(client, body: bytes, headers: dict):
    return client.post(WEBHOOK, body, content_type="application/json", headers=headers)


def stripe_payment(client, order: dict) -> dict:
    response = client.post(f"/api/orders/{order['id']}/payments", {"provider": "stripe"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def succeeded(payment: dict, amount_received: int, **kwargs) -> bytes:
    intent = {"id": payment["provider_reference"], "object": "payment_intent", "currency": "usd"}
    return stripe_event("payment_intent.succeeded", {**intent, "amount_received": amount_received}, **kwargs)


def test_a_payment_opens_a_payment_intent_in_cents_with_an_idempotency_key(stripe_stub, customer_client):
    order, _ = place_order(customer_client, price="12.34", quantity=2)

    payment = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json").json()

    # With stripe configured it is the default provider.
    assert (payment["provider"], payment["provider_reference"]) == ("stripe", "pi_1")
    assert payment["client_secret"] == "pi_1_secret_stub"
    [call] = stripe_stub.calls("/v1/payment_intents")
    assert call.form == {
        "amount": "2468",
        "currency": "usd",
        "metadata[order_id]": str(order["id"]),
        "metadata[payment_id]": str(payment["id"]),
    }
    assert call.headers["Idempotency-Key"] == f"payment-{Payment.objects.get().uid}"
    assert call.headers["Authorization"] == "Bearer sk_test_not-a-secret"


def test_a_signed_payment_intent_succeeded_marks_the_order_paid(stripe_stub, customer_client, anon_client):
    order, _ = place_order(customer_client, price="12.34", quantity=2)
    payment = stripe_payment(customer_client, order)
    body = succeeded(payment, 2468)

    first = deliver(anon_client, body, stripe_signature(body))
    again = deliver(anon_client, body, stripe_signature(body))

    assert (first.status_code, first.json()["applied"], again.json()["replayed"]) == (200, True, True)
    stored = Payment.objects.get()
    assert (stored.status, stored.captured) == ("captured", Decimal("24.68"))
    assert Order.objects.get(pk=order["id"]).status == "paid"


@pytest.mark.parametrize(
    "headers",
    [
        lambda body: stripe_signature(body, secret="whsec_wrong"),
        lambda body: stripe_signature(body, age=301),
        lambda body: stripe_signature(body.replace(b"2468", b"100")),
        lambda body: {},
        # The test provider's header is not Stripe's.
        lambda body: {"Payment-Signature": stripe_signature(body)["Stripe-Signature"]},
    ],
    ids=["wrong-secret", "stale", "altered-body", "missing", "other-header"],
)
def test_a_stripe_webhook_not_signed_for_this_body_is_400(stripe_stub, customer_client, anon_client, headers):
    order, _ = place_order(customer_client, price="12.34", quantity=2)
    payment = stripe_payment(customer_client, order)
    body = succeeded(payment, 2468)

    response = deliver(anon_client, body, headers(body))

    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")
    assert WebhookEvent.objects.count() == 0 and Payment.objects.get().captured == 0
    assert Order.objects.get(pk=order["id"]).status == "pending"


def test_an_event_the_ledger_does_not_use_is_acknowledged(stripe_stub, anon_client):
    body = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})

    response = deliver(anon_client, body, stripe_signature(body))

    assert response.json() == {"received": True, "event_id": "evt_stripe_1", "applied": False, "replayed": False}
    assert WebhookEvent.objects.count() == 0


def test_a_refund_goes_to_stripe_in_cents_and_a_refusal_releases_it(
    stripe_stub, customer_client, anon_client, staff_client
):
    order, _ = place_order(customer_client, price="50.00")
    payment = stripe_payment(customer_client, order)
    body = succeeded(payment, 5000)
    deliver(anon_client, body, stripe_signature(body))
    url = f"/api/payments/{payment['id']}/refunds"

    stripe_stub.refund_mode = "refuse"
    refused = staff_client.post(url, {"amount": "20.00"}, format="json")
    after_refusal = Payment.objects.get()
    stripe_stub.refund_mode = "succeeded"
    accepted = staff_client.post(url, {"amount": "20.00"}, format="json")

    assert (refused.status_code, refused.json()["error"]["code"]) == (502, "payment_provider_error")
    assert after_refusal.refund_reserved == 0 and after_refusal.refunded == 0
    assert (accepted.status_code, accepted.json()["status"]) == (201, "succeeded")
    assert list(Refund.objects.order_by("id").values_list("status", flat=True)) == ["failed", "succeeded"]
    calls = stripe_stub.calls("/v1/refunds")
    assert [c.form["amount"] for c in calls] == ["2000", "2000"]
    assert calls[1].form["payment_intent"] == payment["provider_reference"]
    assert calls[1].form["metadata[refund_id]"] == str(Refund.objects.get(status="succeeded").pk)
    assert calls[1].headers["Idempotency-Key"] == f"refund-{Refund.objects.get(status='succeeded').uid}"
    stored = Payment.objects.get()
    assert (stored.refunded, stored.refund_reserved, stored.status) == (
        Decimal("20.00"),
        Decimal("20.00"),
        "partially_refunded",
    )
    assert money_check() == []


def test_a_refund_with_no_answer_stays_reserved_until_stripe_says(
    stripe_stub, customer_client, anon_client, staff_client
):
    order, _ = place_order(customer_client, price="50.00")
    payment = stripe_payment(customer_client, order)
    body = succeeded(payment, 5000)
    deliver(anon_client, body, stripe_signature(body))
    stripe_stub.refund_mode = "fail"

    pending = staff_client.post(f"/api/payments/{payment['id']}/refunds", {}, format="json")
    # Nothing else may promise the reserved money meanwhile.
    more = staff_client.post(f"/api/payments/{payment['id']}/refunds", {"amount": "0.01"}, format="json")
    refund = Refund.objects.get()
    body = stripe_event(
        "refund.updated",
        {
            "id": "re_late",
            "object": "refund",
            "amount": 5000,
            "currency": "usd",
            "status": "succeeded",
            "payment_intent": payment["provider_reference"],
            "metadata": {"refund_id": str(refund.pk)},
        },
        event_id="evt_refund_1",
    )
    settled = deliver(anon_client, body, stripe_signature(body))

    assert (pending.status_code, pending.json()["status"]) == (201, "pending")
    assert more.status_code == 409
    assert settled.json()["applied"] is True
    refund.refresh_from_db()
    assert (refund.status, refund.provider_reference) == ("succeeded", "re_late")
    stored = Payment.objects.get()
    assert (stored.status, stored.refunded) == ("refunded", Decimal("50.00"))
    assert money_check() == []


def test_cancelling_an_order_cancels_its_payment_intent(
    stripe_stub, customer_client, django_capture_on_commit_callbacks
):
    order, _ = place_order(customer_client)
    payment = stripe_payment(customer_client, order)

    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/api/orders/{order['id']}/cancel")

    [call] = stripe_stub.calls(f"/v1/payment_intents/{payment['provider_reference']}/cancel")
    assert call.headers["Idempotency-Key"] == f"cancel-{Payment.objects.get().uid}"
    assert Payment.objects.get().status == "cancelled"


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_an_order_cancelled_while_stripe_opens_its_payment_ends_with_the_intent_cancelled(
    stripe_stub, customer, customer_client
):
    order, _ = place_order(customer_client)

    def cancel_meanwhile():
        order_services.order_cancel(order=order_selectors.order_get(order_id=order["id"]), actor=customer)
        connections.close_all()  # the stub's thread is done with the database

    stripe_stub.before_intent = cancel_meanwhile
    response = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json")

    assert (response.status_code, response.json()["status"]) == (201, "cancelled")
    [call] = stripe_stub.calls(f"/v1/payment_intents/{response.json()['provider_reference']}/cancel")
    assert call.headers["Idempotency-Key"] == f"cancel-{Payment.objects.get().uid}"
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
