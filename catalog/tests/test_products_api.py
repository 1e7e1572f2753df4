from decimal import Decimal

import pytest
from bson import ObjectId

from catalog import services
from catalog.tests.factories import make_category, products_in_mongo
from ecommerce.stores import mongo
from inventory.models import Inventory

pytestmark = pytest.mark.django_db(databases="__all__")

PRODUCT_KEYS = {
    "id",
    "name",
    "description",
    "sku",
    "price",
    "currency",
    "category_id",
    "tags",
    "images",
    "attributes",
    "is_active",
    "rating",
    "created_at",
    "updated_at",
    # Variants (API.md "Variants"): a standalone product answers them empty.
    "kind",
    "parent_id",
    "option_names",
    "options",
    "variants",
}


def _inventory(product_id: str):
    return Inventory.objects.using("mysql").filter(product_id=product_id).first()


def _create(client, **body):
    return client.post("/api/products", {"name": "Mug", "price": "9.99", **body}, format="json")


def test_staff_creates_a_product_with_every_field_and_its_inventory_row(staff_client):
    category = make_category("Kitchen")

    response = staff_client.post(
        "/api/products",
        {
            "name": "Blue Mug",
            "description": "Holds coffee.",
            "sku": "MUG-BLUE",
            "price": "19.99",
            "category_id": category.id,
            "tags": ["kitchen", " Blue ", "kitchen"],
            "images": ["https://cdn.example.com/mug.jpg"],
            "attributes": {"color": "blue", "volume_ml": 350, "dishwasher_safe": True, "note": None},
            "is_active": True,
            "initial_stock": 7,
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == PRODUCT_KEYS
    assert (body["kind"], body["parent_id"], body["option_names"], body["options"], body["variants"]) == (
        "standalone",
        None,
        [],
        {},
        [],
    )
    assert body["name"] == "Blue Mug"
    assert body["price"] == "19.99" and body["currency"] == "USD"
    assert body["category_id"] == category.id
    assert body["tags"] == ["kitchen", "Blue"]
    assert body["attributes"] == {"color": "blue", "volume_ml": 350, "dishwasher_safe": True, "note": None}
    assert body["rating"] == {"average": "0.00", "count": 0}
    assert body["created_at"].endswith("Z")
    [doc] = products_in_mongo()
    assert str(doc["_id"]) == body["id"]
    assert doc["price_cents"] == 1999 and doc["name_lower"] == "blue mug"
    assert doc["search_text"] == "blue mug holds coffee. kitchen blue"
    assert _inventory(body["id"]).quantity == 7


def test_optional_fields_default_and_products_without_sku_do_not_clash(staff_client):
    first = _create(staff_client)
    second = _create(staff_client, name="Cup", price=4.5)

    assert first.status_code == second.status_code == 201
    body = second.json()
    assert body["sku"] is None and body["category_id"] is None
    assert (body["description"], body["tags"], body["images"], body["attributes"]) == ("", [], [], {})
    assert body["price"] == "4.50" and body["is_active"] is True
    assert "sku" not in products_in_mongo()[1]
    assert _inventory(body["id"]).quantity == 0


@pytest.mark.parametrize("price", ["0.01", "1000000.00", "1000000", 19.9])
def test_prices_within_bounds_are_accepted(staff_client, price):
    response = _create(staff_client, price=price)

    assert response.status_code == 201
    assert Decimal(response.json()["price"]) == Decimal(str(price))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 201),
        ("name", 42),
        ("description", "x" * 5001),
        ("price", "0"),
        ("price", "-1.00"),
        ("price", "19.999"),
        ("price", "1000000.01"),
        ("price", "abc"),
        ("price", True),
        ("sku", "S" * 65),
        ("sku", 12),
        ("category_id", "nope"),
        ("tags", "red"),
        ("tags", ["x" * 51]),
        ("tags", [f"t{i}" for i in range(21)]),
        ("tags", [5]),
        ("images", ["not a url"]),
        ("images", "https://cdn.example.com/a.jpg"),
        ("attributes", ["a"]),
        ("attributes", {"nested": {"a": 1}}),
        ("attributes", {"list": [1, 2]}),
        ("attributes", {"a.b": 1}),
        ("attributes", {"$where": 1}),
        ("attributes", {f"k{i}": i for i in range(51)}),
        ("attributes", {"long": "x" * 1001}),
        ("attributes", {"big": 2**60}),
        ("initial_stock", -1),
        ("initial_stock", 1_000_001),
        ("initial_stock", "lots"),
        ("is_active", "maybe"),
    ],
)
def test_invalid_fields_are_a_validation_error_and_create_nothing(staff_client, field, value):
    response = _create(staff_client, **{field: value})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    assert list(error["details"]) == [field] and error["details"][field]
    assert products_in_mongo() == []
    assert not Inventory.objects.using("mysql").exists()


