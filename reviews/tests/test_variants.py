"""Reviews and ratings belong to the parent (API.md "Variants"); wishlists keep what is bought
(standalone products and variants), never a parent."""

from decimal import Decimal

import pytest

from catalog import services as catalog_services
from ecommerce.stores import mongo
from reviews import repository

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def tee():
    """A parent with two variants: (parent, small, medium)."""
    parent = catalog_services.product_create(name="Tee", option_names=["Size"])
    small = catalog_services.variant_create(parent_id=parent.id, sku="TEE-S", options={"Size": "S"}, price=Decimal("9"))
    medium = catalog_services.variant_create(
        parent_id=parent.id, sku="TEE-M", options={"Size": "M"}, price=Decimal("11")
    )
    return parent, small, medium


def _review(client, product_id: str, rating: int = 4):
    return client.post("/api/reviews", {"product_id": product_id, "rating": rating, "title": "Fits"}, format="json")


def test_a_review_naming_a_variant_is_filed_under_its_parent_and_rates_it(customer_client, anon_client, tee):
    parent, small, medium = tee

    response = _review(customer_client, small.id, rating=5)

    assert response.status_code == 201
    assert response.json()["product_id"] == parent.id
    stored = list(mongo.get_db()[repository.REVIEWS].find({}))
    assert [(doc["product_id"], doc["rating"]) for doc in stored] == [(parent.id, 5)]
    assert anon_client.get(f"/api/products/{parent.id}").json()["rating"] == {"average": "5.00", "count": 1}
    # A variant answers its parent's rating; its own document counts nothing.
    assert anon_client.get(f"/api/products/{small.id}").json()["rating"] == {"average": "5.00", "count": 1}
    assert mongo.get_db()["products"].find_one({"sku": "TEE-S"})["rating_count"] == 0
    # One review per user and product: the parent is the product, whichever variant is named.
    again = _review(customer_client, medium.id)
    assert again.status_code == 409
    assert _review(customer_client, parent.id).status_code == 409
    assert mongo.get_db()[repository.REVIEWS].count_documents({}) == 1


def test_a_variant_lists_its_parents_reviews(customer_client, other_client, anon_client, tee):
    parent, small, medium = tee
    _review(customer_client, small.id, rating=2)
    _review(other_client, parent.id, rating=4)

    for product_id in (parent.id, small.id, medium.id):
        body = anon_client.get(f"/api/reviews/product/{product_id}", {"sort": "rating"}).json()
        assert body["count"] == 2
        assert [(r["product_id"], r["rating"]) for r in body["results"]] == [(parent.id, 2), (parent.id, 4)]


def test_a_variant_of_an_inactive_parent_takes_no_customer_review(customer_client, staff_client, tee):
    parent, small, _ = tee
    catalog_services.product_update(product_id=parent.id, data={"is_active": False})

    response = _review(customer_client, small.id)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"product_id": ["Unknown product."]}
    assert _review(staff_client, small.id).status_code == 201  # staff see inactive products


def test_deleting_a_parent_removes_the_reviews_filed_under_it(customer_client, tee):
    parent, small, _ = tee
    _review(customer_client, small.id)

    catalog_services.product_delete(product_id=parent.id)

    assert mongo.get_db()[repository.REVIEWS].count_documents({}) == 0


def test_a_wishlist_keeps_a_variant_and_refuses_a_parent_naming_its_variants(customer_client, customer, tee):
    parent, small, medium = tee
    url = f"/api/wishlist/{customer.pk}/items"

    refused = customer_client.post(url, {"product_id": parent.id}, format="json")

    assert refused.status_code == 400
    assert sorted(refused.json()["error"]["details"]["product_id"]) == sorted([small.id, medium.id])
    added = customer_client.post(url, {"product_id": small.id}, format="json")
    assert added.status_code == 201
    assert [(i["product_id"], i["name"], i["price"]) for i in added.json()["items"]] == [(small.id, "Tee (S)", "9.00")]
    stored = list(mongo.get_db()[repository.WISHLIST_ENTRIES].find({}))
    assert [doc["product_id"] for doc in stored] == [small.id]


def test_deleting_a_variant_removes_it_from_wishlists(customer_client, customer, tee):
    _, small, medium = tee
    for variant in (small, medium):
        customer_client.post(f"/api/wishlist/{customer.pk}/items", {"product_id": variant.id}, format="json")

    catalog_services.product_delete(product_id=small.id)

    items = customer_client.get(f"/api/wishlist/{customer.pk}").json()["items"]
    assert [item["product_id"] for item in items] == [medium.id]
    stored = list(mongo.get_db()[repository.WISHLIST_ENTRIES].find({}))
    assert [doc["product_id"] for doc in stored] == [medium.id]
