from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from bson import ObjectId
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from cart.models import CartItem
from catalog import services as catalog_services
from ecommerce.stores import mongo
from ecommerce.testing.helpers import make_user
from orders.tests.factories import product

pytestmark = pytest.mark.django_db(databases="__all__")

CART_FIELDS = {"user_id", "items", "item_count", "total", "currency"}
ITEM_FIELDS = {"id", "product_id", "name", "sku", "options", "unit_price", "quantity", "line_total"}


def add(client, user, item, quantity=1):
    return client.post(f"/api/cart/{user.id}/items", {"product_id": item.id, "quantity": quantity}, format="json")


def test_an_empty_cart(customer_client, customer):
    body = customer_client.get(f"/api/cart/{customer.id}").json()
    assert body == {"user_id": customer.id, "items": [], "item_count": 0, "total": "0.00", "currency": "USD"}


def test_adding_answers_201_with_live_prices_and_decimal_totals(customer_client, customer):
    mug = product(name="Mug", price="9.99")
    pen = product(name="Pen", price="0.10")

    assert add(customer_client, customer, mug, 2).status_code == 201
    response = add(customer_client, customer, pen, 3)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == CART_FIELDS and set(body["items"][0]) == ITEM_FIELDS
    lines = [
        (i["name"], i["sku"], i["options"], i["unit_price"], i["quantity"], i["line_total"]) for i in body["items"]
    ]
    assert lines == [
        ("Mug", None, {}, "9.99", 2, "19.98"),
        ("Pen", None, {}, "0.10", 3, "0.30"),
    ]
    assert (body["item_count"], body["total"]) == (5, "20.28")

    # Prices are live: a price change shows in the cart.
    mongo.get_db()["products"].update_one({"_id": ObjectId(mug.id)}, {"$set": {"price_cents": 1250}})
    assert customer_client.get(f"/api/cart/{customer.id}").json()["total"] == "25.30"


def test_adding_the_same_product_again_adds_to_its_line(customer_client, customer):
    mug = product()
    add(customer_client, customer, mug, 2)
    body = add(customer_client, customer, mug, 5).json()
    assert [(i["product_id"], i["quantity"]) for i in body["items"]] == [(mug.id, 7)]
    assert CartItem.objects.get(user=customer).quantity == 7


def test_a_line_holds_at_most_1000_units(customer_client, customer):
    mug = product()
    assert add(customer_client, customer, mug, 1000).status_code == 201
    response = add(customer_client, customer, mug, 1)
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert CartItem.objects.get(user=customer).quantity == 1000


