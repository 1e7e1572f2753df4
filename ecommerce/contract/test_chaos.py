"""Chaos, bounded: concurrent buyers with retries against a live gunicorn while its workers
are SIGKILLed, its PostgreSQL and MariaDB connections cut, refused, and their COMMIT answers
lost or dropped (FaultProxy). When the chaos stops and the buyers have their answers, the
repair runs once and the books must be exact: no unit sold twice or lost, no order lost or
doubled, every 201 an order that stands, the figures equal to the orders."""

import os
import random
import signal
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from ecommerce.routers import MYSQL
from ecommerce.testing.faults import DROP_COMMIT, LOSE_ANSWER, restore_all, server_behind_proxies
from ecommerce.testing.helpers import database_url, make_user
from inventory.models import Inventory, StockReservation
from orders.models import IdempotencyKey, Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

BUYERS = 8
ORDERS_EACH = 4
STOCK = 12  # per product, three products: fewer units than the buyers want
CHAOS_SECONDS = 12
# Statements whose COMMIT the chaos loses or drops.
MARKERS = {
    "postgres": [b'INSERT INTO "orders_order"', b'UPDATE "orders_order" SET "status"'],
    "mysql": [b"INSERT INTO `inventory_stockreservation`", b"UPDATE `inventory_stockreservation` SET `status`"],
}


def _workers(master_pid: int) -> list[int]:
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as children:
            return [int(pid) for pid in children.read().split()]
    except OSError:
        return []


