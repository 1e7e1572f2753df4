"""The catalog read cache on a shared Redis: reads served without MongoDB, writes seen at once."""

import dataclasses
import os
from decimal import Decimal

import pytest
from django.test import override_settings

from catalog import services

pytestmark = pytest.mark.django_db(databases="__all__")

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_BACKEND = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS}


@pytest.fixture
def shared_cache():
    prefix = f"test-{os.getpid()}"
    caches = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "catalog": {**_BACKEND, "KEY_PREFIX": prefix},
    }
    with override_settings(CACHES=caches, CATALOG_CACHE_SECONDS=60):
        from django.core.cache import caches as handler

        handler["catalog"].clear()
        yield handler["catalog"]
        handler["catalog"].clear()


def test_a_repeated_read_does_not_touch_mongodb(shared_cache, anon_client, mongo_commands):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    assert anon_client.get(f"/api/products/{product.id}").status_code == 200
    assert anon_client.get("/api/products").status_code == 200

    with mongo_commands.recording() as commands:
        detail = anon_client.get(f"/api/products/{product.id}")
        listing = anon_client.get("/api/products")

    assert commands == []
    assert detail.json()["name"] == "Lamp" and listing.json()["count"] == 1


def test_writes_are_visible_to_the_next_read(shared_cache, anon_client, staff_client, customer_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"
    assert anon_client.get("/api/products", {"sort": "price"}).json()["results"][0]["price"] == "20.00"

    assert staff_client.patch(f"/api/products/{product.id}", {"price": "25.50"}).status_code == 200
    review = customer_client.post("/api/reviews", {"product_id": product.id, "rating": 4, "title": "Good"})
    assert review.status_code == 201

    detail = anon_client.get(f"/api/products/{product.id}").json()
    assert detail["price"] == "25.50" and detail["rating"] == {"average": "4.00", "count": 1}
    assert anon_client.get("/api/products", {"sort": "price"}).json()["results"][0]["price"] == "25.50"

    assert staff_client.delete(f"/api/products/{product.id}").status_code == 204
    assert anon_client.get(f"/api/products/{product.id}").status_code == 404
    assert anon_client.get("/api/products").json()["count"] == 0


def test_staff_and_customers_are_cached_apart(shared_cache, anon_client, staff_client):
    services.product_create(name="Hidden", price=Decimal("5.00"), is_active=False)

    assert staff_client.get("/api/products").json()["count"] == 1
    assert anon_client.get("/api/products").json()["count"] == 0


def test_without_a_shared_cache_reads_go_to_mongodb(anon_client, mongo_commands):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    anon_client.get(f"/api/products/{product.id}")

    with mongo_commands.recording() as commands:
        anon_client.get(f"/api/products/{product.id}")

    assert commands


def test_a_lost_generation_never_brings_back_old_entries(shared_cache, anon_client, staff_client):
    from catalog.cache import GENERATION_KEY

    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"
    shared_cache.delete(GENERATION_KEY)  # evicted by the LRU, or Redis restarted
    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"

    shared_cache.delete(GENERATION_KEY)
    assert staff_client.patch(f"/api/products/{product.id}", {"price": "30.00"}).status_code == 200

    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "30.00"


def test_a_cache_that_is_down_is_read_through(anon_client, staff_client, customer):
    down = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    down["OPTIONS"] = {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    with override_settings(CACHES={"default": down, "catalog": down}, CATALOG_CACHE_SECONDS=60):
        assert anon_client.get(f"/api/products/{product.id}").status_code == 200
        assert staff_client.patch(f"/api/products/{product.id}", {"price": "21.00"}).status_code == 200
        login = anon_client.post("/api/auth/token", {"email": customer.email, "password": "Str0ng-Passw0rd!"})
        assert login.status_code == 200


def test_carts_show_cached_products_but_orders_price_from_mongodb(
    shared_cache, customer_client, customer, mongo_commands
):
    from catalog import repository

    mug = services.product_create(name="Mug", price=Decimal("10.00"), initial_stock=5)
    assert (
        customer_client.post(f"/api/cart/{customer.id}/items", {"product_id": mug.id, "quantity": 1}).status_code == 201
    )

    with mongo_commands.recording() as commands:
        assert customer_client.get(f"/api/cart/{customer.id}").json()["total"] == "10.00"
    assert commands == []

    # A price changed behind the API's back (no generation bump): the cart may show the
    # cached price, the order must charge the real one.
    stale = repository.product_find_many([mug.id])[mug.id]
    repository.product_replace(dataclasses.replace(stale, price=Decimal("12.00")))
    address = {"line1": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}
    order = customer_client.post("/api/orders", {"from_cart": True, "shipping_address": address})

    assert order.status_code == 201 and order.json()["total"] == "12.00"
