from decimal import Decimal

import pytest

from catalog.tests.factories import insert_products, make_category

pytestmark = pytest.mark.django_db(databases="__all__")


def _names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [p["name"] for p in response.json()["results"]]


def test_newest_first_with_limit_offset_pagination(anon_client):
    insert_products(5)  # "Product 0000" is the newest

    first = anon_client.get("/api/products", {"limit": 2}).json()
    middle = anon_client.get("/api/products", {"limit": 2, "offset": 2}).json()
    last = anon_client.get("/api/products", {"limit": 2, "offset": 4}).json()

    assert first["count"] == middle["count"] == last["count"] == 5
    assert [p["name"] for p in first["results"]] == ["Product 0000", "Product 0001"]
    assert first["previous"] is None and first["next"].endswith("/api/products?limit=2&offset=2")
    assert [p["name"] for p in middle["results"]] == ["Product 0002", "Product 0003"]
    assert "offset" not in middle["previous"] and "offset=4" in middle["next"]
    assert [p["name"] for p in last["results"]] == ["Product 0004"] and last["next"] is None
    assert anon_client.get("/api/products", {"offset": 50}).json()["results"] == []


def test_the_default_page_is_twenty_and_the_largest_a_hundred(anon_client):
    insert_products(105)

    assert len(anon_client.get("/api/products").json()["results"]) == 20
    assert len(anon_client.get("/api/products", {"limit": 500}).json()["results"]) == 100


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["Cheap", "mid", "Pricey"]),
        ("-price", ["Pricey", "mid", "Cheap"]),
        ("name", ["Cheap", "mid", "Pricey"]),
        ("-name", ["Pricey", "mid", "Cheap"]),
        ("created_at", ["Pricey", "Cheap", "mid"]),
        ("-created_at", ["mid", "Cheap", "Pricey"]),
    ],
)
def test_every_sort_order(anon_client, sort, expected):
    insert_products(1, start=0, name="mid", price=Decimal("5.00"))
    insert_products(1, start=1, name="Cheap", price=Decimal("1.00"))
    insert_products(1, start=2, name="Pricey", price=Decimal("9.00"))

    assert _names(anon_client.get("/api/products", {"sort": sort})) == expected


def test_pages_are_stable_when_the_sort_key_ties(anon_client):
    insert_products(7, price=Decimal("3.00"))

    pages = [_names(anon_client.get("/api/products", {"sort": "price", "limit": 3, "offset": o})) for o in (0, 3, 6)]

    seen = [name for page in pages for name in page]
    assert len(seen) == len(set(seen)) == 7


def test_filters_narrow_the_listing(anon_client):
    books = make_category("Books")
    music = make_category("Music")
    insert_products(1, start=0, name="Novel", price=Decimal("12.00"), category_id=books.id, tags=["fiction"])
    insert_products(1, start=1, name="Atlas", price=Decimal("40.00"), category_id=books.id, tags=["maps"])
    insert_products(1, start=2, name="Vinyl", price=Decimal("25.00"), category_id=music.id, tags=["fiction"])

    assert _names(anon_client.get("/api/products", {"category_id": books.id})) == ["Novel", "Atlas"]
    assert _names(anon_client.get("/api/products", {"min_price": "20", "max_price": "40.00"})) == ["Atlas", "Vinyl"]
    assert _names(anon_client.get("/api/products", {"max_price": "12.00"})) == ["Novel"]
    assert _names(anon_client.get("/api/products", {"tag": "fiction"})) == ["Novel", "Vinyl"]
    assert _names(anon_client.get("/api/products", {"tag": "fiction", "category_id": music.id})) == ["Vinyl"]
    assert anon_client.get("/api/products", {"tag": "fiction", "min_price": "30"}).json()["count"] == 0


def test_only_staff_see_and_filter_inactive_products(anon_client, customer_client, staff_client):
    insert_products(1, start=0, name="Live")
    insert_products(1, start=1, name="Retired", is_active=False)

    assert _names(anon_client.get("/api/products")) == ["Live"]
    assert _names(customer_client.get("/api/products")) == ["Live"]
    assert _names(customer_client.get("/api/products", {"is_active": "false"})) == []
    assert _names(staff_client.get("/api/products")) == ["Live", "Retired"]
    assert _names(staff_client.get("/api/products", {"is_active": "false"})) == ["Retired"]
    assert _names(staff_client.get("/api/products", {"is_active": "true"})) == ["Live"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"min_price": "10", "max_price": "5"}, "min_price"),
        ({"category_id": "not-an-id"}, "category_id"),
        ({"is_active": "maybe"}, "is_active"),
        ({"sort": "rating"}, "sort"),
        ({"sort": "_id"}, "sort"),
        ({"tag": "x" * 51}, "tag"),
        ({"limit": "0"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_query_parameters_are_validation_errors(anon_client, params, field):
    for path in ("/api/products", "/api/products/search"):
        response = anon_client.get(path, {"q": "x", **params})

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
        assert list(response.json()["error"]["details"]) == [field]


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}])
def test_search_needs_a_query_of_one_to_a_hundred_characters(anon_client, params):
    response = anon_client.get("/api/products/search", params)

    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["q"]


