import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from ecommerce.api.idempotency import hash_of_request
from ecommerce.routers import MYSQL
from orders.models import IdempotencyKey, Order
from orders.repairs import orders_reconcile
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def post(client, body, key):
    return client.post("/api/orders", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_repeat_answers_the_first_response_and_creates_nothing(customer_client, staff_client):
    mug = product(stock=10)
    first = post(customer_client, order_body((mug, 2)), "key-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first

    # The order moves on; the replay still answers what the first request got.
    staff_client.patch(f"/api/orders/{first.json()['id']}/status", {"status": "paid"}, format="json")
    again = post(customer_client, order_body((mug, 2)), "key-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1 and stock(mug.id) == (8, 2)
    key = IdempotencyKey.objects.get()
    assert (key.status, key.response_status, key.order_id) == ("completed", 201, first.json()["id"])


def test_the_same_key_with_another_body_is_a_conflict(customer_client):
    mug = product(stock=10)
    post(customer_client, order_body((mug, 2)), "key-1")
    response = post(customer_client, order_body((mug, 3)), "key-1")
    assert response.status_code == 409 and response.json()["error"]["code"] == "idempotency_conflict"
    assert Order.objects.count() == 1 and stock(mug.id) == (8, 2)


def test_keys_belong_to_one_user(customer_client, other_client):
    mug = product(stock=10)
    assert post(customer_client, order_body((mug, 1)), "shared").status_code == 201
    assert post(other_client, order_body((mug, 1)), "shared").status_code == 201
    assert Order.objects.count() == 2


def test_an_out_of_stock_answer_is_replayed_too(customer_client, staff_client):
    mug = product(stock=1)
    first = post(customer_client, order_body((mug, 2)), "key-1")
    assert first.status_code == 409
    staff_client.post(f"/api/inventory/{mug.id}/restock", {"quantity": 5}, format="json")

    again = post(customer_client, order_body((mug, 2)), "key-1")
    assert again.status_code == 409 and again.json() == first.json()
    assert not Order.objects.exists() and stock(mug.id) == (6, 0)
    # A new key places it.
    assert post(customer_client, order_body((mug, 2)), "key-2").status_code == 201


def test_an_expired_key_is_ignored_and_cleaned(customer_client):
    mug = product(stock=10)
    post(customer_client, order_body((mug, 1)), "old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))

    assert post(customer_client, order_body((mug, 3)), "old").status_code == 201
    assert Order.objects.count() == 2 and IdempotencyKey.objects.count() == 1

    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert orders_reconcile(grace_seconds=0).keys_removed == 1
    assert not IdempotencyKey.objects.exists()


def test_an_abandoned_in_progress_key_is_removed_by_reconcile(customer, customer_client):
    IdempotencyKey.objects.create(user=customer, key="crashed", request_hash="x")
    assert orders_reconcile(grace_seconds=300).keys_removed == 0
    assert orders_reconcile(grace_seconds=0).keys_removed == 1
    assert post(customer_client, order_body((product(), 1)), "crashed").status_code == 201


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
def test_bad_keys_are_400(customer_client, key):
    mug = product()
    response = post(customer_client, order_body((mug, 1)), key)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["details"]
    assert stock(mug.id) == (10, 0)


def test_a_255_character_key_is_fine(customer_client):
    assert post(customer_client, order_body((product(), 1)), "k" * 255).status_code == 201


def test_a_late_first_attempt_cannot_undo_the_order_its_retry_completed(customer, customer_client):
    """The first attempt outlived its lease; its retry took the key over and completed the
    order from the first attempt's reservation. When the first attempt finally writes, it is
    fenced off (the key is no longer its) and leaves the reservation to the order that has it."""
    from orders import services

    mug = product(stock=5)
    body = order_body((mug, 2))
    reference = uuid.uuid4()
    items = services._priced_items(items=body["items"])
    services.order_reserve_stock(reference=reference, items=items, sales_date=timezone.now().date())
    key = IdempotencyKey.objects.create(
        user=customer,
        key="slow",
        request_hash=hash_of_request(
            user_id=customer.pk, items=body["items"], from_cart=False, shipping_address=body["shipping_address"]
        ),
        reference=reference,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    first_attempt = services._Attempt(key_id=key.pk, key="slow", number=1, reference=reference)

    retry = post(customer_client, body, "slow")
    assert retry.status_code == 201
    with pytest.raises(IntegrityError):  # the order's reference is taken: by its retry
        services._write_order(
            reference=reference,
            attempt=first_attempt,
            owner=customer,
            items=items,
            shipping_address=body["shipping_address"],
            placed_at=timezone.now(),
        )

    assert Order.objects.get().reference == reference
    assert stock(mug.id) == (3, 2) and [r.status for r in reservations()] == ["reserved"]
    assert stock_invariant_check() == []


def test_a_reservation_made_before_names_were_kept_completes_with_the_catalog_name(customer, customer_client):
    from inventory.models import StockReservation
    from orders import services

    mug = product(name="Mug", stock=5)
    body = order_body((mug, 1))
    reference = uuid.uuid4()
    items = services._priced_items(items=body["items"])
    services.order_reserve_stock(reference=reference, items=items, sales_date=timezone.now().date())
    StockReservation.objects.using(MYSQL).update(name="")
    IdempotencyKey.objects.create(
        user=customer,
        key="old",
        request_hash=hash_of_request(
            user_id=customer.pk, items=body["items"], from_cart=False, shipping_address=body["shipping_address"]
        ),
        reference=reference,
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    retry = post(customer_client, body, "old")

    assert retry.status_code == 201 and [item["name"] for item in retry.json()["items"]] == ["Mug"]
    assert Order.objects.get().reference == reference and stock(mug.id) == (4, 1)
