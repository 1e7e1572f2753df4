from datetime import datetime
from decimal import Decimal

import pytest
from bson import ObjectId

from catalog import services as catalog_services
from ecommerce.stores import mongo
from ecommerce.testing.helpers import client_for, make_user
from reviews import repository, selectors

pytestmark = pytest.mark.django_db(databases="__all__")


def url(user, product_id=None):
    base = f"/api/wishlist/{user.pk if hasattr(user, 'pk') else user}"
    return f"{base}/items/{product_id}" if product_id else base


def add(client, user, product_id):
    return client.post(f"{url(user)}/items", {"product_id": product_id}, format="json")


def stored_entries(**query):
    return list(mongo.get_db()[repository.WISHLIST_ENTRIES].find(query))


def test_a_new_wishlist_is_empty(customer_client, customer):
    response = customer_client.get(url(customer))

    assert response.status_code == 200
    assert response.json() == {"user_id": customer.pk, "items": []}


def test_add_is_201_then_200_and_answers_the_wishlist(customer_client, customer, product):
    first = add(customer_client, customer, product.id)

    assert first.status_code == 201
    body = first.json()
    assert body["user_id"] == customer.pk
    [item] = body["items"]
    assert set(item) == {"product_id", "name", "price", "added_at"}
    assert (item["product_id"], item["name"], item["price"]) == (product.id, "Kettle", "25.00")
    assert item["added_at"].endswith("Z") and datetime.fromisoformat(item["added_at"])

    again = add(customer_client, customer, product.id)
    assert again.status_code == 200
    assert again.json() == body
    assert len(stored_entries(user_id=customer.pk)) == 1
    assert customer_client.get(url(customer)).json() == body


def test_items_are_newest_first_with_the_current_name_and_price(customer_client, customer, make_product):
    kettle = make_product(name="Kettle", price="25.00")
    toaster = make_product(name="Toaster", price="40.50")
    add(customer_client, customer, kettle.id)
    add(customer_client, customer, toaster.id)
    catalog_services.product_update(product_id=kettle.id, data={"name": "Kettle 2", "price": Decimal("19.99")})

    items = customer_client.get(url(customer)).json()["items"]

    assert [(i["product_id"], i["name"], i["price"]) for i in items] == [
        (toaster.id, "Toaster", "40.50"),
        (kettle.id, "Kettle 2", "19.99"),
    ]


def test_another_customers_wishlist_is_404_and_untouched(customer_client, customer, other_client, product):
    add(customer_client, customer, product.id)

    for response in (
        other_client.get(url(customer)),
        add(other_client, customer, product.id),
        other_client.delete(url(customer, product.id)),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert len(stored_entries()) == 1


def test_anonymous_is_401(anon_client, customer, product):
    assert anon_client.get(url(customer)).status_code == 401
    assert add(anon_client, customer, product.id).status_code == 401
    assert anon_client.delete(url(customer, product.id)).status_code == 401


def test_staff_sees_and_changes_anyones_wishlist(staff_client, customer, customer_client, product):
    assert add(staff_client, customer, product.id).status_code == 201
    assert customer_client.get(url(customer)).json()["items"][0]["product_id"] == product.id
    assert staff_client.get(url(customer)).json()["user_id"] == customer.pk

    assert staff_client.delete(url(customer, product.id)).status_code == 204
    assert stored_entries() == []


@pytest.mark.parametrize("user_id", [987654, 2**63, 10**30])
def test_unknown_user_is_404_even_for_staff(staff_client, product, user_id):
    assert staff_client.get(url(user_id)).status_code == 404
    assert add(staff_client, user_id, product.id).status_code == 404
    assert staff_client.delete(url(user_id, product.id)).status_code == 404
    assert stored_entries() == []


def test_non_numeric_user_id_is_404(staff_client):
    assert staff_client.get("/api/wishlist/abc").status_code == 404


@pytest.mark.parametrize("product_id", ["nope", "0" * 23, None, 5])
def test_malformed_product_id_is_a_400(customer_client, customer, product_id):
    response = add(customer_client, customer, product_id)

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"product_id"}


