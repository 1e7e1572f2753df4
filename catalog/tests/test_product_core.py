import dataclasses
from decimal import Decimal

import pytest
from bson import ObjectId

from catalog import repository, selectors, services
from ecommerce.api.exceptions import ConflictError, NotFoundError
from ecommerce.stores import mongo
from inventory.models import Inventory

pytestmark = pytest.mark.django_db(databases="__all__")


def test_product_create_stores_cents_and_creates_its_inventory_row():
    product = services.product_create(name="Mug", price=Decimal("9.99"), sku="MUG-1", initial_stock=5)

    assert product.price == Decimal("9.99")
    assert selectors.product_get(product_id=product.id).name == "Mug"
    assert Inventory.objects.using("mysql").get(product_id=product.id).quantity == 5


def test_duplicate_sku_conflicts_and_leaves_one_product():
    services.product_create(name="A", price=Decimal("1.00"), sku="SKU")
    with pytest.raises(ConflictError):
        services.product_create(name="B", price=Decimal("1.00"), sku="SKU")
    assert Inventory.objects.using("mysql").count() == 1


def test_inactive_products_hidden_unless_asked_and_bad_ids_are_404():
    product = services.product_create(name="Old", price=Decimal("2.50"), is_active=False)

    with pytest.raises(NotFoundError):
        selectors.product_get(product_id=product.id)
    assert selectors.product_get(product_id=product.id, include_inactive=True).is_active is False
    with pytest.raises(NotFoundError):
        selectors.product_get(product_id="nope")
    assert selectors.products_get_many(product_ids=[product.id, "nope"]).keys() == {product.id}


def test_delete_removes_inventory_row_and_runs_hooks():
    seen = []
    product = services.product_create(name="Gone", price=Decimal("3.00"), initial_stock=2)
    hook = services.on_product_deleted(seen.append)
    try:
        services.product_delete(product_id=product.id)
    finally:
        services._product_deleted_hooks.remove(hook)

    assert seen == [product.id]
    assert not Inventory.objects.using("mysql").filter(product_id=product.id).exists()
    assert not selectors.product_exists(product_id=product.id)


def test_rating_counts_are_atomic_increments():
    product = services.product_create(name="Rated", price=Decimal("3.00"))
    services.product_rating_add(product_id=product.id, rating=5)
    services.product_rating_add(product_id=product.id, rating=4)
    services.product_rating_add(product_id=product.id, rating=4)
    services.product_rating_remove(product_id=product.id, rating=5)

    rated = selectors.product_get(product_id=product.id)
    assert (rated.rating_count, rated.rating_average) == (2, Decimal("4.00"))


def test_an_update_computed_from_a_stale_revision_is_refused_so_no_write_is_lost():
    product = services.product_create(name="Chair", price=Decimal("40.00"), tags=["oak"])
    stale = repository.product_find_one(ObjectId(product.id))
    services.product_rating_add(product_id=product.id, rating=5)  # a review lands meanwhile

    assert repository.product_replace(dataclasses.replace(stale, name="Stool")) is False
    updated = services.product_update(product_id=product.id, data={"name": "Stool"})

    assert (updated.name, updated.rating_count, updated.rating_sum) == ("Stool", 1, 5)
    stored = selectors.product_get(product_id=product.id)
    assert (stored.name, stored.rating_count, stored.revision) == ("Stool", 1, updated.revision)
    doc = mongo.get_db()["products"].find_one({"_id": ObjectId(product.id)})
    assert (doc["name_lower"], doc["search_text"]) == ("stool", "stool  oak")
