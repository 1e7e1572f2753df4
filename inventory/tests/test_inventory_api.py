from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from bson import ObjectId
from rest_framework_simplejwt.tokens import AccessToken

from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.testing.helpers import make_user
from inventory.models import Inventory
from orders.tests.factories import product, stock

pytestmark = pytest.mark.django_db(databases="__all__")

INVENTORY_FIELDS = {"product_id", "quantity", "reserved", "low_stock_threshold", "updated_at"}


def test_every_inventory_endpoint_is_staff_only(anon_client, customer_client):
    item = product()
    calls = [
        ("get", "/api/inventory", None),
        ("get", "/api/inventory/low-stock", None),
        ("get", f"/api/inventory/{item.id}", None),
        ("put", f"/api/inventory/{item.id}", {"quantity": 1}),
        ("post", f"/api/inventory/{item.id}/restock", {"quantity": 1}),
    ]
    for method, path, body in calls:
        assert getattr(anon_client, method)(path, body, format="json").status_code == 401, path
        response = getattr(customer_client, method)(path, body, format="json")
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "permission_denied"
    assert stock(item.id) == (10, 0)


def test_list_is_paginated_and_retrieve_answers_the_row(staff_client):
    items = [product(name=f"P{i}", stock=i) for i in range(3)]

    page = staff_client.get("/api/inventory", {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert set(page["results"][0]) == INVENTORY_FIELDS

    row = staff_client.get(f"/api/inventory/{items[2].id}").json()
    assert (row["product_id"], row["quantity"], row["reserved"], row["low_stock_threshold"]) == (items[2].id, 2, 0, 10)


@pytest.mark.parametrize("product_id", ["nope", str(ObjectId())])
def test_retrieve_unknown_or_malformed_is_404(staff_client, product_id):
    response = staff_client.get(f"/api/inventory/{product_id}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_put_sets_only_the_fields_sent(staff_client):
    item = product(stock=5)

    response = staff_client.put(f"/api/inventory/{item.id}", {"low_stock_threshold": 3}, format="json")
    assert response.status_code == 200
    assert (response.json()["quantity"], response.json()["low_stock_threshold"]) == (5, 3)

    response = staff_client.patch(f"/api/inventory/{item.id}", {"quantity": 42}, format="json")
    assert (response.json()["quantity"], response.json()["low_stock_threshold"]) == (42, 3)
    assert Inventory.objects.using(MYSQL).get(product_id=item.id).quantity == 42


@pytest.mark.parametrize("body", [{"quantity": -1}, {"low_stock_threshold": -1}, {"quantity": "many"}])
def test_put_rejects_negative_or_bad_values(staff_client, body):
    item = product(stock=5)
    response = staff_client.put(f"/api/inventory/{item.id}", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
    assert stock(item.id) == (5, 0)


def test_put_for_a_product_not_in_the_catalog_is_404(staff_client):
    missing = str(ObjectId())
    assert staff_client.put(f"/api/inventory/{missing}", {"quantity": 1}, format="json").status_code == 404
    assert staff_client.put("/api/inventory/nope", {"quantity": 1}, format="json").status_code == 404
    assert not Inventory.objects.using(MYSQL).filter(product_id=missing).exists()


def test_put_for_a_product_without_a_row_is_404_until_catalog_repair_gives_it_one(staff_client):
    """Inventory sits below the catalog and does not ask it: the catalog writes every
    product's row (catalog_repair gives one to a product that lost it)."""
    item = product(stock=0)
    Inventory.objects.using(MYSQL).filter(product_id=item.id).delete()

    assert staff_client.put(f"/api/inventory/{item.id}", {"quantity": 7}, format="json").status_code == 404
    assert not Inventory.objects.using(MYSQL).filter(product_id=item.id).exists()
    assert catalog_services.catalog_repair(grace=timedelta(0)).inventory_created == [item.id]

    response = staff_client.put(f"/api/inventory/{item.id}", {"quantity": 7}, format="json")
    assert response.status_code == 200 and response.json()["quantity"] == 7
    assert stock(item.id) == (7, 0)


def test_restock_adds_and_answers_the_row(staff_client):
    item = product(stock=5)
    response = staff_client.post(f"/api/inventory/{item.id}/restock", {"quantity": 3}, format="json")
    assert response.status_code == 200 and response.json()["quantity"] == 8
    assert stock(item.id) == (8, 0)


@pytest.mark.parametrize("quantity", [0, -2, None, 10**10])
def test_restock_needs_a_positive_quantity(staff_client, quantity):
    item = product(stock=5)
    body = {} if quantity is None else {"quantity": quantity}
    assert staff_client.post(f"/api/inventory/{item.id}/restock", body, format="json").status_code == 400
    assert stock(item.id) == (5, 0)


def test_restock_of_an_unknown_or_rowless_product_is_404(staff_client):
    assert staff_client.post(f"/api/inventory/{ObjectId()}/restock", {"quantity": 1}, format="json").status_code == 404
    item = product()
    Inventory.objects.using(MYSQL).filter(product_id=item.id).delete()
    assert staff_client.post(f"/api/inventory/{item.id}/restock", {"quantity": 4}, format="json").status_code == 404
    assert not Inventory.objects.using(MYSQL).filter(product_id=item.id).exists()


def test_low_stock_honours_each_rows_threshold_or_the_query(staff_client):
    low = product(name="Low", stock=2)
    edge = product(name="Edge", stock=10)
    plenty = product(name="Plenty", stock=50)
    staff_client.put(f"/api/inventory/{plenty.id}", {"low_stock_threshold": 60}, format="json")

    own = [row["product_id"] for row in staff_client.get("/api/inventory/low-stock").json()["results"]]
    assert own == [low.id, edge.id, plenty.id]

    given = [row["product_id"] for row in staff_client.get("/api/inventory/low-stock?threshold=5").json()["results"]]
    assert given == [low.id]

    for bad in ("-1", "x"):
        assert staff_client.get(f"/api/inventory/low-stock?threshold={bad}").status_code == 400


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_restocks_all_count(live_api):
    item = product(stock=0)
    token = AccessToken.for_user(make_user("boss@example.com", staff=True))

    def restock(_):
        return requests.post(
            f"{live_api.url}/api/inventory/{item.id}/restock",
            json={"quantity": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(restock, range(20)))

    assert statuses == [200] * 20
    assert stock(item.id) == (20, 0)
