"""The checkout's exactly-once promise under commit faults (issue 12, reproductions 1-5).

A live gunicorn reaches PostgreSQL and MariaDB through FaultProxy: for each commit along
placing, paying, cancelling and shipping, the COMMIT's answer is lost (it lands, the server
cannot know) or the COMMIT never arrives (nothing lands, the same error), and sometimes the
store then refuses connections so the outcome cannot be asked. Then the same
Idempotency-Key is retried, a competing buyer tries the same unit, the repair runs, and the
books are checked whole: no unit sold twice, no order lost or doubled, figures equal to
the orders.
"""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from analytics.models import DailySales
from ecommerce.api.idempotency import hash_of_request
from ecommerce.routers import MYSQL
from ecommerce.testing.faults import DROP_COMMIT, LOSE_ANSWER, restore_all, server_behind_proxies
from ecommerce.testing.helpers import database_url, make_user
from inventory.models import Inventory, StockReservation
from orders.models import IdempotencyKey, Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

ORDER_INSERT = b'INSERT INTO "orders_order"'
STATUS_UPDATE = b'UPDATE "orders_order" SET "status"'
RESERVATION_INSERT = b"INSERT INTO `inventory_stockreservation`"
RESERVATION_MOVE = b"UPDATE `inventory_stockreservation` SET `status`"
LEASE_SECONDS = 4


@pytest.fixture(scope="module")
def stack(live_server_factory):
    """gunicorn (2 workers) whose PostgreSQL and MariaDB are each behind a FaultProxy."""
    urls = {"postgres": database_url("default"), "mysql": database_url(MYSQL)}
    with server_behind_proxies(live_server_factory, urls, workers=2, ORDER_LEASE_SECONDS=str(LEASE_SECONDS)) as stack:
        yield stack


@pytest.fixture
def shop(stack):
    yield stack
    restore_all(stack[1])


class Buyer:
    def __init__(self, url: str, email: str, *, staff: bool = False):
        self.url = url
        self.user = make_user(email, staff=staff)
        self.headers = {"Authorization": f"Bearer {AccessToken.for_user(self.user)}"}

    def call(self, method: str, path: str, *, key: str | None = None, **kwargs) -> requests.Response:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def order(self, *lines, key: str | None = None) -> requests.Response:
        return self.call("POST", "/api/orders", key=key, json=order_body(*lines))


def day_figures() -> tuple:
    row = DailySales.objects.using(MYSQL).filter(date=timezone.now().date()).first()
    return (row.orders, row.units, row.cancelled_orders, row.cancelled_units) if row else (0, 0, 0, 0)


def books_exact() -> None:
    """Every mismatch kind of the books check (stock, orders against reservations, sold units,
    the day's figures, idempotency) is empty, and the command agrees."""
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check", stdout=StringIO())


def _unavailable(response: requests.Response, store: str) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error"]["details"] == {"database": store}


# --- placing ---------------------------------------------------------------------------


def test_lost_postgres_commit_answer_on_the_order_keeps_its_unit_and_the_order(shop):
    """Reproduction 1: the order's COMMIT lands, its answer is lost. Before: 503, the unit
    released at once, the retry replayed 201 and another buyer bought the same unit."""
    server, proxies = shop
    mug = product(stock=1)
    alice, bob = Buyer(server.url, "alice@example.com"), Buyer(server.url, "bob@example.com")
    proxies["postgres"].arm(after=ORDER_INSERT, fault=LOSE_ANSWER)

    first = alice.order((mug, 1), key="alice-1")

    assert proxies["postgres"].fired.is_set()
    # Settled by the transaction's id: it committed, so the answer is the order.
    assert first.status_code == 201, first.text
    order = Order.objects.get()
    assert (order.pk, order.status) == (first.json()["id"], "pending")
    assert [r.status for r in reservations()] == ["reserved"] and stock(mug.id) == (0, 1)
    assert bob.order((mug, 1), key="bob-1").status_code == 409  # out of stock: one unit, one buyer
    again = alice.order((mug, 1), key="alice-1")
    assert (again.status_code, again.json()["id"]) == (201, order.pk)
    assert Order.objects.count() == 1 and day_figures() == (1, 1, 0, 0)
    books_exact()