def test_search_matches_name_description_and_tags_case_insensitively(anon_client):
    insert_products(1, start=0, name="Red Kettle", description="Boils water.")
    insert_products(1, start=1, name="Teapot", description="Pours WATER slowly.", tags=["Kitchen"])
    insert_products(1, start=2, name="Skillet", tags=["KITCHEN", "iron"])
    insert_products(1, start=3, name="Hidden kettle", is_active=False)

    assert _names(anon_client.get("/api/products/search", {"q": "KETTLE"})) == ["Red Kettle"]
    assert _names(anon_client.get("/api/products/search", {"q": "water"})) == ["Red Kettle", "Teapot"]
    assert _names(anon_client.get("/api/products/search", {"q": "kitchen"})) == ["Teapot", "Skillet"]
    assert _names(anon_client.get("/api/products/search", {"q": "pot"})) == ["Teapot"]
    assert _names(anon_client.get("/api/products/search", {"q": "nothing like it"})) == []


def test_search_text_is_literal_not_a_pattern(anon_client):
    insert_products(1, start=0, name="C++ Primer")
    insert_products(1, start=1, name="Cpp Guide")
    insert_products(1, start=2, name="50% off (today)")

    assert _names(anon_client.get("/api/products/search", {"q": "c++"})) == ["C++ Primer"]
    assert _names(anon_client.get("/api/products/search", {"q": ".*"})) == []
    assert _names(anon_client.get("/api/products/search", {"q": "% off (t"})) == ["50% off (today)"]


def test_search_takes_the_same_filters_sorting_and_pagination(anon_client, staff_client):
    books = make_category("Books")
    insert_products(1, start=0, name="Garden Book", price=Decimal("30.00"), category_id=books.id)
    insert_products(1, start=1, name="Garden Hose", price=Decimal("20.00"), tags=["outdoor"])
    insert_products(1, start=2, name="Garden Chair", price=Decimal("50.00"), tags=["outdoor"])
    insert_products(1, start=3, name="Garden Gnome", price=Decimal("5.00"), is_active=False)

    def search(client, **params):
        return client.get("/api/products/search", {"q": "garden", **params})

    assert _names(search(anon_client, sort="price")) == ["Garden Hose", "Garden Book", "Garden Chair"]
    assert _names(search(anon_client, tag="outdoor", max_price="25")) == ["Garden Hose"]
    assert _names(search(anon_client, category_id=books.id)) == ["Garden Book"]
    page = search(anon_client, limit=1, offset=1, sort="-price").json()
    assert page["count"] == 3 and [p["name"] for p in page["results"]] == ["Garden Book"]
    assert page["next"] and page["previous"]
    assert _names(search(staff_client, is_active="false")) == ["Garden Gnome"]


def test_category_listing_includes_every_sub_category_by_slug_or_id(anon_client):
    clothing = make_category("Clothing")
    hats = make_category("Hats", parent=clothing)
    caps = make_category("Caps", parent=hats)
    books = make_category("Books")
    insert_products(1, start=0, name="Coat", category_id=clothing.id)
    insert_products(1, start=1, name="Fedora", category_id=hats.id)
    insert_products(1, start=2, name="Baseball cap", category_id=caps.id, price=Decimal("3.00"))
    insert_products(1, start=3, name="Novel", category_id=books.id)
    insert_products(1, start=4, name="Old cap", category_id=caps.id, is_active=False)

    by_slug = _names(anon_client.get("/api/products/category/clothing"))
    by_id = _names(anon_client.get(f"/api/products/category/{clothing.id}"))

    assert by_slug == by_id == ["Coat", "Fedora", "Baseball cap"]
    assert _names(anon_client.get("/api/products/category/hats")) == ["Fedora", "Baseball cap"]
    assert _names(anon_client.get(f"/api/products/category/{caps.id}")) == ["Baseball cap"]
    assert _names(anon_client.get("/api/products/category/clothing", {"max_price": "5", "sort": "name"})) == [
        "Baseball cap"
    ]


def test_category_listing_of_an_unknown_category_is_not_found(anon_client):
    make_category("Books")

    for category in ("no-such-slug", "0123456789abcdef01234567", "BOOK"):
        response = anon_client.get(f"/api/products/category/{category}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert anon_client.get("/api/products/category/books", {"sort": "bad"}).status_code == 400


def test_search_and_category_routes_are_not_taken_for_product_ids(anon_client):
    make_category("Search")  # slug "search": still only reachable as /products/category/search

    assert anon_client.get("/api/products/search").status_code == 400
    assert anon_client.get("/api/products/category/search").status_code == 200
    assert anon_client.get("/api/products/category").status_code == 404


def test_list_endpoints_make_the_same_few_mongodb_round_trips_as_data_grows(anon_client, staff_client, mongo_commands):
    clothing = make_category("Clothing")
    hats = make_category("Hats", parent=clothing)
    requests = [
        (anon_client, "/api/products", {"limit": 100}),
        (staff_client, "/api/products", {"limit": 100, "sort": "name", "min_price": "1"}),
        (anon_client, "/api/products/search", {"q": "product", "limit": 100, "tag": "t"}),
        (anon_client, "/api/products/category/clothing", {"limit": 100}),
    ]

    def round_trips() -> list[list[tuple[str, str]]]:
        counts = []
        for client, path, params in requests:
            with mongo_commands.recording() as commands:
                assert client.get(path, params).status_code == 200
            counts.append(list(commands))
        return counts

    insert_products(3, tags=["t"], category_id=hats.id)
    small = round_trips()
    insert_products(250, start=3, tags=["t"], category_id=hats.id)
    large = round_trips()

    assert large == small
    count_and_page = [("aggregate", "products"), ("find", "products")]
    assert small[0] == small[1] == small[2] == count_and_page
    # The category: found by slug, then one query per level below it (hats, then nothing).
    assert small[3] == [("find", "categories")] * 3 + count_and_page
    assert len(_names(anon_client.get("/api/products", {"limit": 100}))) == 100
