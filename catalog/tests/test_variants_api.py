"""Variants (API.md "Variants"): a parent groups variants that are bought by their own id, each
with its own SKU, price and stock row; the parent answers its variants and the cheapest
active price, and is what listings, search and category listings show."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from catalog import services
from catalog.tests.factories import make_category, products_in_mongo
from ecommerce.routers import MYSQL
from ecommerce.testing.helpers import make_user
from inventory.models import Inventory

SIZES, COLOURS = ("S", "M"), ("Red", "Blue")
# (size, colour) -> (sku, price, stock): "S / Blue" is the cheapest, "M / Red" has none left.
TEE = {
    ("S", "Red"): ("TEE-S-RED", "12.00", 5),
    ("S", "Blue"): ("TEE-S-BLUE", "9.50", 3),
    ("M", "Red"): ("TEE-M-RED", "12.00", 0),
    ("M", "Blue"): ("TEE-M-BLUE", "14.00", 8),
}


def _rows() -> dict[str, int]:
    return dict(Inventory.objects.using(MYSQL).values_list("product_id", "quantity"))


def _docs() -> dict[str, dict]:
    return {str(doc["_id"]): doc for doc in products_in_mongo()}


def _add_variant(client, parent_id: str, size: str, colour: str, **body):
    sku, price, stock = TEE.get((size, colour), (f"TEE-{size}-{colour}", "10.00", 1))
    payload = {"sku": sku, "options": {"Size": size, "Colour": colour}, "price": price, "initial_stock": stock, **body}
    return client.post(f"/api/products/{parent_id}/variants", payload, format="json")


@pytest.fixture
def tee(staff_client):
    """The parent "Tee" (Size x Colour) and its four variants: (parent id, {(size, colour): variant id})."""
    category = make_category("Clothing")
    response = staff_client.post(
        "/api/products",
        {"name": "Tee", "option_names": ["Size", "Colour"], "category_id": category.id, "tags": ["cotton"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    parent_id = response.json()["id"]
    variants = {}
    for size in SIZES:
        for colour in COLOURS:
            added = _add_variant(staff_client, parent_id, size, colour)
            assert added.status_code == 201, added.json()
            variants[(size, colour)] = added.json()["id"]
    return parent_id, variants


pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_parent_has_no_price_no_sku_and_no_stock_row(staff_client):
    response = staff_client.post("/api/products", {"name": "Tee", "option_names": ["Size", "Colour"]}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["price"], body["sku"], body["option_names"], body["variants"]) == (
        "parent",
        None,
        None,
        ["Size", "Colour"],
        [],
    )
    assert _rows() == {}
    doc = _docs()[body["id"]]
    assert (doc["kind"], doc["variants"], "price_cents" in doc) == ("parent", [], False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": "5.00"}, "price"),
        ({"sku": "TEE"}, "sku"),
        ({"initial_stock": 3}, "initial_stock"),
        ({"option_names": ["Size", "size"]}, "option_names"),
        ({"option_names": ["A", "B", "C", "D"]}, "option_names"),
        ({"option_names": []}, "option_names"),
    ],
)
def test_a_parent_body_with_what_a_parent_cannot_have_is_a_400(staff_client, body, field):
    response = staff_client.post("/api/products", {"name": "Tee", "option_names": ["Size"], **body}, format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert _docs() == {} and _rows() == {}


def test_tee_with_size_and_colour_has_four_variants_four_skus_and_four_stock_rows(anon_client, tee):
    parent_id, variants = tee

    body = anon_client.get(f"/api/products/{parent_id}").json()

    assert body["kind"] == "parent" and body["price"] == "9.50"
    by_options = {(v["options"]["Size"], v["options"]["Colour"]): v for v in body["variants"]}
    assert set(by_options) == set(TEE)
    for combination, (sku, price, stock) in TEE.items():
        summary = by_options[combination]
        assert (summary["id"], summary["sku"], summary["price"]) == (variants[combination], sku, price)
        assert (summary["is_active"], summary["in_stock"]) == (True, stock > 0)
    # Each variant is bought by its own id: its own stock row; none for the parent.
    assert _rows() == {variants[c]: stock for c, (_, _, stock) in TEE.items()}
    docs = _docs()
    assert sorted(docs[v]["sku"] for v in variants.values()) == sorted(sku for sku, _, _ in TEE.values())
    variant = anon_client.get(f"/api/products/{variants[('M', 'Blue')]}").json()
    assert (variant["kind"], variant["parent_id"], variant["options"]) == (
        "variant",
        parent_id,
        {"Size": "M", "Colour": "Blue"},
    )
    assert (variant["name"], variant["price"], variant["tags"]) == ("Tee (M / Blue)", "14.00", ["cotton"])
    assert variant["category_id"] == docs[parent_id]["category_id"]


@pytest.mark.parametrize("options", [{"Size": "M", "Colour": "Red"}, {"Colour": "red", "Size": "m"}])
def test_a_fifth_variant_with_an_existing_combination_is_a_409(staff_client, tee, options):
    parent_id, _ = tee
    before = (_docs(), _rows())

    response = staff_client.post(
        f"/api/products/{parent_id}/variants", {"sku": "TEE-5", "options": options, "price": "1.00"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "options" in response.json()["error"]["details"]
    assert (_docs(), _rows()) == before


def test_a_variant_with_a_taken_sku_is_a_409(staff_client, tee):
    parent_id, _ = tee
    response = _add_variant(staff_client, parent_id, "L", "Red", sku="TEE-S-RED")

    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"sku": ["Already taken."]}
    assert len(_rows()) == 4


@pytest.mark.parametrize(
    "options",
    [
        {"Size": "L", "Fit": "Slim"},  # names another option
        {"Size": "L"},  # one missing
        {"Size": "L", "Colour": "Red", "Fit": "Slim"},  # one too many
        {"Size": "L", "Colour": ""},  # a blank value
        {"Size": "L", "Colour": 3},  # not a string
        [],
    ],
)
def test_options_that_do_not_name_exactly_the_parents_options_are_a_400(staff_client, tee, options):
    parent_id, _ = tee
    response = staff_client.post(
        f"/api/products/{parent_id}/variants", {"sku": "TEE-X", "options": options, "price": "1.00"}, format="json"
    )

    assert response.status_code == 400
    assert "options" in response.json()["error"]["details"]
    assert len(_rows()) == 4 and "TEE-X" not in {doc.get("sku") for doc in _docs().values()}


def test_variants_are_added_only_to_a_parent(staff_client, tee):
    _, variants = tee
    standalone = staff_client.post("/api/products", {"name": "Mug", "price": "3.00"}, format="json").json()["id"]
    body = {"sku": "NOPE", "options": {"Size": "L"}, "price": "1.00"}

    for not_a_parent in (standalone, variants[("S", "Red")]):
        response = staff_client.post(f"/api/products/{not_a_parent}/variants", body, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["details"] == {"parent_id": ["Not a parent product."]}
    unknown = staff_client.post("/api/products/0123456789abcdef01234567/variants", body, format="json")
    assert unknown.status_code == 404
    assert "NOPE" not in {doc.get("sku") for doc in _docs().values()}


def test_customers_cannot_add_variants(customer_client, anon_client, tee):
    parent_id, _ = tee
    body = {"sku": "TEE-L", "options": {"Size": "L", "Colour": "Red"}, "price": "1.00"}

    assert customer_client.post(f"/api/products/{parent_id}/variants", body, format="json").status_code == 403
    assert anon_client.post(f"/api/products/{parent_id}/variants", body, format="json").status_code == 401
    assert len(_rows()) == 4


def test_listing_shows_the_tee_once_with_the_cheapest_active_price_which_follows_its_variants(
    staff_client, anon_client, tee
):
    parent_id, variants = tee

    def listed() -> list[tuple[str, str | None]]:
        return [(p["name"], p["price"]) for p in anon_client.get("/api/products").json()["results"]]

    assert listed() == [("Tee", "9.50")]
    # Deactivating the cheapest moves the price to the next cheapest active one.
    cheapest = variants[("S", "Blue")]
    assert staff_client.patch(f"/api/products/{cheapest}", {"is_active": False}, format="json").status_code == 200
    assert listed() == [("Tee", "12.00")]
    parent = anon_client.get(f"/api/products/{parent_id}").json()
    assert cheapest not in {v["id"] for v in parent["variants"]}  # customers see the active ones
    staff_view = staff_client.get(f"/api/products/{parent_id}").json()
    assert {v["id"]: v["is_active"] for v in staff_view["variants"]}[cheapest] is False
    # Repricing one below the rest moves it again; deleting that one moves it back.
    repriced = variants[("M", "Blue")]
    assert staff_client.patch(f"/api/products/{repriced}", {"price": "7.25"}, format="json").status_code == 200
    assert listed() == [("Tee", "7.25")]
    assert staff_client.delete(f"/api/products/{repriced}").status_code == 204
    assert listed() == [("Tee", "12.00")]
    assert _docs()[parent_id]["price_cents"] == 1200
    # With no active variant left the parent has no price.
    for combination in (("S", "Red"), ("M", "Red")):
        staff_client.patch(f"/api/products/{variants[combination]}", {"is_active": False}, format="json")
    assert listed() == [("Tee", None)]
    assert "price_cents" not in _docs()[parent_id]


def test_price_filters_and_sorts_use_the_parents_price(anon_client, staff_client, tee):
    staff_client.post("/api/products", {"name": "Mug", "price": "11.00"}, format="json")

    by_price = anon_client.get("/api/products", {"sort": "price"}).json()["results"]
    assert [(p["name"], p["price"]) for p in by_price] == [("Tee", "9.50"), ("Mug", "11.00")]
    cheap = anon_client.get("/api/products", {"max_price": "10.00"}).json()
    assert [p["name"] for p in cheap["results"]] == ["Tee"] and cheap["count"] == 1


def test_search_by_a_variants_sku_finds_the_tee_and_no_listing_shows_a_variant(anon_client, staff_client, tee):
    parent_id, variants = tee

    found = anon_client.get("/api/products/search", {"q": "tee-m-blue"}).json()
    assert [p["id"] for p in found["results"]] == [parent_id] and found["count"] == 1
    # A new variant's sku is searchable at once; a deleted one's no longer.
    assert _add_variant(staff_client, parent_id, "L", "Red", sku="XL-ZEBRA").status_code == 201
    assert [p["id"] for p in anon_client.get("/api/products/search", {"q": "zebra"}).json()["results"]] == [parent_id]
    assert staff_client.delete(f"/api/products/{variants[('M', 'Blue')]}").status_code == 204
    assert anon_client.get("/api/products/search", {"q": "tee-m-blue"}).json()["count"] == 0
    # Listings, search by name and the category listing: the parent, never its variants.
    category_id = _docs()[parent_id]["category_id"]
    for path, params in (
        ("/api/products", {}),
        ("/api/products/search", {"q": "tee"}),
        (f"/api/products/category/{category_id}", {}),
    ):
        for client in (anon_client, staff_client):
            body = client.get(path, params).json()
            assert [p["id"] for p in body["results"]] == [parent_id], path
            assert body["count"] == 1


def test_the_variants_of_a_parent_are_listed_paginated(anon_client, staff_client, tee):
    parent_id, variants = tee
    hidden = variants[("M", "Red")]
    staff_client.patch(f"/api/products/{hidden}", {"is_active": False}, format="json")

    page = anon_client.get(f"/api/products/{parent_id}/variants", {"limit": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert all(v["kind"] == "variant" and v["parent_id"] == parent_id for v in page["results"])
    rest = anon_client.get(f"/api/products/{parent_id}/variants", {"limit": 2, "offset": 2}).json()
    customer_ids = [v["id"] for v in page["results"] + rest["results"]]
    assert customer_ids == [v for c, v in variants.items() if v != hidden]  # oldest first
    assert staff_client.get(f"/api/products/{parent_id}/variants").json()["count"] == 4
    not_parent = anon_client.get(f"/api/products/{variants[('S', 'Red')]}/variants")
    assert not_parent.status_code == 400


def test_a_variants_options_change_only_to_an_unused_combination(staff_client, tee):
    parent_id, variants = tee
    moving = variants[("S", "Red")]

    taken = staff_client.patch(f"/api/products/{moving}", {"options": {"Size": "M", "Colour": "Red"}}, format="json")
    assert taken.status_code == 409 and "options" in taken.json()["error"]["details"]
    wrong = staff_client.patch(f"/api/products/{moving}", {"options": {"Size": "L", "Fit": "Slim"}}, format="json")
    assert wrong.status_code == 400
    moved = staff_client.patch(f"/api/products/{moving}", {"options": {"Size": "L", "Colour": "Red"}}, format="json")
    assert moved.status_code == 200 and moved.json()["options"] == {"Size": "L", "Colour": "Red"}
    summary = {v["id"]: v["options"] for v in staff_client.get(f"/api/products/{parent_id}").json()["variants"]}
    assert summary[moving] == {"Size": "L", "Colour": "Red"}
    # Its old combination is free again.
    assert _add_variant(staff_client, parent_id, "S", "Red", sku="TEE-S-RED-2").status_code == 201


def test_a_variants_category_and_tags_are_its_parents(staff_client, tee):
    parent_id, variants = tee
    variant = variants[("S", "Red")]
    other = make_category("Sale")

    refused = staff_client.patch(f"/api/products/{variant}", {"tags": ["x"], "category_id": other.id}, format="json")
    assert refused.status_code == 400
    assert set(refused.json()["error"]["details"]) == {"tags", "category_id"}
    no_sku = staff_client.patch(f"/api/products/{variant}", {"sku": None}, format="json")
    assert no_sku.status_code == 400 and _docs()[variant]["sku"] == "TEE-S-RED"
    parent = staff_client.patch(
        f"/api/products/{parent_id}", {"tags": ["sale"], "category_id": other.id}, format="json"
    )
    assert parent.status_code == 200
    docs = _docs()
    assert {(docs[v]["category_id"], tuple(docs[v]["tags"])) for v in variants.values()} == {(other.id, ("sale",))}
    assert staff_client.patch(f"/api/products/{parent_id}", {"price": "3.00"}, format="json").status_code == 400


def test_deleting_a_parent_removes_its_variants_and_their_stock_rows(staff_client, tee):
    parent_id, variants = tee
    staff_client.post("/api/products", {"name": "Mug", "price": "3.00", "initial_stock": 2}, format="json")
    deleted: list[str] = []
    hook = services.on_product_deleted(deleted.append)
    try:
        assert staff_client.delete(f"/api/products/{parent_id}").status_code == 204
    finally:
        services._product_deleted_hooks.remove(hook)

    assert sorted(deleted) == sorted([parent_id, *variants.values()])
    assert [doc["name"] for doc in _docs().values()] == ["Mug"]
    assert len(_rows()) == 1 and not set(variants.values()) & _rows().keys()
    assert staff_client.get(f"/api/products/{variants[('S', 'Red')]}").status_code == 404


def test_deleting_a_variant_removes_its_stock_row_and_its_place_in_the_parent(staff_client, tee):
    parent_id, variants = tee
    gone = variants[("M", "Red")]

    assert staff_client.delete(f"/api/products/{gone}").status_code == 204

    assert gone not in _rows() and len(_rows()) == 3
    assert gone not in {v["id"] for v in staff_client.get(f"/api/products/{parent_id}").json()["variants"]}
    assert [v["id"] for v in _docs()[parent_id]["variants"]] == [v for v in variants.values() if v != gone]


def test_each_variant_write_tells_the_changed_hooks_about_the_variant_and_its_parent(staff_client, tee):
    parent_id, variants = tee
    calls: list[tuple[str, str]] = []
    hook = services.on_product_changed(lambda product_id, change: calls.append((product_id, change)))
    try:
        added = _add_variant(staff_client, parent_id, "L", "Red").json()["id"]
        staff_client.patch(f"/api/products/{added}", {"price": "2.00"}, format="json")
        staff_client.delete(f"/api/products/{added}")
    finally:
        services._product_changed_hooks.remove(hook)

    assert calls == [
        (parent_id, "updated"),
        (added, "created"),
        (added, "updated"),
        (parent_id, "updated"),
        (added, "deleted"),
        (parent_id, "updated"),
    ]


def test_staff_tools_find_any_product_by_its_exact_sku(staff_client, tee):
    from catalog import selectors

    _, variants = tee
    staff_client.post("/api/products", {"name": "Mug", "price": "3.00", "sku": "MUG-1"}, format="json")

    assert selectors.product_get_by_sku(sku="TEE-M-BLUE").id == variants[("M", "Blue")]
    assert selectors.product_get_by_sku(sku="MUG-1").name == "Mug"
    assert selectors.product_get_by_sku(sku="TEE-M") is None  # exact, not a substring
    assert selectors.product_get_by_sku(sku="") is None


def test_the_selector_for_the_sql_side_answers_kinds_skus_options_and_a_parents_variants(tee):
    from catalog import selectors

    parent_id, variants = tee
    standalone = services.product_create(name="Mug", price=Decimal("3.00"))

    ids = [parent_id, variants[("S", "Blue")], standalone.id]
    assert selectors.products_get_many(product_ids=ids).keys() == set(ids[1:])  # a parent is never bought
    found = selectors.products_get_many(product_ids=ids, include_parents=True)

    parent, variant, mug = found[parent_id], found[variants[("S", "Blue")]], found[standalone.id]
    assert (parent.kind, parent.is_buyable, parent.price) == ("parent", False, Decimal("9.50"))
    assert sorted(parent.variant_ids) == sorted(variants.values())
    assert (variant.kind, variant.parent_id, variant.sku, variant.options, variant.is_buyable) == (
        "variant",
        parent_id,
        "TEE-S-BLUE",
        {"Size": "S", "Colour": "Blue"},
        True,
    )
    assert (mug.kind, mug.parent_id, mug.options, mug.variant_ids) == ("standalone", None, {}, [])


def test_a_variant_of_an_inactive_parent_is_not_sold_and_comes_back_as_it_was(
    staff_client, customer_client, customer, tee
):
    from cart.models import CartItem

    parent_id, variants = tee
    retired = variants[("S", "Red")]
    assert staff_client.patch(f"/api/products/{retired}", {"is_active": False}, format="json").status_code == 200

    assert staff_client.patch(f"/api/products/{parent_id}", {"is_active": False}, format="json").status_code == 200

    sold = variants[("M", "Blue")]
    assert customer_client.get(f"/api/products/{sold}").status_code == 404
    line = {"product_id": sold, "quantity": 1}
    assert customer_client.post(f"/api/cart/{customer.pk}/items", line, format="json").status_code == 400
    assert not CartItem.objects.exists()
    assert staff_client.get(f"/api/products/{sold}").json()["is_active"] is False
    assert {doc["parent_active"] for v, doc in _docs().items() if v in variants.values()} == {False}

    assert staff_client.patch(f"/api/products/{parent_id}", {"is_active": True}, format="json").status_code == 200

    assert customer_client.get(f"/api/products/{sold}").json()["is_active"] is True
    assert customer_client.post(f"/api/cart/{customer.pk}/items", line, format="json").status_code == 201
    assert customer_client.get(f"/api/products/{retired}").status_code == 404  # its own flag kept
    assert staff_client.get(f"/api/products/{retired}").json()["is_active"] is False


def test_a_parent_in_a_cart_or_an_order_is_a_400_that_stores_nothing(customer_client, customer, tee):
    from cart.models import CartItem
    from orders.models import Order

    parent_id, variants = tee
    address = {"name": "Ada", "line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}

    cart = customer_client.post(
        f"/api/cart/{customer.pk}/items", {"product_id": parent_id, "quantity": 1}, format="json"
    )
    order = customer_client.post(
        "/api/orders", {"items": [{"product_id": parent_id, "quantity": 1}], "shipping_address": address}, format="json"
    )

    assert (cart.status_code, order.status_code) == (400, 400)
    assert cart.json()["error"]["code"] == order.json()["error"]["code"] == "validation_error"
    assert not CartItem.objects.exists() and not Order.objects.exists()
    assert _rows() == {variants[c]: stock for c, (_, _, stock) in TEE.items()}
    # A variant is bought like any product, by its own id.
    bought = customer_client.post(
        "/api/orders",
        {"items": [{"product_id": variants[("M", "Blue")], "quantity": 2}], "shipping_address": address},
        format="json",
    )
    assert bought.status_code == 201
    assert _rows()[variants[("M", "Blue")]] == 6


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_two_staff_adding_the_same_combination_at_once_get_one_201_and_one_409(live_api):
    staff = make_user("variant-race@example.com", staff=True)
    headers = {"Authorization": f"Bearer {AccessToken.for_user(staff)}"}
    parent = requests.post(
        f"{live_api.url}/api/products",
        json={"name": "Race Tee", "option_names": ["Size", "Colour"]},
        headers=headers,
        timeout=30,
    ).json()
    rounds = 4

    def add(n: int, racer: int, barrier: threading.Barrier) -> int:
        body = {"sku": f"RACE-{n}-{racer}", "options": {"Size": f"S{n}", "Colour": "Red"}, "price": f"{n + 1}.00"}
        barrier.wait()  # both requests leave together
        url = f"{live_api.url}/api/products/{parent['id']}/variants"
        return requests.post(url, json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        for n in range(rounds):
            barrier = threading.Barrier(2)
            statuses = sorted(f.result() for f in [pool.submit(add, n, racer, barrier) for racer in range(2)])
            assert statuses == [201, 409]

    docs = _docs()
    variants = [doc for doc in docs.values() if doc.get("kind") == "variant"]
    assert sorted(doc["options"]["Size"] for doc in variants) == [f"S{n}" for n in range(rounds)]
    assert _rows().keys() == {str(doc["_id"]) for doc in variants}
    # Every winner is in the parent's summary, whatever order the rewrites landed in.
    summary = docs[parent["id"]]["variants"]
    assert sorted(v["id"] for v in summary) == sorted(str(doc["_id"]) for doc in variants)
    assert docs[parent["id"]]["price_cents"] == 100


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_concurrent_adds_of_different_variants_all_land_in_the_parents_summary(live_api):
    staff = make_user("variant-burst@example.com", staff=True)
    headers = {"Authorization": f"Bearer {AccessToken.for_user(staff)}"}
    parent = requests.post(
        f"{live_api.url}/api/products",
        json={"name": "Burst Tee", "option_names": ["Size"]},
        headers=headers,
        timeout=30,
    ).json()
    count = 8
    barrier = threading.Barrier(count)

    def add(n: int) -> int:
        body = {"sku": f"BURST-{n}", "options": {"Size": f"S{n}"}, "price": f"{20 - n}.00"}
        barrier.wait()
        url = f"{live_api.url}/api/products/{parent['id']}/variants"
        return requests.post(url, json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=count) as pool:
        assert list(pool.map(add, range(count))) == [201] * count

    answer = requests.get(f"{live_api.url}/api/products/{parent['id']}", timeout=30).json()
    assert sorted(v["sku"] for v in answer["variants"]) == sorted(f"BURST-{n}" for n in range(count))
    assert answer["price"] == f"{20 - (count - 1)}.00"


def test_repair_knows_the_kinds(staff_client, tee):
    from datetime import timedelta

    from django.utils import timezone

    from catalog import repository
    from ecommerce.stores import mongo

    parent_id, variants = tee
    rowless = variants[("S", "Red")]
    Inventory.objects.using(MYSQL).filter(product_id=rowless).delete()
    Inventory.objects.using(MYSQL).create(product_id=parent_id, quantity=4)  # a parent holds no stock
    products = mongo.get_db()[repository.PRODUCTS]
    products.update_one({"_id": mongo.object_id_or_404(parent_id)}, {"$set": {"variants": [], "price_cents": 1}})
    cap = staff_client.post("/api/products", {"name": "Cap", "option_names": ["Size"]}, format="json").json()["id"]
    cap_variant = _add_variant(staff_client, cap, "S", "Red", options={"Size": "S"}, sku="CAP-S").json()["id"]
    products.update_one({"_id": mongo.object_id_or_404(cap_variant)}, {"$set": {"parent_active": False}})
    orphan = products.insert_one(
        repository.product_document(
            name="Lost (L)",
            price=Decimal("5.00"),
            kind="variant",
            parent_id="0123456789abcdef01234567",
            options={"Size": "L"},
            now=timezone.now() - timedelta(minutes=5),
        )
    ).inserted_id
    Inventory.objects.using(MYSQL).create(product_id=str(orphan), quantity=1)

    dry = services.catalog_repair(dry_run=True, grace=timedelta(0))
    assert (dry.inventory_created, dry.parent_rows_removed) == ([rowless], [parent_id])
    assert (dry.orphan_variants_deleted, dry.parents_refreshed) == ([str(orphan)], sorted([parent_id, cap]))
    assert _rows()[parent_id] == 4 and str(orphan) in _docs()

    services.catalog_repair(grace=timedelta(0))

    expected = {variants[c]: (0 if variants[c] == rowless else stock) for c, (_, _, stock) in TEE.items()}
    assert _rows() == {**expected, cap_variant: 5}
    docs = _docs()
    assert str(orphan) not in docs
    assert sorted(v["id"] for v in docs[parent_id]["variants"]) == sorted(variants.values())
    assert docs[parent_id]["price_cents"] == 950
    assert docs[cap_variant]["parent_active"] is True
    again = services.catalog_repair(grace=timedelta(0))
    assert again == services.RepairReport()


def test_groups_created_in_bulk_read_like_variants_added_one_by_one(anon_client):
    from datetime import timedelta

    from django.utils import timezone

    category = make_category("Knitwear")
    made = services.product_groups_create_many(
        groups=[
            (
                {"name": "Scarf", "option_names": ["Colour"], "category_id": category.id, "tags": ["wool"],
                 "now": timezone.now() - timedelta(days=3), "rating_sum": 9, "rating_count": 2},
                [{"sku": f"SC-{c}", "options": {"Colour": c}, "price": Decimal(p), "is_active": c != "Red"}
                 for c, p in (("Red", "5.00"), ("Blue", "7.00"), ("Grey", "6.00"))],
            ),
            ({"name": "Cap", "option_names": ["Size"], "now": timezone.now()}, []),
        ]
    )  # fmt: skip

    (scarf, scarf_variants), (cap, cap_variants) = made
    body = anon_client.get(f"/api/products/{scarf.id}").json()
    assert (body["kind"], body["price"], body["rating"]) == ("parent", "6.00", {"average": "4.50", "count": 2})
    assert [(v["sku"], v["price"], v["in_stock"]) for v in body["variants"]] == [
        ("SC-Blue", "7.00", False),
        ("SC-Grey", "6.00", False),
    ]  # no stock rows: the seed writes them in bulk itself
    variant = anon_client.get(f"/api/products/{scarf_variants[1].id}").json()
    assert (variant["name"], variant["parent_id"], variant["category_id"], variant["tags"]) == (
        "Scarf (Blue)",
        scarf.id,
        category.id,
        ["wool"],
    )
    assert anon_client.get(f"/api/products/{cap.id}").json()["price"] is None and cap_variants == []
    assert anon_client.get("/api/products/search", {"q": "sc-grey"}).json()["results"][0]["id"] == scarf.id
    assert services.catalog_repair(dry_run=True, grace=timedelta(0)).parents_refreshed == []
