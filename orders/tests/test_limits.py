"""Issue 12, items 10 and 12: 64-bit sales counters, a limit on orders per customer, and
strict types in order and cart bodies."""

import pytest
from django.test import override_settings
from django.utils import timezone

from analytics.models import DailySales, ProductSales
from cart.models import CartItem
from ecommerce.routers import MYSQL
from orders.models import Order
from orders.tests.factories import ADDRESS, order_body, product, stock

pytestmark = pytest.mark.django_db(databases="__all__")

INT32_MAX = 2**31 - 1


def test_an_order_past_two_to_the_31_sales_counts_instead_of_failing(customer_client):
    mug = product(stock=10)
    assert customer_client.post("/api/orders", order_body((mug, 1)), format="json").status_code == 201
    today = timezone.now().date()
    # Place-and-cancel cycles only ever grow the counters: push them to the 32-bit edge.
    for model in (DailySales, ProductSales):
        model.objects.using(MYSQL).filter(date=today).update(
            orders=INT32_MAX, units=INT32_MAX, cancelled_orders=INT32_MAX, cancelled_units=INT32_MAX
        )

    placed = customer_client.post("/api/orders", order_body((mug, 1)), format="json")
    assert placed.status_code == 201, placed.json()
    assert customer_client.post(f"/api/orders/{placed.json()['id']}/cancel").status_code == 200

    day = DailySales.objects.using(MYSQL).get(date=today)
    assert (day.orders, day.units, day.cancelled_orders, day.cancelled_units) == (2**31, 2**31, 2**31, 2**31)
    assert ProductSales.objects.using(MYSQL).get(date=today, product_id=mug.id).orders == 2**31


@override_settings(THROTTLE_ENABLED=True, THROTTLE_ORDER_RATE="3/min")
def test_orders_per_customer_are_limited_with_retry_after(customer_client, other_client):
    mug = product(stock=100)
    for _ in range(3):
        assert customer_client.post("/api/orders", order_body((mug, 1)), format="json").status_code == 201

    refused = customer_client.post("/api/orders", order_body((mug, 1)), format="json")

    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert Order.objects.count() == 3 and stock(mug.id) == (97, 3)
    # Per account: another customer, and reading one's orders, are not limited.
    assert other_client.post("/api/orders", order_body((mug, 1)), format="json").status_code == 201
    assert customer_client.get("/api/orders").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"product_id": "{mug}", "quantity": "2"}]}, "items"),
        ({"items": [{"product_id": "{mug}", "quantity": 2.0}]}, "items"),
        ({"items": [{"product_id": "{mug}", "quantity": True}]}, "items"),
        ({"from_cart": "yes"}, "from_cart"),
        ({"from_cart": 1}, "from_cart"),
        ({"items": [{"product_id": "{mug}", "quantity": 1}], "user_id": "1"}, "user_id"),
    ],
)
def test_order_bodies_take_json_types_as_they_are(customer_client, customer, body, field):
    mug = product(stock=5)
    CartItem.objects.create(user=customer, product_id=mug.id, quantity=1)
    for item in body.get("items", []):
        item["product_id"] = mug.id

    response = customer_client.post("/api/orders", {**body, "shipping_address": ADDRESS}, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert not Order.objects.exists() and stock(mug.id) == (5, 0)


def test_a_shipping_address_field_must_be_a_string(customer_client):
    mug = product(stock=5)
    response = customer_client.post(
        "/api/orders", order_body((mug, 1), shipping_address={**ADDRESS, "postal_code": 12345}), format="json"
    )
    assert response.status_code == 400
    assert "postal_code" in response.json()["error"]["details"]["shipping_address"]


@pytest.mark.parametrize("quantity", ["2", 2.0, True])
def test_cart_quantities_are_json_integers(customer_client, customer, quantity):
    mug = product(stock=5)
    added = customer_client.post(f"/api/cart/{customer.pk}/items", {"product_id": mug.id, "quantity": quantity})
    assert added.status_code == 400 and "quantity" in added.json()["error"]["details"]
    assert not CartItem.objects.exists()
    CartItem.objects.create(user=customer, product_id=mug.id, quantity=1)
    line = CartItem.objects.get()
    changed = customer_client.patch(f"/api/cart/{customer.pk}/items/{line.pk}", {"quantity": quantity})
    assert changed.status_code == 400
    line.refresh_from_db()
    assert line.quantity == 1
