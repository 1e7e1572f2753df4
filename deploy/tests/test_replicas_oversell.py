"""What three pods are: three API servers on the same stores. The oversell race spread
across all three sells exactly the stocked units; nothing a replica needs lives in another's
process."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ecommerce.testing.helpers import TEST_PASSWORD, make_user
from orders.models import Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_the_oversell_race_across_three_replicas_sells_exactly_the_stock(live_server_factory):
    replicas = [live_server_factory(workers=2) for _ in range(3)]
    lamp = product(name="Lamp", stock=12)
    buyers = [make_user(f"replica-buyer{i}@example.com") for i in range(36)]

    def buy(i: int) -> tuple[int, str | None]:
        # Log in on one replica, order on the next: tokens are not tied to a process.
        login = requests.post(
            f"{replicas[i % 3].url}/api/auth/token",
            json={"email": buyers[i].email, "password": TEST_PASSWORD},
            timeout=30,
        )
        token = login.json()["access"]
        response = requests.post(
            f"{replicas[(i + 1) % 3].url}/api/orders",
            json=order_body((lamp, 1)),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return response.status_code, response.json().get("error", {}).get("code")

    with ThreadPoolExecutor(max_workers=36) as pool:
        results = Counter(pool.map(buy, range(36)))

    assert results == {(201, None): 12, (409, "out_of_stock"): 24}
    assert stock(lamp.id) == (0, 12)
    assert Order.objects.count() == 12
    assert stock_invariant_check() == []
