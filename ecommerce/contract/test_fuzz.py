"""The OpenAPI schema tells the truth: schemathesis fuzzes a live server against it as staff and
as a customer, and a scripted shopping walk checks the answers random data cannot reach (an
order placed, paid and cancelled; a token obtained; a review deleted) against the same schema.

Either way: no 5xx, no undocumented status or content type, no body that breaks its schema.
"""

import re
import uuid
from decimal import Decimal

import pytest
import requests
import schemathesis
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog import services as catalog_services
from ecommerce.testing.helpers import TEST_PASSWORD, make_user
from ecommerce.tooling import fuzz

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

# Seconds of fuzzing per role: the whole test stays within about a minute.
FUZZ_SECONDS = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ADDRESS = {"name": "Wanda Walker", "line1": "1 Main St", "city": "Leeds", "postal_code": "LS1 1AA", "country": "GB"}


def _seed_small_shop():
    call_command("seed", "--products", "12", "--users", "3", "--orders", "6", "--no-admin", verbosity=0)


def test_schemathesis_finds_nothing_as_staff_or_customer(live_api):
    _seed_small_shop()
    staff = make_user("fuzz-staff@example.com", staff=True)
    customer = make_user("fuzz-customer@example.com")
    tokens = {"staff": str(AccessToken.for_user(staff)), "customer": str(AccessToken.for_user(customer))}

    results = fuzz.fuzz(live_api.url, tokens, max_time=FUZZ_SECONDS)

    for result in results:
        assert result.passed, f"schemathesis as {result.role}:\n{result.output[-8000:]}"
        assert "Operations:" in result.output and not re.search(r"\b0 selected", result.output)
    # The runs' own accounts survived (see fuzz.before_call): the fuzzing was signed in to the end.
    assert {staff.pk, customer.pk} <= set(type(staff).objects.values_list("pk", flat=True))


class Walker:
    """Calls the live API through schemathesis cases, checking every answer against the schema."""

    def __init__(self, url: str):
        self.url = url
        self.schema = schemathesis.openapi.from_url(f"{url}/api/schema")
        self.checked: set[tuple[str, str, int]] = set()

    def __call__(self, method, path, status, *, token=None, body=None, headers=None, **path_parameters):
        operation = self.schema[path][method]
        kwargs = {"path_parameters": path_parameters} if path_parameters else {}
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        response = case.call(base_url=self.url, headers=sent, timeout=15)
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text[:500]}"
        case.validate_response(response, checks=CHECKS, headers=sent)
        self.checked.add((method, path, status))
        return response.json() if response.content else None


