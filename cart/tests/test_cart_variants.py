"""Variants in carts (API.md "Variants"): a variant is added by its own id and its line carries
its SKU and options, live from the catalog like its name and price; a parent is never added
(400 naming its variants); a deleted variant leaves every cart."""

import pytest

from cart.models import CartItem
from ecommerce.testing.helpers import client_for, make_user
from orders.tests.factories import product

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def tee(staff_client):
    """A parent "Tee" (Size x Colour) with three variants: (parent id, {(size, colour): variant id})."""
    parent = staff_client.post("/api/products", {"name": "Tee", "option_names": ["Size", "Colour"]}, format="json")
    assert parent.status_code == 201, parent.json()
    parent_id, variants = parent.json()["id"], {}
    for size, colour, price in (("S", "Red", "12.00"), ("M", "Red", "14.00"), ("M", "Blue", "15.00")):
        body = {"sku": f"TEE-{size}-{colour}".upper(), "options": {"Size": size, "Colour": colour}, "price": price}
        added = staff_client.post(f"/api/products/{parent_id}/variants", {**body, "initial_stock": 5}, format="json")
        assert added.status_code == 201, added.json()
        variants[(size, colour)] = added.json()["id"]
    return parent_id, variants


def add(client, user, product_id: str, quantity: int = 1):
    return client.post(f"/api/cart/{user.id}/items", {"product_id": product_id, "quantity": quantity}, format="json")


def test_a_variant_line_carries_its_sku_and_options(customer_client, customer, tee):
    _, variants = tee
    mug = product(name="Mug", price="3.00")

    add(customer_client, customer, mug.id)
    response = add(customer_client, customer, variants[("M", "Red")], 2)

    assert response.status_code == 201
    lines = [(i["product_id"], i["name"], i["sku"], i["options"], i["unit_price"]) for i in response.json()["items"]]
    assert lines == [
        (mug.id, "Mug", None, {}, "3.00"),
        (variants[("M", "Red")], "Tee (M / Red)", "TEE-M-RED", {"Size": "M", "Colour": "Red"}, "14.00"),
    ]
    assert response.json()["total"] == "31.00"
    assert customer_client.get(f"/api/cart/{customer.id}").json() == response.json()
    assert dict(CartItem.objects.filter(user=customer).values_list("product_id", "quantity")) == {
        mug.id: 1,
        variants[("M", "Red")]: 2,
    }


def test_a_line_shows_the_variants_sku_options_and_price_as_they_are_now(staff_client, customer_client, customer, tee):
    _, variants = tee
    variant = variants[("M", "Red")]
    add(customer_client, customer, variant)

    changed = staff_client.patch(
        f"/api/products/{variant}", {"options": {"Size": "L", "Colour": "Red"}, "price": "16.50"}, format="json"
    )
    assert changed.status_code == 200, changed.json()

    (line,) = customer_client.get(f"/api/cart/{customer.id}").json()["items"]
    assert (line["product_id"], line["sku"]) == (variant, "TEE-M-RED")  # the SKU was not changed
    assert (line["options"], line["unit_price"]) == ({"Size": "L", "Colour": "Red"}, "16.50")


def test_a_parent_is_a_400_naming_its_variants_and_stores_nothing(customer_client, customer, tee):
    parent_id, variants = tee
    add(customer_client, customer, variants[("S", "Red")])

    response = add(customer_client, customer, parent_id)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert sorted(error["details"]["product_id"]) == sorted(variants.values())
    assert list(CartItem.objects.values_list("product_id", flat=True)) == [variants[("S", "Red")]]


def test_an_inactive_variant_or_a_variant_of_an_inactive_parent_cannot_be_added(staff_client, customer, tee):
    parent_id, variants = tee
    buyer = client_for(customer)
    staff_client.patch(f"/api/products/{variants[('S', 'Red')]}", {"is_active": False}, format="json")

    refused_variant = add(buyer, customer, variants[("S", "Red")])
    staff_client.patch(f"/api/products/{parent_id}", {"is_active": False}, format="json")
    refused_child = add(buyer, customer, variants[("M", "Blue")])
    refused_parent = add(buyer, customer, parent_id)

    for refused in (refused_variant, refused_child, refused_parent):
        assert refused.status_code == 400
        assert refused.json()["error"]["details"]["product_id"] == ["The product does not exist or is not for sale."]
    assert not CartItem.objects.exists()


def test_deleting_a_variant_drops_it_from_every_cart_and_keeps_the_other_lines(staff_client, customer, tee):
    _, variants = tee
    other = make_user("other-shopper@example.com")
    gone, kept = variants[("M", "Red")], variants[("M", "Blue")]
    for user in (customer, other):
        client = client_for(user)
        assert add(client, user, gone, 2).status_code == 201
        assert add(client, user, kept).status_code == 201

    assert staff_client.delete(f"/api/products/{gone}").status_code == 204

    assert set(CartItem.objects.values_list("user_id", "product_id")) == {(customer.id, kept), (other.id, kept)}
    (line,) = client_for(customer).get(f"/api/cart/{customer.id}").json()["items"]
    assert (line["product_id"], line["sku"]) == (kept, "TEE-M-BLUE")


def test_deleting_a_parent_drops_all_its_variants_from_carts(staff_client, customer_client, customer, tee):
    parent_id, variants = tee
    mug = product()
    for product_id in [*variants.values(), mug.id]:
        assert add(customer_client, customer, product_id).status_code == 201

    assert staff_client.delete(f"/api/products/{parent_id}").status_code == 204

    assert list(CartItem.objects.values_list("product_id", flat=True)) == [mug.id]
    assert [i["product_id"] for i in customer_client.get(f"/api/cart/{customer.id}").json()["items"]] == [mug.id]
