from decimal import Decimal

import pytest
from bson import ObjectId
from django.db import connections
from django.test.utils import CaptureQueriesContext

from cart.models import CartItem
from ecommerce.stores import mongo
from ecommerce.testing.helpers import client_for, make_user
from inventory.models import StockReservation
from orders.models import Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import ADDRESS, order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__")

ORDER_FIELDS = {
    "id",
    "user_id",
    "email",
    "status",
    "items",
    "total",
    "currency",
    "shipping_address",
    "created_at",
    "updated_at",
}
LINE_FIELDS = {"product_id", "name", "sku", "options", "unit_price", "quantity", "line_total"}


def place(client, *lines, **extra):
    return client.post("/api/orders", order_body(*lines, **extra), format="json")


def test_placing_an_order_snapshots_prices_and_reserves_stock(customer_client, customer):
    mug, pen = product(name="Mug", price="9.99", stock=5), product(name="Pen", price="0.50", stock=100)

    response = place(customer_client, (mug, 2), (pen, 3))

    assert response.status_code == 201
    body = response.json()
    assert set(body) == ORDER_FIELDS and set(body["items"][0]) == LINE_FIELDS
    assert (body["user_id"], body["email"], body["status"], body["currency"]) == (
        customer.id,
        "customer@example.com",
        "pending",
        "USD",
    )
    assert sorted((i["name"], i["unit_price"], i["quantity"], i["line_total"]) for i in body["items"]) == [
        ("Mug", "9.99", 2, "19.98"),
        ("Pen", "0.50", 3, "1.50"),
    ]
    assert body["total"] == "21.48"
    assert body["shipping_address"] == ADDRESS
    assert body["created_at"].endswith("Z")
    assert stock(mug.id) == (3, 2) and stock(pen.id) == (97, 3)
    order = Order.objects.get()
    assert {(r.product_id, r.quantity, r.status) for r in reservations(order_reference=order.reference)} == {
        (mug.id, 2, "reserved"),
        (pen.id, 3, "reserved"),
    }
    assert stock_invariant_check() == []

    # The snapshot holds when the catalog changes.
    mongo.get_db()["products"].update_one({"_id": ObjectId(mug.id)}, {"$set": {"price_cents": 5000, "name": "Big"}})
    again = customer_client.get(f"/api/orders/{body['id']}").json()
    assert again["items"] == body["items"] and again["total"] == "21.48"


def test_out_of_stock_names_each_short_line_and_reserves_nothing(customer_client):
    mug, pen, cup = product(name="Mug", stock=1), product(name="Pen", stock=2), product(name="Cup", stock=50)

    response = place(customer_client, (mug, 2), (pen, 5), (cup, 1))

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "out_of_stock"
    assert sorted(error["details"]["items"], key=lambda i: i["requested"]) == [
        {"product_id": mug.id, "requested": 2, "available": 1},
        {"product_id": pen.id, "requested": 5, "available": 2},
    ]
    assert (stock(mug.id), stock(pen.id), stock(cup.id)) == ((1, 0), (2, 0), (50, 0))
    assert not Order.objects.exists() and not reservations()