def test_a_scripted_shopping_walk_answers_as_documented(live_api):
    _seed_small_shop()
    walk = Walker(live_api.url)
    staff = str(AccessToken.for_user(make_user("walk-staff@example.com", staff=True)))
    shopper = make_user("walker@example.com", first_name="Wanda")

    tokens = walk("POST", "/api/auth/token", 200, body={"email": "walker@example.com", "password": TEST_PASSWORD})
    refreshed = walk("POST", "/api/auth/token/refresh", 200, body={"refresh": tokens["refresh"]})
    me = refreshed["access"]
    walk("POST", "/api/auth/token", 401, body={"email": "walker@example.com", "password": "wrong-Passw0rd!"})
    walk("GET", "/api/orders", 401, token=None)

    product_id = walk("POST", "/api/products", 201, token=staff, body={"name": "Walk", "price": "5.00"})["id"]
    walk("POST", "/api/products", 403, token=me, body={"name": "Nope", "price": "5.00"})
    walk("PUT", "/api/inventory/{product_id}", 200, token=staff, body={"quantity": 3}, product_id=product_id)
    walk("POST", "/api/inventory/{product_id}/restock", 200, token=staff, body={"quantity": 2}, product_id=product_id)
    walk("GET", "/api/inventory/{product_id}", 200, token=staff, product_id=product_id)

    cart = walk(
        "POST",
        "/api/cart/{user_id}/items",
        201,
        token=me,
        body={"product_id": product_id, "quantity": 2},
        user_id=shopper.pk,
    )
    item_id = cart["items"][0]["id"]
    walk(
        "PATCH",
        "/api/cart/{user_id}/items/{item_id}",
        200,
        token=me,
        body={"quantity": 1},
        user_id=shopper.pk,
        item_id=item_id,
    )
    walk("GET", "/api/cart/{user_id}", 200, token=me, user_id=shopper.pk)
    from_cart = walk("POST", "/api/orders", 201, token=me, body={"from_cart": True, "shipping_address": ADDRESS})
    assert walk("GET", "/api/cart/{user_id}", 200, token=me, user_id=shopper.pk)["items"] == []

    key = {"Idempotency-Key": str(uuid.uuid4())}
    order = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
    placed = walk("POST", "/api/orders", 201, token=me, body=order, headers=key)
    assert walk("POST", "/api/orders", 201, token=me, body=order, headers=key)["id"] == placed["id"]
    walk(
        "POST",
        "/api/orders",
        409,
        token=me,
        body={**order, "items": [{"product_id": product_id, "quantity": 2}]},
        headers=key,
    )
    too_many = {**order, "items": [{"product_id": product_id, "quantity": 999}]}
    refused = walk("POST", "/api/orders", 409, token=me, body=too_many)
    assert refused["error"]["code"] == "out_of_stock"

    walk("GET", "/api/orders/{id}", 200, token=me, id=placed["id"])
    walk("GET", "/api/users/{id}/orders", 200, token=me, id=shopper.pk)
    walk("PATCH", "/api/orders/{id}/status", 200, token=staff, body={"status": "paid"}, id=placed["id"])
    walk("PATCH", "/api/orders/{id}/status", 409, token=staff, body={"status": "delivered"}, id=placed["id"])
    walk("PATCH", "/api/orders/{id}/status", 403, token=me, body={"status": "shipped"}, id=placed["id"])
    walk("POST", "/api/orders/{id}/cancel", 200, token=me, id=placed["id"])
    walk("POST", "/api/orders/{id}/cancel", 409, token=me, id=placed["id"])
    walk("PATCH", "/api/orders/{id}/status", 200, token=staff, body={"status": "paid"}, id=from_cart["id"])
    walk("PATCH", "/api/orders/{id}/status", 200, token=staff, body={"status": "shipped"}, id=from_cart["id"])

    review = walk("POST", "/api/reviews", 201, token=me, body={"product_id": product_id, "rating": 4, "title": "Ok"})
    walk("POST", "/api/reviews", 409, token=me, body={"product_id": product_id, "rating": 5, "title": "Again"})
    walk("POST", "/api/reviews/{id}/helpful", 200, token=staff, id=review["id"])
    walk("GET", "/api/reviews/product/{product_id}", 200, product_id=product_id)
    walk("DELETE", "/api/reviews/{id}", 204, token=me, id=review["id"])

    walk("POST", "/api/wishlist/{user_id}/items", 201, token=me, body={"product_id": product_id}, user_id=shopper.pk)
    walk("POST", "/api/wishlist/{user_id}/items", 200, token=me, body={"product_id": product_id}, user_id=shopper.pk)
    walk(
        "DELETE", "/api/wishlist/{user_id}/items/{product_id}", 204, token=me, user_id=shopper.pk, product_id=product_id
    )

    # A variant bought and paid through the test provider, then partly refunded.
    parent = walk("POST", "/api/products", 201, token=staff, body={"name": "Walk Tee", "option_names": ["Size"]})
    assert (parent["kind"], parent["price"]) == ("parent", None)  # no variant yet: no price
    variant = walk(
        "POST",
        "/api/products/{id}/variants",
        201,
        token=staff,
        body={"sku": "WALK-TEE-M", "options": {"Size": "M"}, "price": "7.00", "initial_stock": 3},
        id=parent["id"],
    )
    walk(
        "POST",
        "/api/products/{id}/variants",
        409,
        token=staff,
        body={"sku": "WALK-TEE-M", "options": {"Size": "L"}, "price": "7.00"},
        id=parent["id"],
    )
    assert [v["id"] for v in walk("GET", "/api/products/{id}/variants", 200, id=parent["id"])["results"]] == [
        variant["id"]
    ]
    refused = walk(
        "POST", "/api/orders", 400, token=me, body={**order, "items": [{"product_id": parent["id"], "quantity": 1}]}
    )
    assert refused["error"]["code"] == "validation_error"
    tee = walk(
        "POST", "/api/orders", 201, token=me, body={**order, "items": [{"product_id": variant["id"], "quantity": 2}]}
    )
    assert [(i["product_id"], i["sku"], i["line_total"]) for i in tee["items"]] == [
        (variant["id"], "WALK-TEE-M", "14.00")
    ]
    payment = walk("POST", "/api/orders/{order_id}/payments", 201, token=me, body={}, order_id=tee["id"])
    walk("POST", "/api/orders/{order_id}/payments", 409, token=me, body={}, order_id=tee["id"])
    walk("POST", "/api/payments/{id}/simulate", 403, token=me, body={"event": "captured"}, id=payment["id"])
    walk("POST", "/api/payments/webhooks/{provider}", 400, body={"id": "evt_1", "type": "x"}, provider="test")
    captured = walk(
        "POST", "/api/payments/{id}/simulate", 200, token=staff, body={"event": "captured"}, id=payment["id"]
    )
    assert (captured["status"], captured["captured"]) == ("captured", "14.00")
    refund = walk("POST", "/api/payments/{id}/refunds", 201, token=staff, body={"amount": "4.00"}, id=payment["id"])
    walk("POST", "/api/payments/{id}/refunds", 409, token=staff, body={"amount": "11.00"}, id=payment["id"])
    listed = walk("GET", "/api/orders/{order_id}/payments", 200, token=me, order_id=tee["id"])
    assert [(p["refunded"], [r["id"] for r in p["refunds"]]) for p in listed] == [("4.00", [refund["id"]])]
    timeline = walk("GET", "/api/orders/{order_id}/events", 200, token=me, order_id=tee["id"])["results"]
    assert [e["type"] for e in timeline][:2] == ["order.created", "order.paid"]
    walk("GET", "/api/events", 200, token=staff)
    walk("GET", "/api/events", 403, token=me)
    # The live server keeps the default: a webhook to a private address is refused.
    walk("POST", "/api/webhooks", 400, token=staff, body={"url": "http://127.0.0.1:9/hook", "events": ["order.*"]})
    walk("GET", "/api/webhooks", 200, token=staff)

    walk("GET", "/api/analytics/revenue", 200, token=staff)
    walk("GET", "/api/analytics/popular-products", 200, token=staff)
    walk("GET", "/api/analytics/sales", 200, token=staff)
    walk("DELETE", "/api/users/{id}", 204, token=me, id=shopper.pk)
    walk("GET", "/api/users/me", 401, token=me)
    walk("DELETE", "/api/products/{id}", 204, token=staff, id=product_id)
    assert len(walk.checked) == 52  # every step above was checked against the schema