def test_missing_name_and_price_are_reported_together(staff_client):
    response = staff_client.post("/api/products", {"description": "nameless"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"name", "price"}


def test_price_message_says_greater_than_zero(staff_client):
    response = _create(staff_client, price="0.00")

    assert response.json()["error"]["details"] == {"price": ["Must be greater than 0."]}


def test_unknown_category_is_a_validation_error(staff_client):
    response = _create(staff_client, category_id=str(ObjectId()))

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"category_id": ["Unknown category."]}
    assert products_in_mongo() == []


def test_taken_sku_is_a_conflict(staff_client):
    assert _create(staff_client, sku="SKU-1").status_code == 201

    response = _create(staff_client, name="Other", sku="SKU-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert response.json()["error"]["details"] == {"sku": ["Already taken."]}
    assert len(products_in_mongo()) == 1 and Inventory.objects.using("mysql").count() == 1


def test_malformed_json_is_a_validation_error(staff_client):
    response = staff_client.generic("POST", "/api/products", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_customers_are_forbidden_and_anonymous_unauthenticated_on_writes(customer_client, anon_client):
    product = services.product_create(name="Mug", price=Decimal("9.99"))
    url = f"/api/products/{product.id}"

    for client, status, code in ((customer_client, 403, "permission_denied"), (anon_client, 401, "not_authenticated")):
        responses = [
            _create(client),
            client.put(url, {"name": "Hacked"}, format="json"),
            client.patch(url, {"name": "Hacked"}, format="json"),
            client.delete(url),
        ]
        assert [r.status_code for r in responses] == [status] * 4
        assert {r.json()["error"]["code"] for r in responses} == {code}
    [doc] = products_in_mongo()
    assert doc["name"] == "Mug"


def test_anyone_reads_an_active_product(anon_client, customer_client):
    product = services.product_create(name="Mug", price=Decimal("9.99"), sku="M1")

    for client in (anon_client, customer_client):
        response = client.get(f"/api/products/{product.id}")
        assert response.status_code == 200
        assert response.json()["id"] == product.id and response.json()["sku"] == "M1"


def test_inactive_products_are_hidden_from_everyone_but_staff(anon_client, customer_client, staff_client):
    product = services.product_create(name="Retired", price=Decimal("1.00"), is_active=False)
    url = f"/api/products/{product.id}"

    assert anon_client.get(url).status_code == 404
    assert customer_client.get(url).status_code == 404
    assert staff_client.get(url).json()["is_active"] is False


@pytest.mark.parametrize("product_id", ["nope", "0" * 23, "g" * 24, str(ObjectId())])
def test_unknown_or_malformed_ids_are_not_found(staff_client, product_id):
    for response in (
        staff_client.get(f"/api/products/{product_id}"),
        staff_client.put(f"/api/products/{product_id}", {"name": "X"}, format="json"),
        staff_client.delete(f"/api/products/{product_id}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_put_changes_only_the_fields_sent_and_keeps_search_fields_in_sync(staff_client, anon_client):
    product = services.product_create(
        name="Old Name", price=Decimal("5.00"), description="Sturdy.", tags=["oak"], sku="S1"
    )

    response = staff_client.put(f"/api/products/{product.id}", {"name": "Walnut Table"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["description"], body["tags"], body["price"], body["sku"]) == (
        "Walnut Table",
        "Sturdy.",
        ["oak"],
        "5.00",
        "S1",
    )
    assert body["updated_at"] > body["created_at"]
    [doc] = products_in_mongo()
    assert doc["name_lower"] == "walnut table"
    assert doc["search_text"] == "walnut table sturdy. oak"
    assert anon_client.get("/api/products/search", {"q": "walnut"}).json()["count"] == 1
    assert anon_client.get("/api/products/search", {"q": "old name"}).json()["count"] == 0


def test_patch_is_accepted_like_put(staff_client):
    product = services.product_create(name="Lamp", price=Decimal("5.00"))
    category = make_category("Lighting")

    response = staff_client.patch(
        f"/api/products/{product.id}",
        {"tags": ["Desk"], "price": "12.50", "category_id": category.id, "is_active": False},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["tags"], body["price"], body["category_id"], body["is_active"]) == (
        ["Desk"],
        "12.50",
        category.id,
        False,
    )
    [doc] = products_in_mongo()
    assert doc["price_cents"] == 1250 and doc["search_text"] == "lamp  desk"


def test_put_can_clear_the_sku_and_category_and_a_taken_sku_conflicts(staff_client):
    category = make_category("Toys")
    product = services.product_create(name="Ball", price=Decimal("3.00"), sku="BALL", category_id=category.id)
    services.product_create(name="Kite", price=Decimal("3.00"), sku="KITE")
    url = f"/api/products/{product.id}"

    taken = staff_client.put(url, {"sku": "KITE"}, format="json")
    assert taken.status_code == 409 and taken.json()["error"]["details"] == {"sku": ["Already taken."]}

    cleared = staff_client.put(url, {"sku": None, "category_id": None}, format="json")
    assert cleared.status_code == 200
    assert (cleared.json()["sku"], cleared.json()["category_id"]) == (None, None)
    assert "sku" not in mongo.get_db()["products"].find_one({"_id": ObjectId(product.id)})
    # The SKU is free again.
    assert _create(staff_client, name="Ball 2", sku="BALL").status_code == 201


def test_put_validates_like_create(staff_client):
    product = services.product_create(name="Lamp", price=Decimal("5.00"))
    url = f"/api/products/{product.id}"

    assert staff_client.put(url, {"price": "19.999"}, format="json").json()["error"]["details"].keys() == {"price"}
    assert staff_client.put(url, {"name": ""}, format="json").status_code == 400
    unknown = staff_client.put(url, {"category_id": str(ObjectId())}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["details"] == {"category_id": ["Unknown category."]}
    [doc] = products_in_mongo()
    assert (doc["price_cents"], doc["name"], doc["category_id"]) == (500, "Lamp", None)


def test_delete_removes_the_product_its_inventory_row_and_runs_the_hooks(staff_client):
    product = services.product_create(name="Gone", price=Decimal("3.00"), initial_stock=4)
    deleted = []
    hook = services.on_product_deleted(deleted.append)
    try:
        response = staff_client.delete(f"/api/products/{product.id}")
    finally:
        services._product_deleted_hooks.remove(hook)

    assert response.status_code == 204
    assert deleted == [product.id]
    assert products_in_mongo() == []
    assert _inventory(product.id) is None
    assert staff_client.delete(f"/api/products/{product.id}").status_code == 404


def test_rating_is_a_two_place_average_and_a_count(anon_client):
    product = services.product_create(name="Rated", price=Decimal("3.00"))
    services.product_rating_add(product_id=product.id, rating=5)
    services.product_rating_add(product_id=product.id, rating=4)

    assert anon_client.get(f"/api/products/{product.id}").json()["rating"] == {"average": "4.50", "count": 2}
