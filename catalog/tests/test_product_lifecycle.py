"""A product spans MongoDB (its document) and MySQL (its inventory row): creates, deletes and
`catalog_repair` keep the two in line, also when a store fails half-way."""

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command
from django.db import connections
from rest_framework_simplejwt.tokens import AccessToken

from catalog import services
from catalog.tests.factories import insert_products, products_in_mongo
from ecommerce.routers import MYSQL
from ecommerce.testing.faults import FaultProxy
from ecommerce.testing.helpers import make_user
from inventory.models import Inventory


def _inventory_ids() -> set[str]:
    return set(Inventory.objects.using(MYSQL).values_list("product_id", flat=True))


def _repair(*args) -> str:
    out = io.StringIO()
    call_command("catalog_repair", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def deleted_hook_calls():
    """Product ids passed to the product-deleted hooks (a hook of the test's own)."""
    calls: list[str] = []
    hook = services.on_product_deleted(calls.append)
    yield calls
    services._product_deleted_hooks.remove(hook)


@pytest.fixture
def mysql_through_proxy():
    """The `mysql` connection of this process, routed through a proxy the test can cut."""
    connection = connections[MYSQL]
    original = (connection.settings_dict["HOST"], connection.settings_dict["PORT"])
    proxy = FaultProxy(original[0] or "127.0.0.1", int(original[1] or 3306))
    connection.close()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", proxy.port
    yield proxy
    connection.close()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = original
    proxy.close()


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_create_with_mysql_down_answers_503_and_leaves_no_product_without_a_row(
    mysql_through_proxy, staff_client, mongo_commands
):
    assert staff_client.post("/api/products", {"name": "Before", "price": "1.00"}, format="json").status_code == 201

    mysql_through_proxy.refuse()
    with mongo_commands.recording() as commands:
        response = staff_client.post(
            "/api/products", {"name": "During", "price": "2.00", "sku": "DURING", "initial_stock": 5}, format="json"
        )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.json()["error"]["details"] == {"database": "mysql"}
    # The document was written, then removed again when the inventory row failed.
    assert commands == [("insert", "products"), ("findAndModify", "products")]
    assert [doc["name"] for doc in products_in_mongo()] == ["Before"]

    mysql_through_proxy.restore()
    connections[MYSQL].close()
    assert {str(doc["_id"]) for doc in products_in_mongo()} == _inventory_ids()
    # The SKU was not left taken by the compensated attempt.
    again = staff_client.post("/api/products", {"name": "During", "price": "2.00", "sku": "DURING"}, format="json")
    assert again.status_code == 201


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_creates_of_one_sku_give_one_201_and_one_409(live_api):
    staff = make_user("race-staff@example.com", staff=True)
    headers = {"Authorization": f"Bearer {AccessToken.for_user(staff)}"}
    rounds = 3

    def create(sku: str, barrier: threading.Barrier) -> int:
        barrier.wait()  # both requests leave together
        body = {"name": f"Racer {sku}", "price": "5.00", "sku": sku, "initial_stock": 2}
        return requests.post(f"{live_api.url}/api/products", json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        for n in range(rounds):
            barrier = threading.Barrier(2)
            futures = [pool.submit(create, f"RACE-{n}", barrier) for _ in range(2)]
            statuses = sorted(future.result() for future in futures)
            assert statuses == [201, 409]

    docs = products_in_mongo()
    assert sorted(doc["sku"] for doc in docs) == [f"RACE-{n}" for n in range(rounds)]
    assert _inventory_ids() == {str(doc["_id"]) for doc in docs}


@pytest.mark.django_db(databases="__all__")
def test_repair_gives_old_products_a_row_and_finishes_unfinished_deletions(deleted_hook_calls):
    kept = services.product_create(name="Fine", price=Decimal("1.00"), initial_stock=3)
    [rowless] = insert_products(1, start=120)  # two minutes old, and no inventory row
    [young] = insert_products(1, start=0)  # just created: its row may still be on its way
    orphan = "0123456789abcdef01234567"
    Inventory.objects.using(MYSQL).create(product_id=orphan, quantity=9)

    dry = _repair("--dry-run")

    assert f"Would create an empty inventory row for product {rowless}" in dry
    assert f"Would finish deleting product {orphan}" in dry
    assert "Dry run, nothing changed: 1 row(s) to create, 1 deletion(s) to finish." in dry
    assert young not in dry
    assert _inventory_ids() == {kept.id, orphan} and deleted_hook_calls == []

    done = _repair()

    assert "Repaired: 1 row(s) created, 1 deletion(s) finished." in done
    assert _inventory_ids() == {kept.id, rowless}
    assert Inventory.objects.using(MYSQL).get(product_id=rowless).quantity == 0
    assert Inventory.objects.using(MYSQL).get(product_id=kept.id).quantity == 3
    assert deleted_hook_calls == [orphan]

    assert "Nothing to repair" in _repair("--grace-seconds", "100000")
    assert deleted_hook_calls == [orphan]
    assert "Repaired: 1 row(s) created, 0 deletion(s) finished." in _repair("--grace-seconds", "0")
    assert young in _inventory_ids()


@pytest.mark.django_db(databases="__all__")
def test_a_deletion_that_fails_half_way_leaves_its_row_for_repair_to_finish(staff_client, deleted_hook_calls):
    product = services.product_create(name="Doomed", price=Decimal("1.00"), initial_stock=1)

    def failing_hook(product_id: str) -> None:
        raise RuntimeError("reviews store unreachable")

    services.on_product_deleted(failing_hook)
    try:
        with pytest.raises(RuntimeError):
            services.product_delete(product_id=product.id)
    finally:
        services._product_deleted_hooks.remove(failing_hook)

    # The document is gone; the row marks the unfinished deletion.
    assert products_in_mongo() == [] and _inventory_ids() == {product.id}
    assert staff_client.get(f"/api/products/{product.id}").status_code == 404

    _repair()

    assert _inventory_ids() == set()
    assert deleted_hook_calls == [product.id, product.id]


@pytest.mark.django_db(databases="__all__")
def test_repair_leaves_a_healthy_catalog_alone():
    for n in range(3):
        services.product_create(name=f"P{n}", price=Decimal("1.00"), initial_stock=n)

    out = services.catalog_repair(grace=timedelta(0))

    assert (out.inventory_created, out.deletions_finished) == ([], [])
    assert sorted(Inventory.objects.using(MYSQL).values_list("quantity", flat=True)) == [0, 1, 2]
