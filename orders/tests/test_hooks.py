"""The hook points other apps react through: orders.services.on_order_changed and
inventory.services.on_stock_low."""

import pytest
from django.core.management import call_command

from ecommerce.routers import MYSQL
from inventory import services as inventory_services
from inventory.models import Inventory
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import order_body, product, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def order_events():
    seen = []

    def hook(order, event, previous_status):
        # Inside the transaction that made the change: the row already says so.
        seen.append((order.pk, event, previous_status, Order.objects.get(pk=order.pk).status))

    order_services.on_order_changed(hook)
    yield seen
    order_services._order_changed_hooks.remove(hook)


@pytest.fixture
def low_stock():
    seen = []
    hook = seen.append
    inventory_services.on_stock_low(hook)
    yield seen
    inventory_services._stock_low_hooks.remove(hook)


def test_every_status_change_publishes_its_event_inside_its_transaction(customer_client, staff_client, order_events):
    mug = product(stock=5)
    placed = customer_client.post("/api/orders", order_body((mug, 1)), format="json").json()
    for status in ("paid", "shipped", "delivered"):
        moved = staff_client.patch(f"/api/orders/{placed['id']}/status", {"status": status}, format="json")
        assert moved.status_code == 200
    other = customer_client.post("/api/orders", order_body((mug, 1)), format="json").json()
    assert customer_client.post(f"/api/orders/{other['id']}/cancel").status_code == 200

    assert order_events == [
        (placed["id"], "created", None, "pending"),
        (placed["id"], "paid", "pending", "paid"),
        (placed["id"], "shipped", "paid", "shipped"),
        (placed["id"], "delivered", "shipped", "delivered"),
        (other["id"], "created", None, "pending"),
        (other["id"], "cancelled", "pending", "cancelled"),
    ]


def test_a_failing_hook_rolls_the_change_back(customer_client, staff_client):
    mug = product(stock=5)
    placed = customer_client.post("/api/orders", order_body((mug, 1)), format="json").json()

    def refuse(order, event, previous_status):
        raise RuntimeError("the outbox is full")

    order_services.on_order_changed(refuse)
    try:
        with pytest.raises(RuntimeError):
            order_services.order_status_change(order=Order.objects.get(pk=placed["id"]), status="paid")
    finally:
        order_services._order_changed_hooks.remove(refuse)
    assert Order.objects.get(pk=placed["id"]).status == "pending"
    assert stock(mug.id) == (4, 1)


def test_reconcile_cancelling_an_order_publishes_it(customer_client, order_events):
    mug = product(stock=5)
    placed = customer_client.post("/api/orders", order_body((mug, 1)), format="json").json()
    inventory_services.stock_release(order_reference=Order.objects.get(pk=placed["id"]).reference)

    call_command("reconcile_orders", "--grace-seconds", "0", stdout=open("/dev/null", "w"))

    assert order_events[-1] == (placed["id"], "cancelled", "pending", "cancelled")


def test_stock_low_is_published_after_the_commit_that_lowered_it(customer_client, staff_client, low_stock):
    mug, pen = product(stock=12), product(stock=50)

    assert customer_client.post("/api/orders", order_body((mug, 1), (pen, 1)), format="json").status_code == 201
    assert low_stock == []  # 11 left, threshold 10
    assert customer_client.post("/api/orders", order_body((mug, 1), (pen, 1)), format="json").status_code == 201
    assert low_stock == [[mug.id]]
    assert staff_client.patch(f"/api/inventory/{pen.id}", {"quantity": 3}, format="json").status_code == 200
    assert low_stock == [[mug.id], [pen.id]]
    # Out of stock: nothing committed, nothing published.
    assert customer_client.post("/api/orders", order_body((mug, 50)), format="json").status_code == 409
    assert low_stock == [[mug.id], [pen.id]]
    assert Inventory.objects.using(MYSQL).get(product_id=mug.id).quantity == 10
