from decimal import Decimal

import pytest
from bson import ObjectId

from catalog import services
from catalog.tests.factories import make_category
from ecommerce.stores import mongo

pytestmark = pytest.mark.django_db(databases="__all__")

CATEGORY_KEYS = {"id", "name", "slug", "description", "parent_id", "created_at", "updated_at"}


def _categories() -> list[dict]:
    return list(mongo.get_db()["categories"].find({}).sort("name", 1))


def test_staff_creates_a_category_with_a_slug_derived_from_its_name(staff_client):
    response = staff_client.post(
        "/api/categories", {"name": "Home & Garden", "description": "Outdoors too."}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == CATEGORY_KEYS
    assert (body["name"], body["slug"], body["description"], body["parent_id"]) == (
        "Home & Garden",
        "home-garden",
        "Outdoors too.",
        None,
    )
    [doc] = _categories()
    assert str(doc["_id"]) == body["id"] and doc["slug"] == "home-garden"


def test_derived_slugs_that_collide_get_the_smallest_free_suffix(staff_client):
    slugs = [staff_client.post("/api/categories", {"name": "Shoes"}, format="json").json()["slug"] for _ in range(3)]
    make_category("Shoes 9", slug="shoes-9")

    assert slugs == ["shoes", "shoes-2", "shoes-3"]
    assert staff_client.post("/api/categories", {"name": "SHOES"}, format="json").json()["slug"] == "shoes-4"


def test_names_without_a_usable_slug_still_get_one(staff_client):
    punctuation = staff_client.post("/api/categories", {"name": "!!!"}, format="json").json()
    hex_like = staff_client.post("/api/categories", {"name": "a" * 24}, format="json").json()

    assert punctuation["slug"] == "category"
    # A slug must never read as an id: /products/category/{category} takes both.
    assert hex_like["slug"] == "a" * 24 + "-2"


def test_an_explicit_slug_that_is_taken_is_a_conflict(staff_client):
    make_category("Books", slug="books")

    response = staff_client.post("/api/categories", {"name": "More books", "slug": "books"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "A category with this slug already exists.",
        "details": {"slug": ["Already taken."]},
    }
    assert len(_categories()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Ok", "slug": "Not A Slug"}, "slug"),
        ({"name": "Ok", "slug": "trailing-"}, "slug"),
        ({"name": "Ok", "slug": "0123456789abcdef01234567"}, "slug"),
        ({"name": "Ok", "description": "x" * 5001}, "description"),
        ({"name": "Ok", "parent_id": "nope"}, "parent_id"),
        ({"name": "Ok", "parent_id": str(ObjectId())}, "parent_id"),
    ],
)
def test_invalid_categories_are_validation_errors(staff_client, body, field):
    response = staff_client.post("/api/categories", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert list(response.json()["error"]["details"]) == [field]
    assert _categories() == []


def test_a_child_category_names_its_parent(staff_client, anon_client):
    parent = make_category("Clothing")

    response = staff_client.post("/api/categories", {"name": "Hats", "parent_id": parent.id}, format="json")

    assert response.status_code == 201
    assert anon_client.get(f"/api/categories/{response.json()['id']}").json()["parent_id"] == parent.id


def test_customers_are_forbidden_and_anonymous_unauthenticated_on_writes(customer_client, anon_client):
    category = make_category("Garden")
    url = f"/api/categories/{category.id}"

    for client, status in ((customer_client, 403), (anon_client, 401)):
        responses = [
            client.post("/api/categories", {"name": "New"}, format="json"),
            client.put(url, {"name": "Renamed"}, format="json"),
            client.delete(url),
        ]
        assert [r.status_code for r in responses] == [status] * 3
    assert [c["name"] for c in _categories()] == ["Garden"]


def test_anyone_lists_categories_by_name_with_pagination(anon_client):
    for name in ("beta", "Alpha", "gamma"):
        make_category(name)

    response = anon_client.get("/api/categories", {"limit": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["previous"] is None and "offset=2" in body["next"]
    assert [c["name"] for c in body["results"]] == ["Alpha", "beta"]
    assert [c["name"] for c in anon_client.get(body["next"]).json()["results"]] == ["gamma"]


def test_categories_filter_by_parent_or_top_level(anon_client):
    clothing = make_category("Clothing")
    make_category("Hats", parent=clothing)
    make_category("Shirts", parent=clothing)
    make_category("Books")

    children = anon_client.get("/api/categories", {"parent_id": clothing.id}).json()
    roots = anon_client.get("/api/categories", {"parent_id": "null"}).json()

    assert [c["name"] for c in children["results"]] == ["Hats", "Shirts"]
    assert [c["name"] for c in roots["results"]] == ["Books", "Clothing"]
    bad = anon_client.get("/api/categories", {"parent_id": "nope"})
    assert bad.status_code == 400 and list(bad.json()["error"]["details"]) == ["parent_id"]


@pytest.mark.parametrize("category_id", ["nope", str(ObjectId())])
def test_unknown_or_malformed_category_ids_are_not_found(staff_client, category_id):
    for response in (
        staff_client.get(f"/api/categories/{category_id}"),
        staff_client.put(f"/api/categories/{category_id}", {"name": "X"}, format="json"),
        staff_client.delete(f"/api/categories/{category_id}"),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_put_changes_only_what_is_sent_and_renaming_keeps_the_slug(staff_client):
    category = make_category("Garden", description="Plants.")
    url = f"/api/categories/{category.id}"

    renamed = staff_client.put(url, {"name": "Gardening"}, format="json")
    reslugged = staff_client.patch(url, {"slug": "gardening"}, format="json")

    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["slug"], renamed.json()["description"]) == (
        "Gardening",
        "garden",
        "Plants.",
    )
    assert reslugged.json()["slug"] == "gardening"
    [doc] = _categories()
    assert (doc["name"], doc["name_lower"], doc["slug"]) == ("Gardening", "gardening", "gardening")


def test_put_to_a_taken_slug_is_a_conflict(staff_client):
    make_category("Books", slug="books")
    category = make_category("Music")

    response = staff_client.put(f"/api/categories/{category.id}", {"slug": "books"}, format="json")

    assert response.status_code == 409
    assert {c["slug"] for c in _categories()} == {"books", "music"}


def test_a_category_cannot_become_its_own_ancestor(staff_client):
    root = make_category("Root")
    child = make_category("Child", parent=root)
    grandchild = make_category("Grandchild", parent=child)
    url = f"/api/categories/{root.id}"

    for parent in (root, child, grandchild):
        response = staff_client.put(url, {"parent_id": parent.id}, format="json")
        assert response.status_code == 400
        assert list(response.json()["error"]["details"]) == ["parent_id"]
    assert staff_client.put(url, {"parent_id": str(ObjectId())}, format="json").status_code == 400
    assert {c["name"]: c["parent_id"] for c in _categories()}["Root"] == ""


def test_a_category_moves_under_another_branch_and_back_to_the_top(staff_client):
    left = make_category("Left")
    right = make_category("Right")
    leaf = make_category("Leaf", parent=left)
    url = f"/api/categories/{leaf.id}"

    moved = staff_client.put(url, {"parent_id": right.id}, format="json")
    assert moved.status_code == 200 and moved.json()["parent_id"] == right.id
    # `leaf` left `left`, so `left` may now go under `leaf`: no loop.
    assert staff_client.put(f"/api/categories/{left.id}", {"parent_id": leaf.id}, format="json").status_code == 200

    top = staff_client.put(url, {"parent_id": None}, format="json")
    assert top.status_code == 200 and top.json()["parent_id"] is None


def test_delete_conflicts_while_children_or_products_refer_to_it(staff_client):
    parent = make_category("Parent")
    child = make_category("Child", parent=parent)
    product = services.product_create(name="Thing", price=Decimal("1.00"), category_id=child.id)

    assert staff_client.delete(f"/api/categories/{parent.id}").status_code == 409
    in_use = staff_client.delete(f"/api/categories/{child.id}")
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "conflict"
    assert len(_categories()) == 2

    services.product_update(product_id=product.id, data={"category_id": None})
    assert staff_client.delete(f"/api/categories/{child.id}").status_code == 204
    assert staff_client.delete(f"/api/categories/{parent.id}").status_code == 204
    assert _categories() == []
    assert staff_client.get(f"/api/categories/{parent.id}").status_code == 404
