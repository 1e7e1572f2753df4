from datetime import datetime
from decimal import Decimal

import pytest
from bson import ObjectId

from catalog import selectors as catalog_selectors
from ecommerce.stores import mongo
from ecommerce.testing.helpers import client_for, make_user
from reviews import repository

pytestmark = pytest.mark.django_db(databases="__all__")

REVIEW_FIELDS = {"id", "product_id", "user_id", "rating", "title", "body", "helpful_count", "created_at"}


def post_review(client, product_id, **overrides):
    body = {"product_id": product_id, "rating": 4, "title": "Solid", "body": "Boils fast."}
    body.update(overrides)
    return client.post("/api/reviews", body, format="json")


def stored_reviews(**query):
    return list(mongo.get_db()[repository.REVIEWS].find(query))


def rating_of(product_id):
    product = catalog_selectors.product_get(product_id=product_id, include_inactive=True)
    return product.rating_count, product.rating_average


def shown_rating(product_id):
    """The product's rating as the catalog shows it: GET /api/products/{id}."""
    response = client_for(None).get(f"/api/products/{product_id}")
    assert response.status_code == 200
    return response.json()["rating"]


def customers(n):
    return [make_user(f"reviewer{i}@example.com") for i in range(n)]


# Posting


def test_customer_posts_a_review_and_the_product_counts_it(customer_client, customer, product):
    response = post_review(customer_client, product.id, rating=5)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == REVIEW_FIELDS
    assert body["product_id"] == product.id and body["user_id"] == customer.id
    assert (body["rating"], body["title"], body["body"], body["helpful_count"]) == (5, "Solid", "Boils fast.", 0)
    assert body["created_at"].endswith("Z") and datetime.fromisoformat(body["created_at"])
    [doc] = stored_reviews()
    assert str(doc["_id"]) == body["id"] and doc["user_id"] == customer.id and doc["rating"] == 5
    assert rating_of(product.id) == (1, Decimal("5.00"))


def test_anonymous_cannot_post_a_review(anon_client, product):
    response = post_review(anon_client, product.id)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert stored_reviews() == []


def test_body_is_optional_and_staff_may_review(staff_client, staff, product):
    response = staff_client.post("/api/reviews", {"product_id": product.id, "rating": 3, "title": "Ok"}, format="json")

    assert response.status_code == 201
    assert response.json()["body"] == "" and response.json()["user_id"] == staff.id


def test_one_review_per_user_and_product(customer_client, product, make_product):
    assert post_review(customer_client, product.id, rating=5).status_code == 201

    again = post_review(customer_client, product.id, rating=1)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert len(stored_reviews()) == 1
    assert rating_of(product.id) == (1, Decimal("5.00"))
    # The same user may review another product.
    assert post_review(customer_client, make_product(name="Toaster").id).status_code == 201


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, 4.0, "x", "4", True, None, [4]])
def test_rating_must_be_an_integer_from_1_to_5(customer_client, product, rating):
    response = post_review(customer_client, product.id, rating=rating)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["details"]) == {"rating"}
    assert stored_reviews() == []
    assert rating_of(product.id) == (0, Decimal("0.00"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", ""), ("title", "   "), ("title", "t" * 201), ("title", None), ("body", "b" * 5001), ("body", 12)],
)
def test_title_and_body_limits(customer_client, product, field, value):
    response = post_review(customer_client, product.id, **{field: value})

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {field}
    assert stored_reviews() == []


def test_title_and_body_at_their_limits_are_accepted(customer_client, product):
    response = post_review(customer_client, product.id, title="t" * 200, body="b" * 5000)

    assert response.status_code == 201
    assert len(response.json()["title"]) == 200 and len(response.json()["body"]) == 5000


def test_missing_fields_are_named(customer_client):
    response = customer_client.post("/api/reviews", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"product_id", "rating", "title"}


@pytest.mark.parametrize("product_id", ["nope", "0" * 23, "g" * 24, 123])
def test_malformed_product_id_is_a_400(customer_client, product_id):
    response = post_review(customer_client, product_id)

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"product_id"}


def test_unknown_product_is_a_400(customer_client):
    response = post_review(customer_client, str(ObjectId()))

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"product_id": ["Unknown product."]}
    assert stored_reviews() == []