def test_postgres_commit_never_arriving_releases_the_unit_and_the_retry_places_it(shop):
    server, proxies = shop
    mug = product(stock=1)
    alice, bob = Buyer(server.url, "alice@example.com"), Buyer(server.url, "bob@example.com")
    proxies["postgres"].arm(after=ORDER_INSERT, fault=DROP_COMMIT)

    _unavailable(alice.order((mug, 1), key="alice-1"), "postgres")

    # Settled as aborted: the order did not land, so its reservation was voided.
    assert not Order.objects.exists() and stock(mug.id) == (1, 0)
    assert [r.status for r in reservations()] == ["released"] and day_figures()[:2] == (0, 0)
    key = IdempotencyKey.objects.get()
    assert key.status == "in_progress" and key.response_status is None  # a 503 is not replayed
    retry = alice.order((mug, 1), key="alice-1")
    assert retry.status_code == 201, retry.text
    assert bob.order((mug, 1), key="bob-1").status_code == 409
    assert Order.objects.count() == 1 and stock(mug.id) == (0, 1)
    books_exact()


def test_lost_postgres_answer_that_cannot_be_asked_keeps_the_reservation_for_the_retry(shop):
    """The COMMIT landed and PostgreSQL then went away: the outcome is unknown, so nothing is
    released; once PostgreSQL is back the retry answers the order that stood."""
    server, proxies = shop
    mug = product(stock=1)
    alice, bob = Buyer(server.url, "alice@example.com"), Buyer(server.url, "bob@example.com")
    proxies["postgres"].arm(after=ORDER_INSERT, fault=LOSE_ANSWER, then_refuse=True)

    _unavailable(alice.order((mug, 1), key="alice-1"), "postgres")

    assert [r.status for r in reservations()] == ["reserved"] and stock(mug.id) == (0, 1)
    proxies["postgres"].restore()
    assert bob.order((mug, 1), key="bob-1").status_code == 409
    retry = alice.order((mug, 1), key="alice-1")
    assert retry.status_code == 201 and retry.json()["id"] == Order.objects.get().pk
    books_exact()


def test_lost_mysql_commit_answer_on_the_reservation_is_settled_and_the_order_placed(shop):
    """Reproduction 2: the reservation's COMMIT lands, its answer is lost. Before: 503 naming
    postgres, and the retry got out_of_stock (its own phantom hold), stored for 24 hours."""
    server, proxies = shop
    mug = product(stock=1)
    alice = Buyer(server.url, "alice@example.com")
    proxies["mysql"].arm(after=RESERVATION_INSERT, fault=LOSE_ANSWER)

    first = alice.order((mug, 1), key="alice-1")

    assert proxies["mysql"].fired.is_set()
    assert first.status_code == 201, first.text
    assert Order.objects.get().pk == first.json()["id"] and stock(mug.id) == (0, 1)
    books_exact()


def test_mysql_commit_never_arriving_is_503_naming_mysql_and_the_retry_places_it(shop):
    server, proxies = shop
    mug = product(stock=2)
    alice = Buyer(server.url, "alice@example.com")
    proxies["mysql"].arm(after=RESERVATION_INSERT, fault=DROP_COMMIT)

    _unavailable(alice.order((mug, 2), key="alice-1"), "mysql")

    assert not reservations() and stock(mug.id) == (2, 0) and not Order.objects.exists()
    retry = alice.order((mug, 2), key="alice-1")
    assert retry.status_code == 201, retry.text
    assert Order.objects.count() == 1 and stock(mug.id) == (0, 2)
    books_exact()


def test_a_phantom_hold_is_completed_by_the_retry_not_refused_as_out_of_stock(shop):
    """The reservation landed and MariaDB went away before it could be asked: 503 naming
    mysql, the units held. The retry settles the reservation and places the order from it."""
    server, proxies = shop
    mug = product(stock=1)
    alice, bob = Buyer(server.url, "alice@example.com"), Buyer(server.url, "bob@example.com")
    proxies["mysql"].arm(after=RESERVATION_INSERT, fault=LOSE_ANSWER, then_refuse=True)

    _unavailable(alice.order((mug, 1), key="alice-1"), "mysql")

    assert [r.status for r in reservations()] == ["reserved"] and not Order.objects.exists()
    proxies["mysql"].restore()
    assert bob.order((mug, 1), key="bob-1").status_code == 409
    retry = alice.order((mug, 1), key="alice-1")
    assert retry.status_code == 201, retry.text
    order = Order.objects.get()
    assert order.reference == reservations()[0].order_reference and stock(mug.id) == (0, 1)
    assert [line.name for line in order.lines.all()] == ["Mug"]
    assert alice.order((mug, 1), key="alice-1").json()["id"] == order.pk  # replayed from now on
    books_exact()


