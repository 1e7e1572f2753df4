"""Payments through HTTP on the real stores, one request at a time: the test provider's
payments, its signed webhooks, refunds, cancellations, and the money check."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orders.models import Order
from orders.tests.factories import reservations, stock
from payments.models import IdempotencyKey, Payment, Refund, WebhookEvent
from payments.selectors import money_check
from payments.tests.factories import event, place_order, signed

pytestmark = pytest.mark.django_db(databases="__all__")

WEBHOOK = "/api/payments/webhooks/test"


def pay(client, order: dict, **headers) -> dict:
    response = client.post(f"/api/orders/{order['id']}/payments", {}, format="json", headers=headers)
    assert response.status_code == 201, response.content
    return response.json()


def deliver(client, body: bytes, headers: dict):
    return client.post(WEBHOOK, body, content_type="application/json", headers=headers)


def capture(client, payment: dict, **kwargs):
    body = event(payment, "payment.captured", **kwargs)
    response = deliver(client, body, signed(body))
    assert response.status_code == 200, response.content
    return response.json()


def test_a_signed_capture_marks_the_order_paid(customer_client, anon_client):
    order, _ = place_order(customer_client, price="25.00", quantity=2)

    payment = pay(customer_client, order)
    ack = capture(anon_client, payment)

    assert payment["status"] == "requires_confirmation" and payment["amount"] == "50.00"
    assert payment["provider"] == "test" and payment["provider_reference"] == f"tp_{order['id']}_{payment['id']}"
    assert payment["client_secret"].startswith(payment["provider_reference"] + "_secret_")
    assert ack == {
        "received": True,
        "event_id": f"evt_payment.captured_{payment['id']}",
        "applied": True,
        "replayed": False,
    }
    assert Order.objects.get(pk=order["id"]).status == "paid"
    stored = Payment.objects.get()
    assert (stored.status, stored.captured, stored.refunded) == ("captured", Decimal("50.00"), Decimal("0"))
    listed = customer_client.get(f"/api/orders/{order['id']}/payments").json()
    assert [(p["id"], p["status"], p["captured"], p["refunds"]) for p in listed] == [
        (payment["id"], "captured", "50.00", [])
    ]


def test_a_repeated_event_changes_nothing(customer_client, anon_client):
    order, _ = place_order(customer_client)
    payment = pay(customer_client, order)
    capture(anon_client, payment)

    again = capture(anon_client, payment)

    assert (again["applied"], again["replayed"]) == (False, True)
    assert WebhookEvent.objects.count() == 1
    assert Payment.objects.get().captured == Decimal("25.00")


def _bad_signature(body):
    return body, signed(body, secret="not-the-secret")


def _stale(body):
    return body, signed(body, age=301)


def _altered(body):
    return body.replace(b'"25.00"', b'"2.50"'), signed(body)


def _missing(body):
    return body, {}


def _malformed(body):
    return body, {"Payment-Signature": "v1=abc"}


@pytest.mark.parametrize("tamper", [_bad_signature, _stale, _altered, _missing, _malformed])
def test_a_webhook_not_signed_recently_for_this_body_is_400_and_changes_nothing(customer_client, anon_client, tamper):
    order, _ = place_order(customer_client)
    payment = pay(customer_client, order)
    body, headers = tamper(event(payment, "payment.captured"))

    response = deliver(anon_client, body, headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert WebhookEvent.objects.count() == 0
    assert Payment.objects.get().captured == 0 and Payment.objects.get().status == "requires_confirmation"
    assert Order.objects.get(pk=order["id"]).status == "pending"


def test_a_capture_before_its_authorization_ends_captured(customer_client, anon_client):
    order, _ = place_order(customer_client)
    payment = pay(customer_client, order)
    capture(anon_client, payment)

    body = event(payment, "payment.authorized")
    late = deliver(anon_client, body, signed(body)).json()
    body = event(payment, "payment.failed")
    failed = deliver(anon_client, body, signed(body)).json()

    assert (late["applied"], failed["applied"]) == (False, False)
    assert Payment.objects.get().status == "captured"
    assert Order.objects.get(pk=order["id"]).status == "paid"
    assert WebhookEvent.objects.count() == 3


def test_a_partial_capture_leaves_the_order_pending_until_the_whole_amount(customer_client, anon_client):
    order, _ = place_order(customer_client, price="40.00")
    payment = pay(customer_client, order)

    capture(anon_client, payment, event_id="evt_part", amount="10.00")
    assert Order.objects.get(pk=order["id"]).status == "pending"
    capture(anon_client, payment, event_id="evt_whole", amount="40.00")

    assert Order.objects.get(pk=order["id"]).status == "paid"
    assert Payment.objects.get().captured == Decimal("40.00")
    body = event(payment, "payment.captured", event_id="evt_more", amount="40.01")
    assert deliver(anon_client, body, signed(body)).status_code == 400


def test_a_payment_only_for_a_pending_order_and_one_at_a_time(customer_client, anon_client, staff_client):
    order, _ = place_order(customer_client)
    first = pay(customer_client, order)

    second = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json")
    assert (second.status_code, second.json()["error"]["code"]) == (409, "conflict")

    body = event(first, "payment.failed")
    deliver(anon_client, body, signed(body))
    retry = pay(customer_client, order)
    capture(anon_client, retry)
    paid = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json")

    assert (paid.status_code, paid.json()["error"]["code"]) == (409, "invalid_transition")
    assert list(Payment.objects.order_by("id").values_list("status", flat=True)) == ["failed", "captured"]


def test_another_customer_sees_no_payments_and_cannot_pay(customer_client, other_client):
    order, _ = place_order(customer_client)
    pay(customer_client, order)

    assert other_client.get(f"/api/orders/{order['id']}/payments").status_code == 404
    assert other_client.post(f"/api/orders/{order['id']}/payments", {}, format="json").status_code == 404
    assert Payment.objects.count() == 1


def test_an_unconfigured_provider_is_refused(customer_client, anon_client, settings):
    order, _ = place_order(customer_client)
    stripe = customer_client.post(f"/api/orders/{order['id']}/payments", {"provider": "stripe"}, format="json")
    settings.PAYMENTS_TEST_PROVIDER = False
    none = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json")
    body = b'{"id": "evt_1"}'
    webhook = deliver(anon_client, body, signed(body))

    assert (stripe.status_code, none.status_code, webhook.status_code) == (400, 400, 404)
    assert Payment.objects.count() == 0


def test_payment_creation_replays_with_its_idempotency_key(customer_client):
    order, _ = place_order(customer_client)

    first = customer_client.post(
        f"/api/orders/{order['id']}/payments", {}, format="json", headers={"Idempotency-Key": "pay-1"}
    )
    again = customer_client.post(
        f"/api/orders/{order['id']}/payments", {}, format="json", headers={"Idempotency-Key": "pay-1"}
    )
    second, _ = place_order(customer_client)
    other = customer_client.post(
        f"/api/orders/{second['id']}/payments", {}, format="json", headers={"Idempotency-Key": "pay-1"}
    )

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")
    assert Payment.objects.count() == 1 and IdempotencyKey.objects.get().status == "completed"


def test_refunds_never_exceed_what_was_captured(customer_client, anon_client, staff_client):
    order, _ = place_order(customer_client, price="100.00")
    payment = pay(customer_client, order)
    capture(anon_client, payment)
    url = f"/api/payments/{payment['id']}/refunds"

    part = staff_client.post(url, {"amount": "30.00", "reason": "damaged"}, format="json")
    too_much = staff_client.post(url, {"amount": "70.01"}, format="json")
    rest = staff_client.post(url, {}, format="json")
    nothing_left = staff_client.post(url, {}, format="json")

    assert part.status_code == 201
    assert {k: part.json()[k] for k in ("payment_id", "amount", "reason", "status")} == {
        "payment_id": payment["id"],
        "amount": "30.00",
        "reason": "damaged",
        "status": "succeeded",
    }
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (409, "refund_exceeds_captured")
    assert too_much.json()["error"]["details"] == {"requested": "70.01", "available": "70.00"}
    assert (rest.status_code, rest.json()["amount"]) == (201, "70.00")
    assert (nothing_left.status_code, nothing_left.json()["error"]["code"]) == (409, "refund_exceeds_captured")
    stored = Payment.objects.get()
    assert (stored.status, stored.refunded, stored.refund_reserved) == (
        "refunded",
        Decimal("100.00"),
        Decimal("100.00"),
    )
    assert Order.objects.get(pk=order["id"]).status == "paid"
    assert money_check() == []


def test_refunds_are_for_staff_and_replay_with_their_key(customer_client, anon_client, staff_client):
    order, _ = place_order(customer_client, price="50.00")
    payment = pay(customer_client, order)
    capture(anon_client, payment)
    url = f"/api/payments/{payment['id']}/refunds"

    refused = customer_client.post(url, {"amount": "5.00"}, format="json")
    first = staff_client.post(url, {"amount": "5.00"}, format="json", headers={"Idempotency-Key": "r-1"})
    again = staff_client.post(url, {"amount": "5.00"}, format="json", headers={"Idempotency-Key": "r-1"})

    assert refused.status_code == 403
    assert (first.status_code, again.status_code, again.json()["id"]) == (201, 201, first.json()["id"])
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1 and Payment.objects.get().refunded == Decimal("5.00")


def test_cancelling_a_paid_order_refunds_it_and_returns_the_stock_once(
    customer_client, anon_client, django_capture_on_commit_callbacks
):
    order, mug = place_order(customer_client, price="12.50", quantity=2, stock=10)
    payment = pay(customer_client, order)
    capture(anon_client, payment)
    assert stock(mug.id) == (8, 2)

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = customer_client.post(f"/api/orders/{order['id']}/cancel")
    again = customer_client.post(f"/api/orders/{order['id']}/cancel")

    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert again.status_code == 409
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.reason) == (Decimal("25.00"), "succeeded", "order_cancelled")
    assert Payment.objects.get().status == "refunded"
    assert stock(mug.id) == (10, 0)
    assert [r.status for r in reservations()] == ["released"]
    timeline = customer_client.get(f"/api/orders/{order['id']}/events").json()["results"]
    assert [e["type"] for e in timeline] == [
        "order.created",
        "order.paid",
        "payment.captured",
        "order.cancelled",
        "refund.succeeded",
    ]
    assert timeline[-1]["data"]["amount"] == "25.00" and timeline[2]["data"]["captured"] == "25.00"
    assert money_check() == []


def test_cancelling_an_unpaid_order_cancels_its_payment(customer_client):
    order, _ = place_order(customer_client)
    pay(customer_client, order)

    customer_client.post(f"/api/orders/{order['id']}/cancel")

    assert Payment.objects.get().status == "cancelled" and Refund.objects.count() == 0


def test_a_capture_for_an_order_cancelled_meanwhile_is_refunded_at_once(
    customer_client, anon_client, django_capture_on_commit_callbacks
):
    order, _ = place_order(customer_client, price="30.00")
    payment = pay(customer_client, order)
    customer_client.post(f"/api/orders/{order['id']}/cancel")

    with django_capture_on_commit_callbacks(execute=True):
        ack = capture(anon_client, payment)

    assert ack["applied"] is True
    assert Order.objects.get(pk=order["id"]).status == "cancelled"
    stored = Payment.objects.get()
    assert (stored.captured, stored.refunded, stored.status) == (Decimal("30.00"), Decimal("30.00"), "refunded")
    assert Refund.objects.get().reason == "order_not_awaiting_payment"
    assert money_check() == []


def test_simulate_sends_the_test_providers_signed_webhook(customer_client, staff_client):
    order, _ = place_order(customer_client)
    payment = pay(customer_client, order)
    url = f"/api/payments/{payment['id']}/simulate"

    refused = customer_client.post(url, {"event": "captured"}, format="json")
    authorized = staff_client.post(url, {"event": "authorized"}, format="json")
    captured = staff_client.post(url, {"event": "captured"}, format="json")
    repeated = staff_client.post(url, {"event": "captured"}, format="json")
    unknown = staff_client.post(url, {"event": "refunded"}, format="json")

    assert refused.status_code == 403 and unknown.status_code == 400
    assert (authorized.json()["status"], captured.json()["status"], repeated.json()["status"]) == (
        "authorized",
        "captured",
        "captured",
    )
    assert sorted(WebhookEvent.objects.values_list("type", "applied")) == [
        ("payment.authorized", True),
        ("payment.captured", True),
    ]
    assert Order.objects.get(pk=order["id"]).status == "paid"


def test_the_money_check_passes_on_sound_books_and_fails_on_broken_ones(
    customer_client, anon_client, staff_client, django_capture_on_commit_callbacks
):
    for price in ("10.00", "20.00", "30.00"):
        order, _ = place_order(customer_client, price=price)
        payment = pay(customer_client, order)
        capture(anon_client, payment)
    staff_client.post(f"/api/payments/{payment['id']}/refunds", {"amount": "5.00"}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/api/orders/{order['id']}/cancel")

    call_command("reconcile_payments", "--check")
    assert money_check() == []

    # A capture that did not mark its order paid: the order holds money it should not.
    Order.objects.filter(pk=order["id"]).update(status="pending")
    Payment.objects.filter(order_id=order["id"]).update(refund_reserved=0, refunded=0, status="captured")
    with pytest.raises(CommandError, match="does not balance"):
        call_command("reconcile_payments", "--check")
    kinds = sorted(m["kind"] for m in money_check())
    assert kinds == ["ledger", "order_money"]


def test_reconcile_asks_again_only_for_refunds_the_provider_never_answered(customer_client, anon_client):
    order, _ = place_order(customer_client)
    payment = pay(customer_client, order)
    capture(anon_client, payment)
    stored = Payment.objects.get()
    Payment.objects.filter(pk=stored.pk).update(refund_reserved=Decimal("15.00"))
    ten_minutes_ago = timezone.now() - timedelta(minutes=10)
    unanswered = Refund.objects.create(payment=stored, amount=Decimal("5.00"), created_at=ten_minutes_ago)
    acknowledged = Refund.objects.create(
        payment=stored, amount=Decimal("5.00"), provider_reference="tr_ack", created_at=ten_minutes_ago
    )
    # Past the provider's idempotency window: asking again could refund twice.
    too_old = Refund.objects.create(
        payment=stored, amount=Decimal("5.00"), created_at=timezone.now() - timedelta(hours=30)
    )

    assert [m["refund_id"] for m in money_check()] == [unanswered.pk, acknowledged.pk, too_old.pk]
    call_command("reconcile_payments")

    statuses = dict(Refund.objects.values_list("pk", "status"))
    assert statuses == {unanswered.pk: "succeeded", acknowledged.pk: "pending", too_old.pk: "pending"}
    assert Payment.objects.get().refunded == Decimal("5.00")
    assert [m["refund_id"] for m in money_check()] == [acknowledged.pk, too_old.pk]
