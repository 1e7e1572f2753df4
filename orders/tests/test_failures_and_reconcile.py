"""A failure between each pair of steps of placing or moving an order, then reconcile_orders,
ending with the books balanced."""

import uuid
from io import StringIO
from urllib.parse import urlparse

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from analytics.models import DailySales
from ecommerce.routers import MYSQL
from ecommerce.testing.faults import FaultProxy
from ecommerce.testing.helpers import database_url, make_user
from orders import repairs, services
from orders.models import IdempotencyKey, Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import ADDRESS, order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def day_figures():
    row = DailySales.objects.using(MYSQL).filter(date=timezone.now().date()).first()
    return (row.orders, row.units, row.cancelled_orders) if row else (0, 0, 0)


def books_balance() -> bool:
    out = StringIO()
    try:
        call_command("reconcile_orders", "--check", stdout=out)
    except CommandError:
        return False
    return "The books balance." in out.getvalue()


def test_postgres_failing_after_the_reservation_releases_it(customer, customer_client):
    mug = product(stock=5)
    # A real database failure at the order write: PostgreSQL refuses this customer's order rows.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders_order ADD CONSTRAINT doomed CHECK (email <> 'customer@example.com')")

    response = customer_client.post(
        "/api/orders", order_body((mug, 2)), format="json", HTTP_IDEMPOTENCY_KEY="will-fail"
    )

    assert response.status_code >= 400
    assert not Order.objects.exists()
    assert stock(mug.id) == (5, 0)
    assert [r.status for r in reservations()] == ["released"]
    assert day_figures() == (0, 0, 0)
    # No answer stored; the lease ended with the failure: a retry takes the key over at once.
    key = IdempotencyKey.objects.get()
    assert (key.status, key.response_status) == ("in_progress", None) and key.lease_until <= timezone.now()
    assert stock_invariant_check() == []
    report = repairs.orders_reconcile(grace_seconds=0)
    assert (report.released, report.returned, report.committed, report.cancelled) == (0, 0, 0, [])

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders_order DROP CONSTRAINT doomed")
    retry = customer_client.post("/api/orders", order_body((mug, 2)), format="json", HTTP_IDEMPOTENCY_KEY="will-fail")
    assert retry.status_code == 201
    assert Order.objects.count() == 1 and stock(mug.id) == (3, 2)
    assert IdempotencyKey.objects.get().status == "completed"
    assert stock_invariant_check() == []


def test_a_crash_after_reserving_is_released_by_reconcile_after_the_grace_period(customer):
    mug = product(stock=5)
    priced = services._priced_items(items=[{"product_id": mug.id, "quantity": 3}])
    # The process dies right after step 2: stock reserved, no order.
    services.order_reserve_stock(reference=uuid.uuid4(), items=priced, sales_date=timezone.now().date())
    assert stock(mug.id) == (2, 3) and day_figures() == (1, 3, 0)
    assert [m["kind"] for m in stock_invariant_check()] == ["reservation_without_order"]
    assert not books_balance()

    assert repairs.orders_reconcile(grace_seconds=300).released == 0  # might still be in flight
    assert stock(mug.id) == (2, 3)

    call_command("reconcile_orders", "--grace-seconds", "0", stdout=StringIO())

    assert stock(mug.id) == (5, 0)
    assert day_figures() == (0, 0, 0)  # an order that never stood is not a sale
    assert books_balance()
    assert repairs.orders_reconcile(grace_seconds=0).released == 0  # idempotent


def test_an_open_order_without_a_reservation_is_cancelled_by_reconcile(customer, customer_client):
    mug = product(stock=5)
    priced = services._priced_items(items=[{"product_id": mug.id, "quantity": 2}])
    # Step 3 without step 2 (its reservation released while the order was being written).
    order = services.order_record(
        reference=uuid.uuid4(), owner=customer, items=priced, shipping_address=ADDRESS, placed_at=timezone.now()
    )
    assert not books_balance()

    report = repairs.orders_reconcile(grace_seconds=0)

    assert report.cancelled == [order.pk]
    order.refresh_from_db()
    assert (order.status, order.cancel_reason) == ("cancelled", "stock_not_reserved")
    assert customer_client.get(f"/api/orders/{order.pk}").json()["status"] == "cancelled"
    assert stock(mug.id) == (5, 0)
    assert books_balance()


def test_a_crash_between_cancelling_and_returning_stock_is_finished_by_reconcile(customer):
    mug = product(stock=5)
    order = services.order_place(
        user=customer, items=[{"product_id": mug.id, "quantity": 2}], shipping_address=ADDRESS
    ).order
    # The PostgreSQL step of a cancel ran; the process died before the MySQL one.
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    assert not books_balance()

    assert repairs.orders_reconcile(grace_seconds=0).returned == 1

    assert stock(mug.id) == (5, 0) and day_figures() == (1, 2, 1)
    assert books_balance()
    assert repairs.orders_reconcile(grace_seconds=0).returned == 0


def test_a_crash_between_shipping_and_selling_stock_is_finished_by_reconcile(customer):
    mug = product(stock=5)
    order = services.order_place(
        user=customer, items=[{"product_id": mug.id, "quantity": 2}], shipping_address=ADDRESS
    ).order
    Order.objects.filter(pk=order.pk).update(status=Order.Status.SHIPPED)

    assert repairs.orders_reconcile(grace_seconds=0).committed == 1

    assert stock(mug.id) == (3, 0)
    assert [r.status for r in reservations()] == ["committed"]
    assert books_balance()


def test_the_check_reports_two_orders_for_one_idempotency_key(customer):
    mug = product(stock=5)
    for _ in range(2):
        order = services.order_place(
            user=customer, items=[{"product_id": mug.id, "quantity": 1}], shipping_address=ADDRESS
        ).order
        Order.objects.filter(pk=order.pk).update(idempotency_key="twice")

    mismatches = stock_invariant_check()

    assert [m["kind"] for m in mismatches] == ["idempotency"]
    assert mismatches[0]["user_id"] == customer.id and len(mismatches[0]["orders"]) == 2


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_mysql_down_during_checkout_is_503_with_nothing_reserved_and_no_order(live_server_factory):
    mug = product(stock=5)
    buyer = make_user("buyer@example.com")
    headers = {"Authorization": f"Bearer {AccessToken.for_user(buyer)}", "Idempotency-Key": "retry-me"}
    target = urlparse(database_url("mysql"))
    proxy = FaultProxy(target.hostname, target.port)
    proxied = target._replace(netloc=f"{target.username}@127.0.0.1:{proxy.port}").geturl()
    server = live_server_factory(workers=1, extra_env={"MYSQL_URL": proxied})
    try:
        proxy.refuse()
        down = requests.post(f"{server.url}/api/orders", json=order_body((mug, 2)), headers=headers, timeout=30)

        assert down.status_code == 503
        assert down.json()["error"]["details"]["database"] == "mysql"
        assert not Order.objects.exists() and not reservations()
        assert stock(mug.id) == (5, 0)

        proxy.restore()
        # The failed attempt did not use the key up: the retry places the order.
        retry = requests.post(f"{server.url}/api/orders", json=order_body((mug, 2)), headers=headers, timeout=30)
        assert retry.status_code == 201
    finally:
        server.stop()
        proxy.close()

    repairs.orders_reconcile(grace_seconds=0)
    assert stock(mug.id) == (3, 2) and Order.objects.count() == 1
    assert stock_invariant_check() == []