class Shopper:
    """One customer placing orders one after another, each with its own Idempotency-Key,
    retrying it (after Retry-After, a 503, or a dropped connection) until a definite answer;
    now and then cancelling an order placed."""

    def __init__(self, url: str, email: str, products: list, rng: random.Random):
        self.url = url
        self.user = make_user(email)
        self.headers = {"Authorization": f"Bearer {AccessToken.for_user(self.user)}"}
        self.products = products
        self.rng = rng
        self.answers: dict[str, list[tuple[int, dict]]] = defaultdict(list)  # key -> definite answers
        self.cancelled: set[int] = set()

    def _send(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response | None:
        try:
            return requests.request(method, f"{self.url}{path}", headers=headers or self.headers, timeout=30, **kwargs)
        except requests.RequestException:
            return None  # a worker killed under the request, or the server restarting one

    def _until_definite(self, method: str, path: str, deadline: float, **kwargs) -> requests.Response | None:
        while time.monotonic() < deadline:
            response = self._send(method, path, **kwargs)
            if response is None or response.status_code >= 500:
                time.sleep(0.2)
                continue
            if response.status_code == 409 and "Retry-After" in response.headers:
                time.sleep(min(int(response.headers["Retry-After"]), 3))
                continue
            return response
        return None

    def shop(self, deadline: float) -> None:
        for _ in range(ORDERS_EACH):
            key = str(uuid.uuid4())
            mug = self.rng.choice(self.products)
            body = order_body((mug, self.rng.randint(1, 2)))
            headers = {**self.headers, "Idempotency-Key": key}
            answer = self._until_definite("POST", "/api/orders", deadline, json=body, headers=headers)
            assert answer is not None, f"order {key} got no definite answer in time"
            self.answers[key].append((answer.status_code, answer.json()))
            # A repeat after the definite answer must say the same.
            again = self._until_definite("POST", "/api/orders", deadline, json=body, headers=headers)
            assert again is not None
            self.answers[key].append((again.status_code, again.json()))
            if answer.status_code == 201 and self.rng.random() < 0.3:
                order_id = answer.json()["id"]
                cancel = self._until_definite("POST", f"/api/orders/{order_id}/cancel", deadline)
                assert cancel is not None and cancel.status_code in (200, 409), cancel and cancel.text
                self.cancelled.add(order_id)


def _chaos(server, proxies: dict, rng: random.Random, stop: threading.Event) -> list[str]:
    done = []
    # The first move for certain, while every buyer is placing its first order: an order's
    # COMMIT lands and its answer is lost.
    proxies["postgres"].arm(after=MARKERS["postgres"][0], fault=LOSE_ANSWER)
    if proxies["postgres"].fired.wait(10):
        done.append("fired:postgres")
    proxies["postgres"].restore()
    proxies["postgres"].fired.clear()
    while not stop.wait(rng.uniform(0.3, 0.8)):
        move = rng.choice(["kill", "kill", "lose", "drop", "cut", "refuse"])
        store = rng.choice(["postgres", "mysql"])
        if move == "kill":
            workers = _workers(server.process.pid)
            if workers:
                os.kill(rng.choice(workers), signal.SIGKILL)
        elif move in ("lose", "drop"):
            fault = LOSE_ANSWER if move == "lose" else DROP_COMMIT
            proxies[store].arm(after=rng.choice(MARKERS[store]), fault=fault, then_refuse=rng.random() < 0.3)
        elif move == "cut":
            proxies[store].cut_all()
        else:
            proxies[store].refuse()
            time.sleep(rng.uniform(0.2, 1.0))
        for name, proxy in proxies.items():
            if proxy.fired.is_set():
                done.append(f"fired:{name}")
            if proxy.fired.is_set() or move == "refuse":
                proxy.restore()  # an outage lasts until the next move
                proxy.fired.clear()
        done.append(f"{move}:{store}")
    return done


def test_chaos_under_concurrent_buyers_ends_with_the_books_exact(live_server_factory):
    rng = random.Random(int(os.environ.get("CHAOS_SEED", "12")))
    products = [product(name=f"Item {n}", stock=STOCK) for n in range(3)]
    stop = threading.Event()
    urls = {"postgres": database_url("default"), "mysql": database_url(MYSQL)}
    with server_behind_proxies(live_server_factory, urls, workers=3, ORDER_LEASE_SECONDS="3") as (server, proxies):
        shoppers = [
            Shopper(server.url, f"buyer{n}@example.com", products, random.Random(rng.random())) for n in range(BUYERS)
        ]
        try:
            with ThreadPoolExecutor(BUYERS + 1) as pool:
                chaos = pool.submit(_chaos, server, proxies, rng, stop)
                deadline = time.monotonic() + 50
                buying = [pool.submit(shopper.shop, deadline) for shopper in shoppers]
                time.sleep(CHAOS_SECONDS)
                stop.set()
                moves = chaos.result()
                restore_all(proxies)
                for future in buying:
                    future.result()
        finally:
            stop.set()
    assert sum(move.startswith("kill") for move in moves) >= 3, moves
    assert any(move.startswith("fired") for move in moves), moves  # some COMMIT met its fault

    call_command("reconcile_orders", "--grace-seconds", "0", stdout=StringIO())

    # Every key: its answers agree, and a 201 is an order that stands under that key.
    placed = {}
    for shopper in shoppers:
        for key, answers in shopper.answers.items():
            assert len({(status, body.get("id")) for status, body in answers}) == 1, answers
            status, body = answers[0]
            assert status in (201, 409), answers
            if status == 201:
                placed[key] = body["id"]
            else:
                assert body["error"]["code"] == "out_of_stock", body
    orders = {order.idempotency_key: order for order in Order.objects.all()}
    assert {key: order.pk for key, order in orders.items()} == placed  # none lost, none extra
    assert not Order.objects.filter(cancel_reason=Order.CancelReason.STOCK_NOT_RESERVED).exists()
    cancelled = set().union(*(shopper.cancelled for shopper in shoppers))
    assert set(Order.objects.filter(status="cancelled").values_list("pk", flat=True)) == cancelled
    assert set(IdempotencyKey.objects.values_list("status", flat=True)) == {"completed"}
    # No unit created or lost: what is sellable plus what open orders hold is what there was,
    # less nothing sold (nothing shipped); the open orders hold exactly the units reserved.
    for item in products:
        row = Inventory.objects.using(MYSQL).get(product_id=item.id)
        held = sum(
            line.quantity
            for order in Order.objects.filter(status="pending").prefetch_related("lines")
            for line in order.lines.all()
            if line.product_id == item.id
        )
        assert (row.quantity + row.reserved, row.reserved) == (STOCK, held), item.id
    assert not StockReservation.objects.using(MYSQL).filter(status="committed").exists()
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check", stdout=StringIO())