def test_a_webhook_subscription_lives_and_dies_as_documented(live_server_factory):
    """What the fuzzer cannot reach (it knows no webhook id): each answer of a subscription's
    life checked against the schema, on a server that allows a receiver on 127.0.0.1."""
    server = live_server_factory(workers=1, extra_env={"WEBHOOKS_ALLOW_PRIVATE": "1"})
    walk = Walker(server.url)
    staff = str(AccessToken.for_user(make_user("hooks-staff@example.com", staff=True)))
    shopper = make_user("hooks-shopper@example.com")
    product = catalog_services.product_create(name="Hook", price=Decimal("3.00"), initial_stock=5)

    body = {"url": "http://127.0.0.1:9/hook", "events": ["order.*"], "description": "warehouse"}
    webhook = walk("POST", "/api/webhooks", 201, token=staff, body=body)
    walk("POST", "/api/webhooks", 400, token=staff, body={**body, "url": "ftp://127.0.0.1/hook"})
    walk("POST", "/api/webhooks", 400, token=staff, body={**body, "events": ["no.such"]})
    order = {"items": [{"product_id": product.id, "quantity": 1}], "shipping_address": ADDRESS}
    placed = walk("POST", "/api/orders", 201, token=str(AccessToken.for_user(shopper)), body=order)
    assert [h["id"] for h in walk("GET", "/api/webhooks", 200, token=staff)["results"]] == [webhook["id"]]
    assert "secret" not in walk("GET", "/api/webhooks/{id}", 200, token=staff, id=webhook["id"])
    walk("PATCH", "/api/webhooks/{id}", 200, token=staff, body={"is_active": False}, id=webhook["id"])
    rotated = walk("POST", "/api/webhooks/{id}/rotate-secret", 200, token=staff, id=webhook["id"])
    assert rotated["secret"] != webhook["secret"]
    deliveries = walk("GET", "/api/webhooks/{id}/deliveries", 200, token=staff, id=webhook["id"])["results"]
    events = walk("GET", "/api/events", 200, token=staff)["results"]
    assert [d["event_id"] for d in deliveries] == [e["id"] for e in events if e["type"] == "order.created"]
    assert [e["data"]["id"] for e in events if e["type"] == "order.created"] == [placed["id"]]
    again = walk(
        "POST",
        "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver",
        202,
        token=staff,
        id=webhook["id"],
        delivery_id=deliveries[0]["id"],
    )
    assert again["event_id"] == deliveries[0]["event_id"]
    walk("DELETE", "/api/webhooks/{id}", 204, token=staff, id=webhook["id"])
    walk("GET", "/api/webhooks/{id}", 404, token=staff, id=webhook["id"])
    assert len(walk.checked) == 12  # the two 400s are one (method, path, status)


