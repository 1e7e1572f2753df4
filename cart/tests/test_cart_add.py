"""Adding to a cart: one SQL round trip whose answer is the cart, and its caps (1000 units a
line, 100 products a cart) holding under concurrent adds."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from bson import ObjectId
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework_simplejwt.tokens import AccessToken

from cart.models import MAX_CART_LINES, MAX_LINE_QUANTITY, CartItem
from cart.selectors import cart_get
from cart.serializers import CartSerializer
from catalog import services as catalog_services
from ecommerce.stores import mongo
from ecommerce.testing.helpers import make_user
from orders.tests.factories import product

pytestmark = pytest.mark.django_db(databases="__all__")


def add(client, user, item, quantity=1):
    return client.post(f"/api/cart/{user.id}/items", {"product_id": item.id, "quantity": quantity}, format="json")


def _queries_for_add(client, user, item, quantity=1):
    with CaptureQueriesContext(connections["default"]) as pg, CaptureQueriesContext(connections["mysql"]) as my:
        assert add(client, user, item, quantity).status_code == 201
    return len(pg), len(my)


def test_an_add_is_one_sql_round_trip_whatever_the_cart_holds(customer_client, customer):
    mugs = [product(name=f"Mug {i}") for i in range(11)]
    first = _queries_for_add(customer_client, customer, mugs[0])
    for mug in mugs[1:]:
        add(customer_client, customer, mug)
    again = _queries_for_add(customer_client, customer, mugs[0], 4)
    new_line = _queries_for_add(customer_client, customer, product(name="Pen"))

    # The caller's account, then one message: the cart's lock, the upsert and the cart's lines. No MySQL.
    assert first == again == new_line == (2, 0)
    assert CartItem.objects.get(user=customer, product_id=mugs[0].id).quantity == 5
    assert CartItem.objects.filter(user=customer).count() == 12


def test_the_answer_of_an_add_is_the_cart_as_read_afterwards(customer_client, customer, other_customer):
    mug, pen, lamp = product(name="Mug", price="3.50"), product(name="Pen"), product(name="Lamp", price="20.00")
    add(customer_client, customer, mug, 2)
    add(customer_client, customer, pen)
    CartItem.objects.create(user=other_customer, product_id=lamp.id, quantity=3)  # another cart: not in ours
    mongo.get_db()["products"].update_one({"_id": ObjectId(pen.id)}, {"$set": {"is_active": False}})

    answered = add(customer_client, customer, lamp, 1).json()
    again = add(customer_client, customer, mug, 1).json()

    # Oldest line first, the deactivated product's line left out of the lines and the totals.
    assert [(i["name"], i["quantity"]) for i in answered["items"]] == [("Mug", 2), ("Lamp", 1)]
    assert again == customer_client.get(f"/api/cart/{customer.id}").json()
    assert [(i["name"], i["quantity"]) for i in again["items"]] == [("Mug", 3), ("Lamp", 1)]
    assert (again["item_count"], again["total"]) == (4, "30.50")
    assert CartItem.objects.get(user=other_customer).quantity == 3


def test_the_line_cap_and_the_cart_cap_refuse_without_changing_the_cart(customer_client, customer):
    full = [product(name=f"Bar {i}") for i in range(MAX_CART_LINES)]
    CartItem.objects.bulk_create(CartItem(user=customer, product_id=p.id, quantity=1) for p in full)
    CartItem.objects.filter(product_id=full[0].id).update(quantity=MAX_LINE_QUANTITY - 2)

    over_line = add(customer_client, customer, full[0], 3)
    over_cart = add(customer_client, customer, product(name="One more"))
    in_cart = add(customer_client, customer, full[0], 2)  # a product already in a full cart still adds

    assert over_line.status_code == over_cart.status_code == 400
    assert "quantity" in over_line.json()["error"]["details"]
    assert "product_id" in over_cart.json()["error"]["details"]
    assert in_cart.status_code == 201
    assert CartItem.objects.get(product_id=full[0].id).quantity == MAX_LINE_QUANTITY
    assert CartItem.objects.filter(user=customer).count() == MAX_CART_LINES


def test_the_fast_cart_representation_is_what_drf_fields_give(customer_client, customer):
    parent = catalog_services.product_create(name="Tee", option_names=["Size"])
    variant = catalog_services.variant_create(
        parent_id=parent.id, sku="TEE-M", options={"Size": "M"}, price=Decimal("12.50")
    )
    add(customer_client, customer, product(name="Gold", price="99999999.99"), 1000)
    add(customer_client, customer, variant, 3)
    cart = cart_get(user_id=customer.id)

    declared = serializers.Serializer.to_representation(CartSerializer(), cart)

    assert CartSerializer(cart).data == declared
    assert declared["total"] == "100000000027.50"
    assert [(i["sku"], i["options"]) for i in declared["items"]] == [(None, {}), ("TEE-M", {"Size": "M"})]


def _post_adds(url: str, user, product_ids: list[str], quantity: int = 1) -> list[int]:
    token = AccessToken.for_user(user)

    def post(product_id: str) -> int:
        return requests.post(
            f"{url}/api/cart/{user.id}/items",
            json={"product_id": product_id, "quantity": quantity},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=len(product_ids)) as pool:
        return list(pool.map(post, product_ids))


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_adds_of_new_products_never_pass_100_lines(live_api):
    buyer = make_user("filler@example.com")
    held = [product(name=f"Held {i}") for i in range(MAX_CART_LINES - 5)]
    CartItem.objects.bulk_create(CartItem(user=buyer, product_id=p.id, quantity=1) for p in held)
    newcomers = [product(name=f"New {i}") for i in range(12)]

    statuses = _post_adds(live_api.url, buyer, [p.id for p in newcomers])

    assert sorted(statuses) == [201] * 5 + [400] * 7
    assert CartItem.objects.filter(user=buyer).count() == MAX_CART_LINES
    assert CartItem.objects.filter(user=buyer, product_id__in=[p.id for p in newcomers]).count() == 5


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_adds_to_one_line_stop_exactly_at_1000_units(live_api):
    buyer = make_user("stacker@example.com")
    mug = product()
    CartItem.objects.create(user=buyer, product_id=mug.id, quantity=MAX_LINE_QUANTITY - 10)

    statuses = _post_adds(live_api.url, buyer, [mug.id] * 12)

    assert sorted(statuses) == [201] * 10 + [400] * 2
    assert list(CartItem.objects.filter(user=buyer).values_list("quantity", flat=True)) == [MAX_LINE_QUANTITY]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_adds_of_several_products_lose_nothing(live_api):
    buyer = make_user("mixer@example.com")
    mug, pen, lamp = product(name="Mug"), product(name="Pen"), product(name="Lamp")

    statuses = _post_adds(live_api.url, buyer, [mug.id, pen.id, lamp.id] * 5, quantity=2)

    assert statuses == [201] * 15
    lines = dict(CartItem.objects.filter(user=buyer).values_list("product_id", "quantity"))
    assert lines == {mug.id: 10, pen.id: 10, lamp.id: 10}
