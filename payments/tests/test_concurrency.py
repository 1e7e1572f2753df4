"""Races through the real server (gunicorn, 3 worker processes) with real HTTP from threads:
webhooks repeated at once, refunds racing for the same money, a cancellation racing a capture."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from ecommerce.testing.helpers import make_user
from orders.models import Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, stock
from payments.models import IdempotencyKey, Payment, Refund, WebhookEvent
from payments.selectors import money_check
from payments.tests.factories import event, signed

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def auth(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def race(calls: list):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def place(api, buyer, *, price: str, quantity: int = 1, stock_units: int = 10):
    item = product(price=price, stock=stock_units)
    response = requests.post(
        f"{api.url}/api/orders", json=order_body((item, quantity)), headers=auth(buyer), timeout=30
    )
    assert response.status_code == 201, response.text
    return response.json(), item


def post_webhook(api, body: bytes):
    headers = {**signed(body), "Content-Type": "application/json"}
    return requests.post(f"{api.url}/api/payments/webhooks/test", data=body, headers=headers, timeout=60)


def test_a_capture_sent_five_times_while_the_client_retries_pays_once(payments_api):
    buyer = make_user("buyer@example.com")
    order, _ = place(payments_api, buyer, price="19.99", quantity=3)
    url = f"{payments_api.url}/api/orders/{order['id']}/payments"
    headers = {**auth(buyer), "Idempotency-Key": "checkout-pay-1"}
    payment = requests.post(url, json={}, headers=headers, timeout=30).json()
    body = event(payment, "payment.captured")

    def create():
        response = requests.post(url, json={}, headers=headers, timeout=60)
        return "create", response.status_code, response.json()["id"]

    def deliver():
        response = post_webhook(payments_api, body)
        return "webhook", response.status_code, response.json()["applied"]

    results = race([deliver] * 5 + [create] * 5)

    assert Counter(results) == {
        ("webhook", 200, True): 1,
        ("webhook", 200, False): 4,
        ("create", 201, payment["id"]): 5,
    }
    assert Payment.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    stored = Payment.objects.get()
    assert (stored.status, stored.captured) == ("captured", Decimal("59.97"))
    assert list(WebhookEvent.objects.values_list("event_id", "applied")) == [
        (f"evt_payment.captured_{payment['id']}", True)
    ]
    assert Order.objects.get(pk=order["id"]).status == "paid"
    # One paid transition, one capture: the order's timeline as the API answers it.
    timeline = requests.get(f"{payments_api.url}/api/orders/{order['id']}/events", headers=auth(buyer), timeout=30)
    types = [e["type"] for e in timeline.json()["results"]]
    assert (types.count("order.paid"), types.count("payment.captured")) == (1, 1), types
    assert money_check() == []


def test_captures_with_five_different_event_ids_at_once_capture_once(payments_api):
    buyer = make_user("buyer@example.com")
    order, _ = place(payments_api, buyer, price="10.00")
    payment = requests.post(
        f"{payments_api.url}/api/orders/{order['id']}/payments", json={}, headers=auth(buyer), timeout=30
    ).json()
    bodies = [event(payment, "payment.captured", event_id=f"evt_retry_{i}") for i in range(5)]

    results = race([lambda b=b: post_webhook(payments_api, b).json()["applied"] for b in bodies])

    # Each delivery is recorded; only the first to take the payment's lock captured anything.
    assert sorted(results) == [False] * 4 + [True]
    assert WebhookEvent.objects.count() == 5 and WebhookEvent.objects.filter(applied=True).count() == 1
    assert Payment.objects.get().captured == Decimal("10.00")
    assert Order.objects.get(pk=order["id"]).status == "paid"


def test_two_refunds_of_sixty_racing_on_a_hundred_one_wins(payments_api):
    buyer, boss = make_user("buyer@example.com"), make_user("boss@example.com", staff=True)
    order, _ = place(payments_api, buyer, price="100.00")
    payment = requests.post(
        f"{payments_api.url}/api/orders/{order['id']}/payments", json={}, headers=auth(buyer), timeout=30
    ).json()
    post_webhook(payments_api, event(payment, "payment.captured"))
    url = f"{payments_api.url}/api/payments/{payment['id']}/refunds"

    def refund():
        response = requests.post(url, json={"amount": "60.00"}, headers=auth(boss), timeout=60)
        return response.status_code, response.json().get("error", {}).get("code")

    results = race([refund, refund])

    assert sorted(results) == [(201, None), (409, "refund_exceeds_captured")]
    stored = Payment.objects.get()
    assert (stored.refunded, stored.refund_reserved, stored.status) == (
        Decimal("60.00"),
        Decimal("60.00"),
        "partially_refunded",
    )
    assert list(Refund.objects.values_list("amount", "status")) == [(Decimal("60.00"), "succeeded")]
    assert money_check() == []


def test_a_cancel_racing_a_capture_ends_cancelled_with_the_money_back(payments_api):
    """Whichever comes first, the order ends cancelled, the capture refunded, the stock back once."""
    buyer = make_user("buyer@example.com")
    for round_ in range(4):
        order, item = place(payments_api, buyer, price="15.00", quantity=2, stock_units=5)
        payment = requests.post(
            f"{payments_api.url}/api/orders/{order['id']}/payments", json={}, headers=auth(buyer), timeout=30
        ).json()
        body = event(payment, "payment.captured")

        def cancel(order_id=order["id"]):
            return requests.post(f"{payments_api.url}/api/orders/{order_id}/cancel", headers=auth(buyer), timeout=60)

        cancelled, captured = race([cancel, lambda b=body: post_webhook(payments_api, b)])

        assert (cancelled.status_code, captured.status_code) == (200, 200), (round_, cancelled.text, captured.text)
        assert Order.objects.get(pk=order["id"]).status == "cancelled"
        # The refund is asked of the provider once the cancel (or the capture) committed,
        # before its answer: both answered, the money is back.
        stored = Payment.objects.get(pk=payment["id"])
        assert (stored.status, stored.captured, stored.refunded) == ("refunded", Decimal("30.00"), Decimal("30.00"))
        assert stock(item.id) == (5, 0)
    assert money_check() == [] and stock_invariant_check() == []