@pytest.mark.parametrize(
    "body",
    [
        {"product_id": "nope", "quantity": 1},
        {"quantity": 1},
        {"product_id": "PRODUCT", "quantity": 0},
        {"product_id": "PRODUCT", "quantity": 1001},
        {"product_id": "PRODUCT", "quantity": "two"},
    ],
)
def test_bad_adds_are_400(customer_client, customer, body):
    mug = product()
    if body.get("product_id") == "PRODUCT":
        body = {**body, "product_id": mug.id}
    response = customer_client.post(f"/api/cart/{customer.id}/items", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert not CartItem.objects.exists()


def test_unknown_or_inactive_products_cannot_be_added(customer_client, customer):
    hidden = product(active=False)
    for product_id in (hidden.id, str(ObjectId())):
        response = customer_client.post(
            f"/api/cart/{customer.id}/items", {"product_id": product_id, "quantity": 1}, format="json"
        )
        assert response.status_code == 400
        assert "product_id" in response.json()["error"]["details"]
    assert not CartItem.objects.exists()


def test_another_customers_cart_is_404_and_staff_sees_any(customer_client, other_customer, staff_client, anon_client):
    mug = product()
    add(staff_client, other_customer, mug)  # staff may fill anyone's cart
    assert staff_client.get(f"/api/cart/{other_customer.id}").json()["item_count"] == 1

    item_id = CartItem.objects.get().id
    for method, path in [
        ("get", f"/api/cart/{other_customer.id}"),
        ("post", f"/api/cart/{other_customer.id}/items"),
        ("patch", f"/api/cart/{other_customer.id}/items/{item_id}"),
        ("delete", f"/api/cart/{other_customer.id}/items/{item_id}"),
        ("delete", f"/api/cart/{other_customer.id}/clear"),
    ]:
        response = getattr(customer_client, method)(path, {"product_id": mug.id, "quantity": 1}, format="json")
        assert response.status_code == 404, path
        assert getattr(anon_client, method)(path).status_code == 401, path
    assert CartItem.objects.get().quantity == 1
    assert staff_client.get("/api/cart/999999").status_code == 404


def test_patch_sets_the_quantity_of_ones_own_line_only(customer_client, customer, other_customer):
    mug = product()
    add(customer_client, customer, mug, 2)
    mine = CartItem.objects.get(user=customer)
    theirs = CartItem.objects.create(user=other_customer, product_id=mug.id, quantity=1)

    response = customer_client.patch(f"/api/cart/{customer.id}/items/{mine.id}", {"quantity": 9}, format="json")
    assert response.status_code == 200 and response.json()["items"][0]["quantity"] == 9

    assert (
        customer_client.patch(f"/api/cart/{customer.id}/items/{theirs.id}", {"quantity": 5}, format="json").status_code
        == 404
    )
    assert (
        customer_client.patch(f"/api/cart/{customer.id}/items/{mine.id}", {"quantity": 0}, format="json").status_code
        == 400
    )
    assert customer_client.patch(f"/api/cart/{customer.id}/items/{mine.id}", {}, format="json").status_code == 400
    theirs.refresh_from_db()
    assert theirs.quantity == 1


def test_delete_a_line_and_clear(customer_client, customer):
    mug, pen = product(name="Mug"), product(name="Pen")
    add(customer_client, customer, mug)
    add(customer_client, customer, pen)
    line = CartItem.objects.get(product_id=mug.id)

    assert customer_client.delete(f"/api/cart/{customer.id}/items/{line.id}").status_code == 204
    assert customer_client.delete(f"/api/cart/{customer.id}/items/{line.id}").status_code == 404
    assert list(CartItem.objects.values_list("product_id", flat=True)) == [pen.id]

    assert customer_client.delete(f"/api/cart/{customer.id}/clear").status_code == 204
    assert not CartItem.objects.exists()


def test_lines_of_inactive_products_are_left_out_and_deleted_products_leave_the_cart(customer_client, customer):
    mug, pen = product(name="Mug", price="2.00"), product(name="Pen", price="1.00")
    add(customer_client, customer, mug)
    add(customer_client, customer, pen)

    mongo.get_db()["products"].update_one({"_id": ObjectId(mug.id)}, {"$set": {"is_active": False}})
    body = customer_client.get(f"/api/cart/{customer.id}").json()
    assert [i["name"] for i in body["items"]] == ["Pen"] and body["total"] == "1.00"
    assert CartItem.objects.count() == 2  # kept: it comes back if the product is reactivated

    catalog_services.product_delete(product_id=pen.id)
    assert not CartItem.objects.filter(product_id=pen.id).exists()
    assert customer_client.get(f"/api/cart/{customer.id}").json()["items"] == []


def test_deleting_the_user_deletes_their_cart(customer_client, customer):
    add(customer_client, customer, product())
    customer_client.delete(f"/api/users/{customer.id}")
    assert not CartItem.objects.exists()


def _queries_for_cart_read(client, user):
    with CaptureQueriesContext(connections["default"]) as pg, CaptureQueriesContext(connections["mysql"]) as my:
        assert client.get(f"/api/cart/{user.id}").status_code == 200
    return len(pg), len(my)


def test_cart_read_queries_are_flat_as_the_cart_grows(customer_client, customer):
    add(customer_client, customer, product(name="First"))
    one_line = _queries_for_cart_read(customer_client, customer)
    for i in range(10):
        add(customer_client, customer, product(name=f"More {i}"))
    eleven_lines = _queries_for_cart_read(customer_client, customer)

    # The caller (who is the owner: no second look-up), the lines; no MySQL (and one MongoDB query).
    assert one_line == eleven_lines == (2, 0)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_adds_of_one_product_make_one_line(live_api):
    mug = product()
    buyer = make_user("racer@example.com")
    token = AccessToken.for_user(buyer)

    def add_one(_):
        return requests.post(
            f"{live_api.url}/api/cart/{buyer.id}/items",
            json={"product_id": mug.id, "quantity": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(add_one, range(12)))

    assert statuses == [201] * 12
    assert list(CartItem.objects.filter(user=buyer).values_list("quantity", flat=True)) == [12]


def test_a_cart_holds_at_most_100_products_and_prices_the_largest_total(customer_client, customer):
    from cart.models import MAX_CART_LINES

    big = [product(name=f"Gold bar {i}", price="1000000.00") for i in range(MAX_CART_LINES)]
    CartItem.objects.bulk_create(CartItem(user=customer, product_id=p.id, quantity=1000) for p in big)

    refused = add(customer_client, customer, product(name="One more"))
    cart = customer_client.get(f"/api/cart/{customer.id}")

    assert refused.status_code == 400 and "product_id" in refused.json()["error"]["details"]
    assert cart.status_code == 200 and cart.json()["total"] == "100000000000.00"
    assert CartItem.objects.filter(user=customer).count() == MAX_CART_LINES