# --- moving ----------------------------------------------------------------------------

# (the status asked for, the store whose commit fails, the statement that marks it)
MOVES = [
    ("paid", "postgres", STATUS_UPDATE),
    ("cancelled", "postgres", STATUS_UPDATE),
    ("cancelled", "mysql", RESERVATION_MOVE),
    ("shipped", "postgres", STATUS_UPDATE),
    ("shipped", "mysql", RESERVATION_MOVE),
]


def _move(staff: Buyer, order_id: int, status: str) -> requests.Response:
    return staff.call("PATCH", f"/api/orders/{order_id}/status", json={"status": status})


@pytest.mark.parametrize("fault", [LOSE_ANSWER, DROP_COMMIT])
@pytest.mark.parametrize(("status", "store", "marker"), MOVES)
def test_a_status_change_whose_commit_fails_moves_the_order_and_its_stock_once(shop, status, store, marker, fault):
    server, proxies = shop
    mug = product(stock=5)
    buyer, staff = Buyer(server.url, "buyer@example.com"), Buyer(server.url, "boss@example.com", staff=True)
    placed = buyer.order((mug, 2), key="k")
    assert placed.status_code == 201
    order_id = placed.json()["id"]
    if status == "shipped":
        assert _move(staff, order_id, "paid").status_code == 200
    proxies[store].arm(after=marker, fault=fault)

    moved = _move(staff, order_id, status)

    assert proxies[store].fired.is_set()
    if store == "postgres" and fault == DROP_COMMIT:
        # The change did not land: said so, and the retry makes it.
        _unavailable(moved, "postgres")
        assert Order.objects.get().status != status
        moved = _move(staff, order_id, status)
    # A lost answer was settled as committed; a MySQL move was run again on a fresh
    # connection, which finds it done (lost answer) or does it (commit never arrived).
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == Order.objects.get().status == status
    expected = {"paid": (3, 2), "cancelled": (5, 0), "shipped": (3, 0)}[status]
    assert stock(mug.id) == expected
    assert [r.status for r in reservations()] == [
        {"paid": "reserved", "cancelled": "released", "shipped": "committed"}[status]
    ]
    assert day_figures() == ((1, 2, 1, 2) if status == "cancelled" else (1, 2, 0, 0))
    books_exact()


# --- leases ----------------------------------------------------------------------------


def test_a_retry_while_the_first_attempt_runs_is_409_with_retry_after_at_once(shop):
    """Reproduction 3: a retry used to hold a worker 10 s, then 409 for 5 minutes; eight of
    them froze the server."""
    server, _ = shop
    mug = product(stock=5)
    alice = Buyer(server.url, "alice@example.com")
    with ThreadPoolExecutor(1) as pool:
        with transaction.atomic(using=MYSQL):
            # The first attempt waits on the stock row this test holds...
            Inventory.objects.using(MYSQL).select_for_update().get(product_id=mug.id)
            first = pool.submit(alice.order, (mug, 1), key="alice-1")
            _wait_until(lambda: IdempotencyKey.objects.filter(key="alice-1").exists())
            # ...and eight concurrent retries are each told when to come back, without
            # waiting for it: no worker is held (the server still answers its probe).
            with ThreadPoolExecutor(8) as retries:
                answers = list(retries.map(lambda _: alice.order((mug, 1), key="alice-1"), range(8)))
            for retry in answers:
                assert retry.status_code == 409, retry.text
                assert retry.json()["error"]["code"] == "idempotency_conflict"
                assert 1 <= int(retry.headers["Retry-After"]) <= LEASE_SECONDS
            assert requests.get(f"{server.url}/health/live", timeout=5).status_code == 200
        placed = first.result(timeout=30)
    assert placed.status_code == 201
    again = alice.order((mug, 1), key="alice-1")
    assert (again.status_code, again.json()["id"], again.headers["Idempotent-Replayed"]) == (
        201,
        placed.json()["id"],
        "true",
    )
    books_exact()