def test_a_parent_without_variants_answers_its_null_price_as_documented(live_api):
    walk = Walker(live_api.url)
    staff = str(AccessToken.for_user(make_user("parent-staff@example.com", staff=True)))

    parent = walk("POST", "/api/products", 201, token=staff, body={"name": "Bare Tee", "option_names": ["Size"]})

    assert (parent["kind"], parent["price"], parent["variants"]) == ("parent", None, [])


def test_a_parent_in_an_order_or_a_cart_answers_its_variants(live_api):
    walk = Walker(live_api.url)
    shopper = make_user("parent-shopper@example.com")
    me = str(AccessToken.for_user(shopper))
    parent = catalog_services.product_create(name="Cap", option_names=["Size"])
    variant = catalog_services.variant_create(
        parent_id=parent.id, sku="CAP-M", options={"Size": "M"}, price=Decimal("5.00")
    )
    line = {"product_id": parent.id, "quantity": 1}

    order = walk("POST", "/api/orders", 400, token=me, body={"items": [line], "shipping_address": ADDRESS})
    cart = walk("POST", "/api/cart/{user_id}/items", 400, token=me, body=line, user_id=shopper.pk)

    assert order["error"]["details"]["product_id"] == cart["error"]["details"]["product_id"] == [variant.id]


def test_cart_and_order_lines_of_a_variant_carry_its_sku_and_options(live_api):
    walk = Walker(live_api.url)
    shopper = make_user("variant-shopper@example.com")
    me = str(AccessToken.for_user(shopper))
    parent = catalog_services.product_create(name="Hat", option_names=["Size"])
    variant = catalog_services.variant_create(
        parent_id=parent.id, sku="HAT-M", options={"Size": "M"}, price=Decimal("5.00"), initial_stock=2
    )
    line = {"product_id": variant.id, "quantity": 1}

    cart = walk("POST", "/api/cart/{user_id}/items", 201, token=me, body=line, user_id=shopper.pk)
    order = walk("POST", "/api/orders", 201, token=me, body={"items": [line], "shipping_address": ADDRESS})

    for answered in (cart["items"][0], order["items"][0]):
        assert (answered["sku"], answered["options"]) == ("HAT-M", {"Size": "M"})


