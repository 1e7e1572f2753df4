"""Concurrent requests against a real gunicorn (three worker processes) on the test stores."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from catalog import selectors as catalog_selectors
from ecommerce.stores import mongo
from ecommerce.testing.helpers import make_user
from reviews import repository

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def all_at_once(calls):
    """Run the calls in threads released together by a barrier; answers in call order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_racing_duplicate_reviews_give_one_201_and_409s(live_api, make_product):
    product = make_product()
    author = make_user("racer@example.com")
    headers = bearer(author)

    def post(stars):
        return lambda: requests.post(
            f"{live_api.url}/api/reviews",
            json={"product_id": product.id, "rating": stars, "title": "Race"},
            headers=headers,
            timeout=30,
        )

    responses = all_at_once([post(stars) for stars in (5, 4, 3, 2)])

    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]
    winner = next(r.json() for r in responses if r.status_code == 201)
    [doc] = mongo.get_db()[repository.REVIEWS].find({"product_id": product.id})
    assert doc["rating"] == winner["rating"]
    rated = catalog_selectors.product_get(product_id=product.id)
    assert (rated.rating_count, rated.rating_sum) == (1, winner["rating"])


def test_concurrent_reviews_lose_no_rating_update(live_api, make_product):
    product = make_product()
    stars = [5, 4, 4, 3, 5, 1]
    users = [make_user(f"rater{i}@example.com") for i in range(len(stars))]

    def post(user, rating):
        return lambda: requests.post(
            f"{live_api.url}/api/reviews",
            json={"product_id": product.id, "rating": rating, "title": "Many"},
            headers=bearer(user),
            timeout=30,
        )

    responses = all_at_once([post(u, s) for u, s in zip(users, stars, strict=True)])

    assert [r.status_code for r in responses] == [201] * len(stars)
    rated = catalog_selectors.product_get(product_id=product.id)
    assert (rated.rating_count, rated.rating_sum, rated.rating_average) == (6, 22, Decimal("3.67"))

    # And deleting them all concurrently, each twice, brings it back to exactly zero.
    ids = [r.json()["id"] for r in responses]
    deletes = all_at_once(
        [
            (lambda u=u, i=i: requests.delete(f"{live_api.url}/api/reviews/{i}", headers=bearer(u), timeout=30))
            for u, i in zip(users + users, ids + ids, strict=True)
        ]
    )
    assert sorted(r.status_code for r in deletes) == [204] * 6 + [404] * 6
    rated = catalog_selectors.product_get(product_id=product.id)
    assert (rated.rating_count, rated.rating_sum, rated.rating_average) == (0, 0, Decimal("0.00"))


def test_six_users_voting_twice_at_once_count_six(live_api, make_product):
    product = make_product()
    author = make_user("author@example.com")
    review = requests.post(
        f"{live_api.url}/api/reviews",
        json={"product_id": product.id, "rating": 5, "title": "Vote for me"},
        headers=bearer(author),
        timeout=30,
    ).json()
    voters = [make_user(f"voter{i}@example.com") for i in range(6)]

    def vote(user):
        return lambda: requests.post(
            f"{live_api.url}/api/reviews/{review['id']}/helpful", headers=bearer(user), timeout=30
        )

    responses = all_at_once([vote(v) for v in voters + voters])

    assert [r.status_code for r in responses] == [200] * 12
    assert all(1 <= r.json()["helpful_count"] <= 6 for r in responses)
    db = mongo.get_db()
    assert db[repository.REVIEWS].find_one({"product_id": product.id})["helpful_count"] == 6
    assert sorted(v["user_id"] for v in db[repository.REVIEW_VOTES].find()) == sorted(v.pk for v in voters)


def test_racing_wishlist_adds_keep_one_entry(live_api, make_product):
    product = make_product()
    owner = make_user("wisher@example.com")
    headers = bearer(owner)

    def add():
        return requests.post(
            f"{live_api.url}/api/wishlist/{owner.pk}/items",
            json={"product_id": product.id},
            headers=headers,
            timeout=30,
        )

    responses = all_at_once([add] * 4)

    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert mongo.get_db()[repository.WISHLIST_ENTRIES].count_documents({"user_id": owner.pk}) == 1