def test_unknown_or_inactive_products_are_400_and_reserve_nothing(customer_client):
    mug, hidden = product(stock=5), product(name="Hidden", active=False, stock=5)
    missing = str(ObjectId())

    response = customer_client.post(
        "/api/orders",
        {
            "items": [{"product_id": p, "quantity": 1} for p in (mug.id, hidden.id, missing)],
            "shipping_address": ADDRESS,
        },
        format="json",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert {i["product_id"] for i in error["details"]["items"]} == {hidden.id, missing}
    assert stock(mug.id) == (5, 0) and not Order.objects.exists()


def test_duplicate_lines_of_one_product_are_merged(customer_client):
    mug = product(stock=10)
    body = place(customer_client, (mug, 2), (mug, 3)).json()
    assert [(i["product_id"], i["quantity"]) for i in body["items"]] == [(mug.id, 5)]
    assert stock(mug.id) == (5, 5)

    response = place(customer_client, (mug, 600), (mug, 600))
    assert response.status_code == 400 and "items" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "address, field",
    [
        ({k: v for k, v in ADDRESS.items() if k != "line1"}, "line1"),
        ({k: v for k, v in ADDRESS.items() if k != "city"}, "city"),
        ({k: v for k, v in ADDRESS.items() if k != "postal_code"}, "postal_code"),
        ({**ADDRESS, "country": "UK"}, "country"),
        ({**ADDRESS, "country": "GBR"}, "country"),
        ({**ADDRESS, "line1": "x" * 201}, "line1"),
        ({**ADDRESS, "postal_code": "1" * 21}, "postal_code"),
    ],
)
def test_the_shipping_address_is_validated(customer_client, address, field):
    mug = product()
    response = customer_client.post(
        "/api/orders", {"items": [{"product_id": mug.id, "quantity": 1}], "shipping_address": address}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["shipping_address"]
    assert stock(mug.id) == (10, 0)


def test_optional_address_fields_and_a_lower_case_country(customer_client):
    address = {"line1": "5 Rue X", "line2": "Bât. B", "city": "Paris", "postal_code": "75001", "country": "fr"}
    body = customer_client.post(
        "/api/orders",
        {"items": [{"product_id": product().id, "quantity": 1}], "shipping_address": address},
        format="json",
    ).json()
    assert body["shipping_address"] == {**address, "country": "FR"}


@pytest.mark.parametrize(
    "make_body",
    [
        lambda pid: {"shipping_address": ADDRESS},
        lambda pid: {"items": [], "shipping_address": ADDRESS},
        lambda pid: {"items": [{"product_id": "nope", "quantity": 1}], "shipping_address": ADDRESS},
        lambda pid: {"items": [{"product_id": pid, "quantity": 0}], "shipping_address": ADDRESS},
        lambda pid: {"items": [{"product_id": pid, "quantity": 1}]},
        lambda pid: {"items": [{"product_id": pid, "quantity": 1}], "from_cart": True, "shipping_address": ADDRESS},
        lambda pid: {"items": pid, "shipping_address": ADDRESS},
        lambda pid: {"items": [{"product_id": pid, "quantity": 1}] * 101, "shipping_address": ADDRESS},
    ],
)
def test_malformed_order_requests_are_400(customer_client, make_body):
    mug = product()
    response = customer_client.post("/api/orders", make_body(mug.id), format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert stock(mug.id) == (10, 0)


def test_from_cart_orders_the_cart_and_empties_it(customer_client, customer):
    mug, pen = product(name="Mug", price="3.00"), product(name="Pen", price="1.25")
    for item, quantity in ((mug, 2), (pen, 4)):
        customer_client.post(f"/api/cart/{customer.id}/items", {"product_id": item.id, "quantity": quantity})

    response = customer_client.post("/api/orders", {"from_cart": True, "shipping_address": ADDRESS}, format="json")

    assert response.status_code == 201
    assert response.json()["total"] == "11.00"
    assert not CartItem.objects.filter(user=customer).exists()
    assert stock(mug.id) == (8, 2) and stock(pen.id) == (6, 4)


def test_from_cart_keeps_the_cart_when_the_order_fails(customer_client, customer):
    mug = product(stock=1)
    customer_client.post(f"/api/cart/{customer.id}/items", {"product_id": mug.id, "quantity": 3})

    response = customer_client.post("/api/orders", {"from_cart": True, "shipping_address": ADDRESS}, format="json")

    assert response.status_code == 409
    assert CartItem.objects.get(user=customer).quantity == 3


def test_from_an_empty_cart_is_400(customer_client):
    response = customer_client.post("/api/orders", {"from_cart": True, "shipping_address": ADDRESS}, format="json")
    assert response.status_code == 400 and not Order.objects.exists()


def test_staff_may_order_for_a_user_and_customers_may_not(staff_client, customer_client, customer, other_customer):
    mug = product()

    response = place(staff_client, (mug, 1), user_id=customer.id)
    assert response.status_code == 201
    assert (response.json()["user_id"], response.json()["email"]) == (customer.id, customer.email)

    assert place(staff_client, (mug, 1), user_id=999999).status_code == 400
    assert place(customer_client, (mug, 1), user_id=other_customer.id).status_code == 403
    assert place(customer_client, (mug, 1), user_id=customer.id).status_code == 201
    assert Order.objects.filter(user=customer).count() == 2 and stock(mug.id) == (8, 2)


def test_anonymous_users_cannot_order_or_read(anon_client):
    mug = product()
    assert place(anon_client, (mug, 1)).status_code == 401
    assert anon_client.get("/api/orders").status_code == 401
    assert stock(mug.id) == (10, 0)


def test_customers_list_their_own_orders_newest_first_staff_all(customer_client, other_client, staff_client):
    mug = product(stock=100)
    first = place(customer_client, (mug, 1)).json()["id"]
    second = place(customer_client, (mug, 2)).json()["id"]
    theirs = place(other_client, (mug, 3)).json()["id"]

    mine = customer_client.get("/api/orders").json()
    assert set(mine) == {"count", "next", "previous", "results"}
    assert [o["id"] for o in mine["results"]] == [second, first]
    assert [o["id"] for o in staff_client.get("/api/orders").json()["results"]] == [theirs, second, first]


def test_the_list_filters_by_status_and_rejects_unknown_ones(customer_client, staff_client):
    mug = product(stock=100)
    paid = place(customer_client, (mug, 1)).json()["id"]
    place(customer_client, (mug, 1))
    staff_client.patch(f"/api/orders/{paid}/status", {"status": "paid"}, format="json")

    assert [o["id"] for o in customer_client.get("/api/orders?status=paid").json()["results"]] == [paid]
    assert customer_client.get("/api/orders?status=pending").json()["count"] == 1
    response = customer_client.get("/api/orders?status=lost")
    assert response.status_code == 400 and "status" in response.json()["error"]["details"]


def test_an_order_is_seen_by_its_owner_and_staff_only(customer_client, other_client, staff_client):
    order_id = place(customer_client, (product(), 1)).json()["id"]
    assert customer_client.get(f"/api/orders/{order_id}").status_code == 200
    assert staff_client.get(f"/api/orders/{order_id}").status_code == 200
    assert other_client.get(f"/api/orders/{order_id}").status_code == 404
    assert customer_client.get("/api/orders/999999").status_code == 404


def test_status_changes_are_staff_only_and_follow_the_machine(customer_client, staff_client):
    mug = product(stock=10)
    order_id = place(customer_client, (mug, 4)).json()["id"]
    path = f"/api/orders/{order_id}/status"

    assert customer_client.patch(path, {"status": "paid"}, format="json").status_code == 403
    for wrong in ("shipped", "delivered", "pending"):
        response = staff_client.patch(path, {"status": wrong}, format="json")
        assert response.status_code == 409 and response.json()["error"]["code"] == "invalid_transition"
    assert staff_client.patch(path, {"status": "lost"}, format="json").status_code == 400

    assert staff_client.patch(path, {"status": "paid"}, format="json").json()["status"] == "paid"
    assert stock(mug.id) == (6, 4)
    shipped = staff_client.patch(path, {"status": "shipped"}, format="json")
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    # Shipping turns reserved units into sold ones.
    assert stock(mug.id) == (6, 0)
    assert [r.status for r in reservations()] == ["committed"]
    assert staff_client.patch(path, {"status": "cancelled"}, format="json").status_code == 409
    assert staff_client.patch(path, {"status": "delivered"}, format="json").json()["status"] == "delivered"
    for wrong in ("paid", "cancelled", "shipped"):
        assert staff_client.patch(path, {"status": wrong}, format="json").status_code == 409
    assert stock(mug.id) == (6, 0) and stock_invariant_check() == []


def test_cancelling_returns_stock_exactly_once(customer_client, staff_client):
    mug = product(stock=10)
    order_id = place(customer_client, (mug, 4)).json()["id"]

    response = customer_client.post(f"/api/orders/{order_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert stock(mug.id) == (10, 0)
    assert [r.status for r in reservations()] == ["released"]
    assert Order.objects.get().cancel_reason == "customer"

    again = customer_client.post(f"/api/orders/{order_id}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"
    assert (
        staff_client.patch(f"/api/orders/{order_id}/status", {"status": "cancelled"}, format="json").status_code == 409
    )
    assert stock(mug.id) == (10, 0) and stock_invariant_check() == []


def test_paid_orders_can_be_cancelled_by_staff_but_shipped_ones_not(customer_client, staff_client, other_client):
    mug = product(stock=10)
    paid = place(customer_client, (mug, 1)).json()["id"]
    shipped = place(customer_client, (mug, 2)).json()["id"]
    staff_client.patch(f"/api/orders/{paid}/status", {"status": "paid"}, format="json")
    for status in ("paid", "shipped"):
        staff_client.patch(f"/api/orders/{shipped}/status", {"status": status}, format="json")

    assert other_client.post(f"/api/orders/{paid}/cancel").status_code == 404
    assert staff_client.post(f"/api/orders/{paid}/cancel").json()["status"] == "cancelled"
    assert Order.objects.get(pk=paid).cancel_reason == "staff"
    assert customer_client.post(f"/api/orders/{shipped}/cancel").status_code == 409
    assert stock(mug.id) == (8, 0)


def _queries(client, path):
    with CaptureQueriesContext(connections["default"]) as pg, CaptureQueriesContext(connections["mysql"]) as my:
        response = client.get(path)
    assert response.status_code == 200
    return len(pg), len(my)


def test_order_list_and_detail_queries_stay_flat(customer_client, customer, staff_client):
    products = [product(name=f"P{i}", stock=100) for i in range(6)]
    first = place(customer_client, (products[0], 1)).json()["id"]
    small = (_queries(customer_client, "/api/orders"), _queries(customer_client, f"/api/orders/{first}"))
    small_staff = _queries(staff_client, "/api/orders")

    big = place(customer_client, *[(p, 2) for p in products]).json()["id"]
    for _ in range(4):
        place(customer_client, *[(p, 1) for p in products[:3]])
    large = (_queries(customer_client, "/api/orders"), _queries(customer_client, f"/api/orders/{big}"))

    # List: the caller, the count, the page, its lines. Detail: the caller, the order, its lines.
    assert small == large == ((4, 0), (3, 0))
    assert small_staff == _queries(staff_client, "/api/orders") == (4, 0)


def test_users_orders_are_for_self_and_staff_newest_first(customer_client, customer, other_client, staff_client):
    mug = product(stock=50)
    ids = [place(customer_client, (mug, 1)).json()["id"] for _ in range(3)]
    place(other_client, (mug, 1))

    mine = customer_client.get(f"/api/users/{customer.id}/orders?limit=2").json()
    assert mine["count"] == 3 and [o["id"] for o in mine["results"]] == ids[::-1][:2]
    assert mine["next"]
    assert staff_client.get(f"/api/users/{customer.id}/orders").json()["count"] == 3
    assert other_client.get(f"/api/users/{customer.id}/orders").status_code == 404
    assert staff_client.get("/api/users/999999/orders").status_code == 404


def test_deleting_a_user_keeps_their_orders_with_the_email_snapshot(customer_client, customer, staff_client):
    order_id = place(customer_client, (product(), 1)).json()["id"]
    assert staff_client.delete(f"/api/users/{customer.id}").status_code == 204

    body = staff_client.get(f"/api/orders/{order_id}").json()
    assert (body["user_id"], body["email"]) == (None, "customer@example.com")
    assert stock_invariant_check() == []


def test_order_totals_are_exact_decimals(customer_client):
    cheap = product(price="0.10", stock=1000)
    body = place(customer_client, (cheap, 3)).json()
    assert body["total"] == "0.30"
    assert Order.objects.get().total == Decimal("0.30")


def test_a_customer_without_orders_sees_an_empty_list():
    client = client_for(make_user("fresh@example.com"))
    assert client.get("/api/orders").json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_reservations_use_the_orders_reference(customer_client):
    place(customer_client, (product(), 1))
    order = Order.objects.get()
    assert StockReservation.objects.using("mysql").get().order_reference == order.reference


def test_an_order_over_the_largest_total_is_a_400_and_reserves_nothing(customer_client):
    bars = [product(name=f"Gold bar {i}", price="1000000.00", stock=1000) for i in range(11)]

    response = place(customer_client, *[(bar, 1000) for bar in bars])

    assert response.status_code == 400
    assert "items" in response.json()["error"]["details"]
    assert all(stock(bar.id) == (1000, 0) for bar in bars)
    assert not Order.objects.exists()


def test_the_fast_order_representation_is_what_drf_fields_give(customer_client):
    from rest_framework import serializers as drf_serializers

    from orders.serializers import OrderSerializer

    mug, pen = product(name="Mug", price="9.99"), product(name="Pen", price="0.10")
    order_id = place(customer_client, (mug, 2), (pen, 3)).json()["id"]
    order = Order.objects.prefetch_related("lines").get(pk=order_id)
    order.shipping_address = {**order.shipping_address, "name": "Ada", "line2": ""}

    by_fields = drf_serializers.ModelSerializer.to_representation(OrderSerializer(), order)

    assert OrderSerializer(order).data == by_fields