def test_every_operation_of_the_contract_is_in_the_schema(live_api):
    """Each method and path of shared/API.md, with the error envelope as a component."""
    document = requests.get(f"{live_api.url}/api/schema?format=json", timeout=10)
    assert document.status_code == 200
    schema = document.json()
    operations = {(method.upper(), path) for path, item in schema["paths"].items() for method in item}
    assert CONTRACT <= operations, sorted(CONTRACT - operations)
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if path.startswith("/api/"):
                # A provider's webhook carries a signature, not a token: a bad one is a 400.
                expected = {"400", "503"} if path.startswith("/api/payments/webhooks/") else {"401", "503"}
                assert expected <= set(operation["responses"]), (method, path)
                error = operation["responses"]["503"]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (method, path)


CONTRACT = {
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/token/refresh"),
    ("POST", "/api/users"),
    ("GET", "/api/users"),
    ("GET", "/api/users/me"),
    ("GET", "/api/users/{id}"),
    ("PUT", "/api/users/{id}"),
    ("PATCH", "/api/users/{id}"),
    ("DELETE", "/api/users/{id}"),
    ("GET", "/api/users/{id}/orders"),
    ("POST", "/api/categories"),
    ("GET", "/api/categories"),
    ("GET", "/api/categories/{id}"),
    ("PUT", "/api/categories/{id}"),
    ("PATCH", "/api/categories/{id}"),
    ("DELETE", "/api/categories/{id}"),
    ("POST", "/api/products"),
    ("GET", "/api/products"),
    ("GET", "/api/products/search"),
    ("GET", "/api/products/category/{category}"),
    ("GET", "/api/products/{id}"),
    ("PUT", "/api/products/{id}"),
    ("PATCH", "/api/products/{id}"),
    ("DELETE", "/api/products/{id}"),
    ("GET", "/api/inventory"),
    ("GET", "/api/inventory/low-stock"),
    ("GET", "/api/inventory/{product_id}"),
    ("PUT", "/api/inventory/{product_id}"),
    ("PATCH", "/api/inventory/{product_id}"),
    ("POST", "/api/inventory/{product_id}/restock"),
    ("GET", "/api/cart/{user_id}"),
    ("POST", "/api/cart/{user_id}/items"),
    ("PATCH", "/api/cart/{user_id}/items/{item_id}"),
    ("DELETE", "/api/cart/{user_id}/items/{item_id}"),
    ("DELETE", "/api/cart/{user_id}/clear"),
    ("POST", "/api/orders"),
    ("GET", "/api/orders"),
    ("GET", "/api/orders/{id}"),
    ("PATCH", "/api/orders/{id}/status"),
    ("POST", "/api/orders/{id}/cancel"),
    ("GET", "/api/analytics/sales"),
    ("GET", "/api/analytics/popular-products"),
    ("GET", "/api/analytics/revenue"),
    ("POST", "/api/reviews"),
    ("GET", "/api/reviews/product/{product_id}"),
    ("DELETE", "/api/reviews/{id}"),
    ("POST", "/api/reviews/{id}/helpful"),
    ("GET", "/api/wishlist/{user_id}"),
    ("POST", "/api/wishlist/{user_id}/items"),
    ("DELETE", "/api/wishlist/{user_id}/items/{product_id}"),
    ("POST", "/api/products/{id}/variants"),
    ("GET", "/api/products/{id}/variants"),
    ("POST", "/api/orders/{order_id}/payments"),
    ("GET", "/api/orders/{order_id}/payments"),
    ("POST", "/api/payments/webhooks/{provider}"),
    ("POST", "/api/payments/{id}/refunds"),
    ("POST", "/api/payments/{id}/simulate"),
    ("GET", "/api/events"),
    ("GET", "/api/orders/{order_id}/events"),
    ("POST", "/api/webhooks"),
    ("GET", "/api/webhooks"),
    ("GET", "/api/webhooks/{id}"),
    ("PATCH", "/api/webhooks/{id}"),
    ("DELETE", "/api/webhooks/{id}"),
    ("POST", "/api/webhooks/{id}/rotate-secret"),
    ("GET", "/api/webhooks/{id}/deliveries"),
    ("POST", "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
    ("GET", "/health"),
    ("GET", "/health/live"),
}
