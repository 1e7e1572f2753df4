"""Deleting a product (catalog.services.product_delete) takes its reviews, votes and wishlist entries."""

import pytest

from catalog import services as catalog_services
from ecommerce.stores import mongo
from ecommerce.testing.helpers import client_for, make_user
from reviews import repository

pytestmark = pytest.mark.django_db(databases="__all__")


def count(collection, **query):
    return mongo.get_db()[collection].count_documents(query)


def test_deleting_a_product_deletes_its_reviews_votes_and_wishlist_entries(make_product):
    doomed, kept = make_product(name="Doomed"), make_product(name="Kept")
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    for user in (alice, bob):
        client = client_for(user)
        for product in (doomed, kept):
            review = client.post(
                "/api/reviews", {"product_id": product.id, "rating": 4, "title": "Hm"}, format="json"
            ).json()
            client_for(alice if user == bob else bob).post(f"/api/reviews/{review['id']}/helpful")
            assert (
                client.post(f"/api/wishlist/{user.pk}/items", {"product_id": product.id}, format="json").status_code
                == 201
            )
    assert count(repository.REVIEW_VOTES, product_id=doomed.id) == 2

    catalog_services.product_delete(product_id=doomed.id)

    for collection in (repository.REVIEWS, repository.REVIEW_VOTES, repository.WISHLIST_ENTRIES):
        assert count(collection, product_id=doomed.id) == 0
        assert count(collection, product_id=kept.id) == 2
    assert [i["product_id"] for i in client_for(alice).get(f"/api/wishlist/{alice.pk}").json()["items"]] == [kept.id]
    assert client_for(alice).get(f"/api/reviews/product/{doomed.id}").status_code == 404


def test_a_review_posted_for_a_product_deleted_meanwhile_is_taken_back(customer_client, make_product, monkeypatch):
    """The delete hook ran before the review was inserted: the post notices and removes it."""
    from catalog import selectors as catalog_selectors

    product = make_product(name="Racing")
    real_get = catalog_selectors.product_get

    def get_then_delete(**kwargs):
        found = real_get(**kwargs)
        catalog_services.product_delete(product_id=product.id)
        return found

    monkeypatch.setattr(catalog_selectors, "product_get", get_then_delete)

    response = customer_client.post(
        "/api/reviews", {"product_id": product.id, "rating": 5, "title": "Late"}, format="json"
    )

    assert response.status_code == 400
    assert count(repository.REVIEWS) == 0


def test_a_wishlist_add_for_a_product_deleted_meanwhile_is_taken_back(
    customer_client, customer, make_product, monkeypatch
):
    from catalog import selectors as catalog_selectors

    product = make_product(name="Racing")
    real_get = catalog_selectors.product_get

    def get_then_delete(**kwargs):
        found = real_get(**kwargs)
        catalog_services.product_delete(product_id=product.id)
        return found

    monkeypatch.setattr(catalog_selectors, "product_get", get_then_delete)

    response = customer_client.post(f"/api/wishlist/{customer.pk}/items", {"product_id": product.id}, format="json")

    assert response.status_code == 400
    assert count(repository.WISHLIST_ENTRIES) == 0