def test_a_key_left_by_a_dead_attempt_is_taken_over_and_completed_from_its_reservation(shop):
    """The worker died between the reservation and the order: the key is in progress. Past
    the lease, the retry settles the reservation by its reference and writes the order."""
    from orders import services

    server, _ = shop
    mug = product(stock=3)
    alice = Buyer(server.url, "alice@example.com")
    reference = uuid.uuid4()
    items = services._priced_items(items=[{"product_id": mug.id, "quantity": 2}])
    services.order_reserve_stock(reference=reference, items=items, sales_date=timezone.now().date())
    body = order_body((mug, 2))
    IdempotencyKey.objects.create(
        user=alice.user,
        key="alice-1",
        request_hash=hash_of_request(
            user_id=alice.user.pk, items=body["items"], from_cart=False, shipping_address=body["shipping_address"]
        ),
        reference=reference,
        lease_until=timezone.now(),
    )

    retry = alice.order((mug, 2), key="alice-1")

    assert retry.status_code == 201, retry.text
    order = Order.objects.get()
    assert order.reference == reference and stock(mug.id) == (1, 2)
    assert IdempotencyKey.objects.get().attempt == 2
    books_exact()


def _wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.05)


# --- one cart, one order -----------------------------------------------------------------


def test_concurrent_checkouts_of_one_cart_order_its_lines_once(shop):
    """Reproduction 5: 5 parallel from_cart checkouts of a 2-unit cart made 5 orders."""
    server, _ = shop
    mug = product(stock=20)
    alice = Buyer(server.url, "alice@example.com")
    added = alice.call("POST", f"/api/cart/{alice.user.pk}/items", json={"product_id": mug.id, "quantity": 2})
    assert added.status_code == 201

    def checkout(i):
        body = {"from_cart": True, "shipping_address": order_body()["shipping_address"]}
        return alice.call("POST", "/api/orders", key=f"cart-{i}", json=body)

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(checkout, range(5)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(201) == 1, [answer.text for answer in answers]
    for answer in answers:
        if answer.status_code != 201:
            # The losers: the cart's lines were taken (409 conflict) or already gone (400).
            assert (answer.status_code, answer.json()["error"]["code"]) in {
                (409, "conflict"),
                (400, "validation_error"),
            }
    assert Order.objects.count() == 1 and stock(mug.id) == (18, 2)
    assert StockReservation.objects.using(MYSQL).filter(status="reserved").count() == 1
    assert alice.call("GET", f"/api/cart/{alice.user.pk}").json()["items"] == []
    books_exact()


# --- the books check -------------------------------------------------------------------


def test_the_check_reports_case_1_and_the_repair_settles_it(customer):
    """The state reproduction 1 left before the fix: order A stands but its unit was released
    (and uncounted), and B ordered that unit. `--check` must say so; the repair cancels A."""
    from orders import services

    mug = product(stock=1)
    items = services._priced_items(items=[{"product_id": mug.id, "quantity": 1}])
    address = order_body()["shipping_address"]
    a_reference = uuid.uuid4()
    services.order_reserve_stock(reference=a_reference, items=items, sales_date=timezone.now().date())
    with transaction.atomic():
        a = services.order_record(
            reference=a_reference, owner=customer, items=items, shipping_address=address, placed_at=timezone.now()
        )
    services.reservation_void(reference=a_reference)  # the blind cleanup of the old code
    b = services.order_place(
        user=make_user("bob@example.com"), items=[{"product_id": mug.id, "quantity": 1}], shipping_address=address
    ).order

    kinds = sorted(m["kind"] for m in stock_invariant_check())
    # A's order stands without its unit; the day's and the product's figures miss A.
    assert kinds == ["figures", "figures", "open_order_without_stock"]
    with pytest.raises(CommandError):
        call_command("reconcile_orders", "--check", stdout=StringIO())

    call_command("reconcile_orders", "--grace-seconds", "0", stdout=StringIO())

    a.refresh_from_db()
    assert (a.status, a.cancel_reason) == ("cancelled", "stock_not_reserved")
    assert Order.objects.get(pk=b.pk).status == "pending" and stock(mug.id) == (0, 1)
    assert day_figures() == (2, 2, 1, 1)
    books_exact()
