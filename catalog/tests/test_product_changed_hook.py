"""`on_product_changed`: other apps (events) learn of every product write after MongoDB took it."""

import pytest

from catalog import services
from catalog.tests.factories import products_in_mongo


@pytest.fixture
def changes():
    """(product_id, change, the document MongoDB held when the hook ran) per call."""
    calls: list[tuple[str, str, dict | None]] = []

    def hook(product_id: str, change: str) -> None:
        held = {str(doc["_id"]): doc for doc in products_in_mongo()}.get(product_id)
        calls.append((product_id, change, held))

    services.on_product_changed(hook)
    yield calls
    services._product_changed_hooks.remove(hook)


@pytest.mark.django_db(databases="__all__")
def test_create_update_delete_each_call_the_hook_after_the_write(staff_client, changes):
    created = staff_client.post("/api/products", {"name": "Lamp", "price": "9.00"}, format="json")
    assert created.status_code == 201
    product_id = created.json()["id"]
    assert [(pid, change) for pid, change, _ in changes] == [(product_id, "created")]
    assert changes[0][2]["name"] == "Lamp"

    assert staff_client.patch(f"/api/products/{product_id}", {"price": "7.50"}, format="json").status_code == 200
    assert changes[1][:2] == (product_id, "updated")
    assert changes[1][2]["price_cents"] == 750

    assert staff_client.delete(f"/api/products/{product_id}").status_code == 204
    assert changes[2][:2] == (product_id, "deleted")
    assert changes[2][2] is None
    assert len(changes) == 3


@pytest.mark.django_db(databases="__all__")
def test_a_refused_write_calls_no_hook(staff_client, changes):
    first = staff_client.post("/api/products", {"name": "A", "price": "1.00", "sku": "S-1"}, format="json")
    assert first.status_code == 201
    changes.clear()
    taken = staff_client.post("/api/products", {"name": "B", "price": "1.00", "sku": "S-1"}, format="json")
    assert taken.status_code == 409
    assert changes == []
    assert [doc["name"] for doc in products_in_mongo()] == ["A"]
