"""Races through the real server (gunicorn, 3 worker processes), with real HTTP from threads."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from ecommerce.testing.helpers import make_user
from orders.models import IdempotencyKey, Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def auth(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def race(count: int, call) -> list:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def test_forty_buyers_of_ten_units_get_ten_orders_and_thirty_out_of_stock(live_api):
    mug = product(stock=10)
    buyers = [make_user(f"buyer{i}@example.com") for i in range(40)]

    def buy(i):
        response = requests.post(
            f"{live_api.url}/api/orders", json=order_body((mug, 1)), headers=auth(buyers[i]), timeout=60
        )
        return response.status_code, response.json().get("error", {}).get("code")

    results = Counter(race(40, buy))

    assert results == {(201, None): 10, (409, "out_of_stock"): 30}
    assert stock(mug.id) == (0, 10)
    assert Order.objects.count() == 10
    assert len({order.user_id for order in Order.objects.all()}) == 10
    assert stock_invariant_check() == []


def test_eight_racing_cancels_return_the_stock_once(live_api):
    mug = product(stock=10)
    owner, boss = make_user("owner@example.com"), make_user("boss@example.com", staff=True)
    order = requests.post(f"{live_api.url}/api/orders", json=order_body((mug, 4)), headers=auth(owner), timeout=30)
    order_id = order.json()["id"]
    assert stock(mug.id) == (6, 4)

    def cancel(i):
        who = owner if i % 2 else boss
        return requests.post(f"{live_api.url}/api/orders/{order_id}/cancel", headers=auth(who), timeout=60).status_code

    assert sorted(race(8, cancel)) == [200] + [409] * 7
    assert stock(mug.id) == (10, 0)
    assert [r.status for r in reservations()] == ["released"]
    assert stock_invariant_check() == []


def test_two_staff_changes_racing_from_one_state_cannot_both_win(live_api):
    mug = product(stock=10)
    owner, boss = make_user("owner@example.com"), make_user("boss@example.com", staff=True)
    order_id = requests.post(
        f"{live_api.url}/api/orders", json=order_body((mug, 3)), headers=auth(owner), timeout=30
    ).json()["id"]
    requests.patch(
        f"{live_api.url}/api/orders/{order_id}/status", json={"status": "paid"}, headers=auth(boss), timeout=30
    )

    def change(i):
        wanted = "shipped" if i % 2 else "cancelled"
        response = requests.patch(
            f"{live_api.url}/api/orders/{order_id}/status", json={"status": wanted}, headers=auth(boss), timeout=60
        )
        return response.status_code, wanted

    results = race(6, change)
    winners = [wanted for status, wanted in results if status == 200]

    assert len(winners) == 1 and sorted(status for status, _ in results) == [200] + [409] * 5
    assert Order.objects.get().status == winners[0]
    # The stock followed the winner only: sold, or back on the shelf.
    assert stock(mug.id) == ((7, 0) if winners[0] == "shipped" else (10, 0))
    assert stock_invariant_check() == []


def test_concurrent_first_requests_with_one_idempotency_key_create_one_order(live_api):
    """One attempt holds the key's lease; the others answer 409 with Retry-After at once (no
    worker waits), or replay the order once it is placed."""
    mug = product(stock=10)
    buyer = make_user("buyer@example.com")
    headers = {**auth(buyer), "Idempotency-Key": "same-key"}

    def buy(i):
        response = requests.post(f"{live_api.url}/api/orders", json=order_body((mug, 2)), headers=headers, timeout=60)
        return response.status_code, response.json(), response.headers.get("Retry-After")

    results = race(6, buy)

    placed = [body for status, body, _ in results if status == 201]
    waiting = [(body, retry_after) for status, body, retry_after in results if status == 409]
    assert len(placed) + len(waiting) == 6 and placed
    assert len({body["id"] for body in placed}) == 1
    for body, retry_after in waiting:
        assert body["error"]["code"] == "idempotency_conflict" and int(retry_after) >= 1
    assert Order.objects.count() == 1 and IdempotencyKey.objects.get().status == "completed"
    # Once placed, every repeat replays it.
    again = requests.post(f"{live_api.url}/api/orders", json=order_body((mug, 2)), headers=headers, timeout=60)
    assert (again.status_code, again.json()["id"]) == (201, placed[0]["id"])
    assert stock(mug.id) == (8, 2)
    assert stock_invariant_check() == []