def test_inactive_product_is_unknown_to_customers_but_not_to_staff(customer_client, staff_client, make_product):
    hidden = make_product(name="Prototype", is_active=False)

    assert post_review(customer_client, hidden.id).status_code == 400
    assert post_review(staff_client, hidden.id, rating=2).status_code == 201
    assert rating_of(hidden.id) == (1, Decimal("2.00"))


def test_malformed_json_is_a_400(customer_client):
    response = customer_client.post("/api/reviews", "{nope", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


# The product's rating


def test_rating_average_follows_creates_and_deletes(product, staff_client):
    five, four_a, four_b = customers(3)
    ids = {}
    for user, stars in ((five, 5), (four_a, 4), (four_b, 4)):
        ids[user.pk] = post_review(client_for(user), product.id, rating=stars).json()["id"]
    assert shown_rating(product.id) == {"average": "4.33", "count": 3}

    assert client_for(five).delete(f"/api/reviews/{ids[five.pk]}").status_code == 204
    assert shown_rating(product.id) == {"average": "4.00", "count": 2}

    assert client_for(four_a).delete(f"/api/reviews/{ids[four_a.pk]}").status_code == 204
    assert staff_client.delete(f"/api/reviews/{ids[four_b.pk]}").status_code == 204
    assert shown_rating(product.id) == {"average": "0.00", "count": 0}
    assert rating_of(product.id) == (0, Decimal("0.00"))
    assert stored_reviews() == []


def test_average_rounds_half_up_to_two_places(product):
    # 7 ones and a two: 9 / 8 = 1.125 exactly, which rounds half up to 1.13 (half-even would give 1.12).
    users = customers(8)
    for user, stars in zip(users, [1, 1, 1, 1, 1, 1, 1, 2], strict=True):
        assert post_review(client_for(user), product.id, rating=stars).status_code == 201
    assert shown_rating(product.id) == {"average": "1.13", "count": 8}


# Listing


def test_anyone_lists_a_products_reviews_paginated(anon_client, product, make_product):
    users = customers(3)
    for user in users:
        post_review(client_for(user), product.id)
    post_review(client_for(users[0]), make_product(name="Other").id)

    response = anon_client.get(f"/api/reviews/product/{product.id}", {"limit": 2})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"] and body["previous"] is None
    assert all(set(r) == REVIEW_FIELDS and r["product_id"] == product.id for r in body["results"])
    rest = anon_client.get(f"/api/reviews/product/{product.id}", {"limit": 2, "offset": 2}).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    seen = [r["user_id"] for r in body["results"] + rest["results"]]
    assert sorted(seen) == sorted(u.pk for u in users)


def test_sort_orders(anon_client, product):
    users = customers(4)
    ids = []
    for user, stars in zip(users, [3, 5, 1, 4], strict=True):
        ids.append(post_review(client_for(user), product.id, rating=stars).json()["id"])
    # Two helpful votes on the oldest review, one on the third.
    for voter in users[:2]:
        client_for(voter).post(f"/api/reviews/{ids[0]}/helpful")
    client_for(users[3]).post(f"/api/reviews/{ids[2]}/helpful")

    def order(sort=None):
        params = {"sort": sort} if sort else {}
        response = anon_client.get(f"/api/reviews/product/{product.id}", params)
        assert response.status_code == 200
        return [r["id"] for r in response.json()["results"]]

    assert order() == order("recent") == ids[::-1]
    assert order("helpful") == [ids[0], ids[2], ids[3], ids[1]]
    assert order("rating") == [ids[2], ids[0], ids[3], ids[1]]
    assert order("-rating") == [ids[1], ids[3], ids[0], ids[2]]


@pytest.mark.parametrize("params", [{"sort": "oldest"}, {"sort": "created_at"}, {"limit": "x"}, {"offset": "-1"}])
def test_bad_list_parameters_are_a_400(anon_client, product, params):
    response = anon_client.get(f"/api/reviews/product/{product.id}", params)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("product_id", [str(ObjectId()), "nope", "0" * 25])
def test_unknown_or_malformed_product_lists_404(anon_client, product_id):
    response = anon_client.get(f"/api/reviews/product/{product_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_inactive_products_reviews_are_for_staff_only(anon_client, customer_client, staff_client, make_product):
    hidden = make_product(name="Prototype", is_active=False)
    post_review(staff_client, hidden.id)

    assert anon_client.get(f"/api/reviews/product/{hidden.id}").status_code == 404
    assert customer_client.get(f"/api/reviews/product/{hidden.id}").status_code == 404
    assert staff_client.get(f"/api/reviews/product/{hidden.id}").json()["count"] == 1


# Deleting


def test_author_deletes_own_review(customer_client, product):
    review_id = post_review(customer_client, product.id).json()["id"]

    response = customer_client.delete(f"/api/reviews/{review_id}")

    assert response.status_code == 204
    assert stored_reviews() == []
    assert customer_client.delete(f"/api/reviews/{review_id}").status_code == 404
    assert rating_of(product.id) == (0, Decimal("0.00"))


def test_another_customer_cannot_delete_a_review(customer_client, other_client, anon_client, product):
    review_id = post_review(customer_client, product.id).json()["id"]

    response = other_client.delete(f"/api/reviews/{review_id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert anon_client.delete(f"/api/reviews/{review_id}").status_code == 401
    assert len(stored_reviews()) == 1
    assert rating_of(product.id) == (1, Decimal("4.00"))


def test_staff_deletes_any_review(customer_client, staff_client, product):
    review_id = post_review(customer_client, product.id).json()["id"]

    assert staff_client.delete(f"/api/reviews/{review_id}").status_code == 204
    assert stored_reviews() == []


@pytest.mark.parametrize("review_id", [str(ObjectId()), "nope"])
def test_unknown_or_malformed_review_is_404(staff_client, customer_client, review_id):
    assert staff_client.delete(f"/api/reviews/{review_id}").status_code == 404
    assert customer_client.post(f"/api/reviews/{review_id}/helpful").status_code == 404


def test_a_user_may_review_again_after_deleting(customer_client, product):
    review_id = post_review(customer_client, product.id, rating=1).json()["id"]
    customer_client.delete(f"/api/reviews/{review_id}")

    assert post_review(customer_client, product.id, rating=5).status_code == 201
    assert rating_of(product.id) == (1, Decimal("5.00"))


# Helpful votes


def test_helpful_counts_once_per_user(customer_client, other_client, staff_client, other_customer, product):
    review_id = post_review(customer_client, product.id).json()["id"]

    first = other_client.post(f"/api/reviews/{review_id}/helpful")
    assert first.status_code == 200
    assert set(first.json()) == REVIEW_FIELDS and first.json()["helpful_count"] == 1

    repeat = other_client.post(f"/api/reviews/{review_id}/helpful")
    assert repeat.status_code == 200 and repeat.json()["helpful_count"] == 1

    assert staff_client.post(f"/api/reviews/{review_id}/helpful").json()["helpful_count"] == 2
    votes = list(mongo.get_db()[repository.REVIEW_VOTES].find())
    assert len(votes) == 2 and other_customer.pk in {v["user_id"] for v in votes}
    assert stored_reviews()[0]["helpful_count"] == 2


def test_anonymous_cannot_vote(customer_client, anon_client, product):
    review_id = post_review(customer_client, product.id).json()["id"]

    assert anon_client.post(f"/api/reviews/{review_id}/helpful").status_code == 401
    assert stored_reviews()[0]["helpful_count"] == 0


def test_deleting_a_review_deletes_its_votes(customer_client, other_client, product):
    review_id = post_review(customer_client, product.id).json()["id"]
    other_client.post(f"/api/reviews/{review_id}/helpful")

    customer_client.delete(f"/api/reviews/{review_id}")

    assert mongo.get_db()[repository.REVIEW_VOTES].count_documents({}) == 0


def test_list_round_trips_stay_flat_as_reviews_grow(
    anon_client, product, mongo_commands, django_assert_max_num_queries
):
    def list_commands():
        mongo_commands.reset()
        response = anon_client.get(f"/api/reviews/product/{product.id}", {"sort": "helpful"})
        assert response.status_code == 200
        return response.json()["count"], list(mongo_commands.commands)

    users = customers(12)
    post_review(client_for(users[0]), product.id)
    count_one, one = list_commands()
    for user in users[1:]:
        post_review(client_for(user), product.id)
    with django_assert_max_num_queries(0):  # anonymous: no SQL at all
        count_many, many = list_commands()

    assert (count_one, count_many) == (1, 12)
    assert one == many == ["find", "aggregate", "find"]  # the product, the count (count_documents), the page