def test_unknown_product_is_a_400(customer_client, customer):
    response = add(customer_client, customer, str(ObjectId()))

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"product_id": ["Unknown product."]}
    assert stored_entries() == []


def test_inactive_products_are_for_staff_only(customer_client, staff_client, customer, make_product):
    hidden = make_product(name="Prototype", is_active=False)

    assert add(customer_client, customer, hidden.id).status_code == 400
    assert add(staff_client, customer, hidden.id).status_code == 201
    # The customer's own view shows only what they may see in the catalog.
    assert customer_client.get(url(customer)).json()["items"] == []
    assert [i["product_id"] for i in staff_client.get(url(customer)).json()["items"]] == [hidden.id]


def test_remove_is_204_then_404(customer_client, customer, product):
    add(customer_client, customer, product.id)

    assert customer_client.delete(url(customer, product.id)).status_code == 204
    assert stored_entries() == []
    again = customer_client.delete(url(customer, product.id))
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert customer_client.delete(url(customer, "nope")).status_code == 404


def test_entries_of_vanished_products_are_not_shown(customer_client, customer, product):
    add(customer_client, customer, product.id)
    repository.wishlist_entry_insert(
        user_id=customer.pk, product_id=str(ObjectId()), added_at=datetime.now().astimezone()
    )

    items = customer_client.get(url(customer)).json()["items"]

    assert [i["product_id"] for i in items] == [product.id]


def test_the_wishlist_is_capped(customer_client, customer, make_product, monkeypatch):
    monkeypatch.setattr(selectors, "WISHLIST_LIMIT", 2)
    products = [make_product(name=f"P{i}") for i in range(3)]
    assert add(customer_client, customer, products[0].id).status_code == 201
    assert add(customer_client, customer, products[1].id).status_code == 201

    full = add(customer_client, customer, products[2].id)

    assert full.status_code == 400
    assert "product_id" in full.json()["error"]["details"]
    assert {e["product_id"] for e in stored_entries()} == {products[0].id, products[1].id}
    assert add(customer_client, customer, products[0].id).status_code == 200  # already there: still fine


def test_wishlists_are_per_user(customer_client, customer, other_client, other_customer, product, make_product):
    add(customer_client, customer, product.id)
    add(other_client, other_customer, make_product(name="Toaster").id)

    assert [i["name"] for i in customer_client.get(url(customer)).json()["items"]] == ["Kettle"]
    assert [i["name"] for i in other_client.get(url(other_customer)).json()["items"]] == ["Toaster"]


def test_wishlist_round_trips_stay_flat_as_it_grows(
    customer_client, customer, make_product, mongo_commands, django_assert_max_num_queries
):
    products = [make_product(name=f"P{i}") for i in range(12)]

    def read():
        mongo_commands.reset()
        with django_assert_max_num_queries(2):  # the JWT's user and the owner check
            response = customer_client.get(url(customer))
        assert response.status_code == 200
        return len(response.json()["items"]), list(mongo_commands.commands)

    add(customer_client, customer, products[0].id)
    size_one, one = read()
    for p in products[1:]:
        add(customer_client, customer, p.id)
    size_many, many = read()

    assert (size_one, size_many) == (1, 12)
    assert one == many == ["find", "find"]  # the entries, then every product in one query


def test_user_deletion_service_removes_the_wishlist_but_keeps_reviews(customer_client, customer, product):
    from reviews import services

    add(customer_client, customer, product.id)
    other = make_user("keeper@example.com")
    add(client_for(other), other, product.id)
    customer_client.post("/api/reviews", {"product_id": product.id, "rating": 5, "title": "Great"}, format="json")

    services.wishlist_delete_for_user(user_id=customer.pk)

    assert [e["user_id"] for e in stored_entries()] == [other.pk]
    assert mongo.get_db()[repository.REVIEWS].count_documents({"user_id": customer.pk}) == 1
