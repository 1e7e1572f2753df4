"""Each store going down, behind a TCP proxy that a test cuts and restores, under a live gunicorn.

What needs the store answers 503 naming it (`details.database`) within a few seconds; what does
not keeps working; /health says which is down; and when the store is back everything recovers
without a restart, an order retried with its Idempotency-Key is placed exactly once, and the
books balance (the stock reserved in MySQL matches the open orders in PostgreSQL).
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from rest_framework_simplejwt.tokens import AccessToken

from ecommerce.routers import MYSQL
from ecommerce.testing.faults import restore_all, server_behind_proxies
from ecommerce.testing.helpers import database_url, make_user
from inventory.models import Inventory
from orders.models import IdempotencyKey, Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

# Connect timeouts are 3 s (DB_CONNECT_TIMEOUT, MONGO_TIMEOUT_MS): an answer takes at most a few.
PROMPT = 10
STORES = ("postgres", "mysql", "mongodb")


@pytest.fixture(scope="module")
def stack(live_server_factory):
    """One single-worker gunicorn whose three stores are each reached through a proxy."""
    urls = {"postgres": database_url("default"), "mysql": database_url("mysql"), "mongodb": settings.MONGO_URL}
    # A checkout here takes well under a second; a short lease keeps the test short.
    with server_behind_proxies(live_server_factory, urls, workers=1, ORDER_LEASE_SECONDS="3") as stack:
        yield stack


@pytest.fixture
def shop(stack):
    yield stack
    restore_all(stack[1])


class Client:
    def __init__(self, url: str, token: str | None = None):
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def unavailable(self, method: str, path: str, store: str, **kwargs) -> requests.Response:
        started = time.monotonic()
        response = self.request(method, path, **kwargs)
        elapsed = time.monotonic() - started
        assert response.status_code == 503, (method, path, response.status_code, response.text[:300])
        error = response.json()["error"]
        assert (error["code"], error["details"]) == ("service_unavailable", {"database": store}), (method, path)
        assert elapsed < PROMPT, f"{method} {path} took {elapsed:.1f}s"
        return response


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 20
    while requests.get(f"{url}/health", timeout=15).status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover"
        time.sleep(0.2)


def _books_balance() -> None:
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check", "--grace-seconds", "0")  # CommandError when they do not


# Per store: what must answer 503 naming it, and what must keep answering 200, while it is down.
# (role, method, path); "{product}" is a live product's id.
NEEDS = {
    "postgres": [("customer", "GET", "/api/orders"), ("customer", "GET", "/api/users/me")],
    "mysql": [("staff", "GET", "/api/inventory"), ("staff", "GET", "/api/analytics/revenue")],
    "mongodb": [("anonymous", "GET", "/api/products"), ("anonymous", "GET", "/api/reviews/product/{product}")],
}
KEEPS_WORKING = {
    "postgres": [("anonymous", "GET", "/api/products"), ("anonymous", "GET", "/api/products/{product}")],
    "mysql": [
        ("anonymous", "GET", "/api/products/{product}"),
        ("customer", "GET", "/api/users/me"),
        ("customer", "GET", "/api/orders"),
    ],
    "mongodb": [
        ("customer", "GET", "/api/orders"),
        ("staff", "GET", "/api/inventory"),
        ("customer", "GET", "/api/users/me"),
    ],
}


@pytest.mark.parametrize("store", STORES)
def test_a_store_down_is_503_naming_it_the_rest_works_and_all_recovers(shop, store):
    server, proxies = shop
    mug = product(stock=5)
    buyer = make_user("buyer@example.com")
    clients = {
        "anonymous": Client(server.url),
        "customer": Client(server.url, str(AccessToken.for_user(buyer))),
        "staff": Client(server.url, str(AccessToken.for_user(make_user("boss@example.com", staff=True)))),
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    _wait_healthy(server.url)

    proxies[store].refuse()

    for role, method, path in NEEDS[store]:
        clients[role].unavailable(method, path.format(product=mug.id), store)
    for role, method, path in KEEPS_WORKING[store]:
        response = clients[role].request(method, path.format(product=mug.id))
        assert response.status_code == 200, (store, method, path, response.text[:300])
    health = requests.get(f"{server.url}/health", timeout=15)
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    checks = health.json()["checks"]
    assert checks[store]["status"] == "error" and checks[store]["error"]
    assert {name for name, check in checks.items() if check["status"] == "ok"} == set(STORES) - {store}
    # Placing an order needs all three stores: refused, with nothing reserved and no order.
    clients["customer"].unavailable("POST", "/api/orders", store, json=order_body((mug, 2)), headers=key)
    assert not Order.objects.exists() and not reservations()
    assert stock(mug.id) == (5, 0)

    proxies[store].restore()
    _wait_healthy(server.url)

    for role, method, path in NEEDS[store]:
        assert clients[role].request(method, path.format(product=mug.id)).status_code == 200
    placed = clients["customer"].request("POST", "/api/orders", json=order_body((mug, 2)), headers=key)
    assert placed.status_code == 201, placed.text
    again = clients["customer"].request("POST", "/api/orders", json=order_body((mug, 2)), headers=key)
    assert (again.status_code, again.json()["id"]) == (201, placed.json()["id"])
    assert list(Order.objects.values_list("idempotency_key", flat=True)) == [key["Idempotency-Key"]]
    assert stock(mug.id) == (3, 2)
    _books_balance()


def test_postgres_cut_between_the_reservation_and_the_order_write(shop):
    """Step 2 (MySQL reservation) succeeds, step 3 (PostgreSQL order) cannot: with PostgreSQL
    away nobody can say whether another attempt wrote an order under that reference, so the
    units stay held (never released blindly); the key keeps its lease, the retry is told to
    come back until it runs out, then takes the key over and completes the order from the
    held reservation: the customer keeps the units."""
    server, proxies = shop
    mug = product(stock=5)
    customer = Client(server.url, str(AccessToken.for_user(make_user("buyer@example.com"))))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    _wait_healthy(server.url)

    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic(using=MYSQL):
            # Hold the product's stock row: the server's reservation waits on it (step 2)...
            Inventory.objects.using(MYSQL).select_for_update().get(product_id=mug.id)
            placing = pool.submit(customer.request, "POST", "/api/orders", json=order_body((mug, 2)), headers=key)
            _wait_for_lock_wait()
            # ...and PostgreSQL goes away before the order can be written (step 3).
            proxies["postgres"].refuse()
        response = placing.result(timeout=30)

    assert response.status_code == 503
    assert response.json()["error"]["details"] == {"database": "postgres"}
    assert not Order.objects.exists()
    assert stock(mug.id) == (3, 2)
    assert [r.status for r in reservations()] == ["reserved"]
    key_row = IdempotencyKey.objects.get()
    assert (key_row.status, key_row.response_status) == (IdempotencyKey.Status.IN_PROGRESS, None)

    proxies["postgres"].restore()
    _wait_healthy(server.url)
    for _ in range(3):
        retry = customer.request("POST", "/api/orders", json=order_body((mug, 2)), headers=key)
        if retry.status_code != 409:
            break
        # The first attempt's lease still runs: told when to come back, at once.
        assert retry.json()["error"]["code"] == "idempotency_conflict"
        time.sleep(int(retry.headers["Retry-After"]))
    assert retry.status_code == 201, retry.text
    assert Order.objects.count() == 1 and stock(mug.id) == (3, 2)
    _books_balance()


def _wait_for_lock_wait(timeout: float = 10) -> None:
    """Until the server's reservation (its locking read of the stock row) is waiting in MySQL."""
    deadline = time.monotonic() + timeout
    with connections[MYSQL].cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE info LIKE %s",
                ["SELECT product_id, quantity, low_stock_threshold FROM inventory_inventory%"],
            )
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the reservation never waited on the held row"
            time.sleep(0.05)


def test_mongodb_down_mid_session_leaves_orders_and_stock_readable(shop):
    """A customer with a cart: with MongoDB down the cart (live prices) is 503 naming it,
    their orders and the stock are still served, and the cart is intact once it is back."""
    server, proxies = shop
    mug = product(stock=5)
    buyer = make_user("buyer@example.com")
    customer = Client(server.url, str(AccessToken.for_user(buyer)))
    assert customer.request("POST", f"/api/cart/{buyer.pk}/items", json={"product_id": mug.id, "quantity": 2}).ok

    proxies["mongodb"].refuse()
    customer.unavailable("GET", f"/api/cart/{buyer.pk}", "mongodb")
    assert customer.get("/api/orders").status_code == 200
    assert customer.get(f"/api/users/{buyer.pk}/orders").status_code == 200
    proxies["mongodb"].restore()

    cart = customer.get(f"/api/cart/{buyer.pk}")
    assert cart.status_code == 200 and [i["quantity"] for i in cart.json()["items"]] == [2]
