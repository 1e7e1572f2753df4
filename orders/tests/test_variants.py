"""Variants through orders, inventory and analytics (API.md "Variants"): each variant bought by
its own id with its SKU and options snapshotted, a parent refused naming its variants, the
stock rows listed under the parent, sales grouped by parent, and the books balanced after a
variant is deleted."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from analytics.models import ProductSales
from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.testing.helpers import make_user
from inventory.models import Inventory
from orders.models import Order, OrderLine
from orders.selectors import stock_invariant_check
from orders.tests.factories import ADDRESS, order_body, product, reservations, stock


def tee(stock_of: dict | None = None):
    """A parent "Tee" with Size {S, M} x Colour {Red, Blue}; answers (parent, {"M / Red": variant, ...})."""
    parent = catalog_services.product_create(name="Tee", option_names=["Size", "Colour"])
    variants = {}
    for n, (size, colour) in enumerate([("S", "Red"), ("S", "Blue"), ("M", "Red"), ("M", "Blue")]):
        label = f"{size} / {colour}"
        variants[label] = catalog_services.variant_create(
            parent_id=parent.id,
            sku=f"TEE-{size}-{colour.upper()}",
            options={"Size": size, "Colour": colour},
            price=Decimal("10.00") + n,
            initial_stock=(stock_of or {}).get(label, 10),
        )
    return parent, variants


@pytest.mark.django_db(databases="__all__")
def test_an_order_line_of_a_variant_snapshots_its_sku_and_options(customer_client, staff_client):
    parent, variants = tee()
    red = variants["M / Red"]

    response = customer_client.post("/api/orders", order_body((red, 2)), format="json")

    assert response.status_code == 201, response.json()
    (item,) = response.json()["items"]
    assert (item["product_id"], item["sku"], item["options"], item["unit_price"], item["line_total"]) == (
        red.id,
        "TEE-M-RED",
        {"Size": "M", "Colour": "Red"},
        "12.00",
        "24.00",
    )
    line = OrderLine.objects.get()
    assert (line.sku, line.options, line.name) == ("TEE-M-RED", {"Size": "M", "Colour": "Red"}, "Tee (M / Red)")
    (reserved,) = reservations()
    assert (reserved.sku, reserved.options, reserved.parent_id) == (
        "TEE-M-RED",
        {"Size": "M", "Colour": "Red"},
        parent.id,
    )
    assert ProductSales.objects.using(MYSQL).get(product_id=red.id).parent_id == parent.id

    # Renamed, repriced and given other options later: the order keeps what it sold.
    catalog_services.product_update(
        product_id=red.id,
        data={
            "name": "Tee red",
            "price": Decimal("99.00"),
            "sku": "TEE-M-CRIMSON",
            "options": {"Size": "M", "Colour": "Pink"},
        },
    )
    again = staff_client.get(f"/api/orders/{response.json()['id']}").json()
    assert again["items"] == response.json()["items"]
    assert again["total"] == "24.00"


@pytest.mark.django_db(databases="__all__")
def test_a_parent_in_an_order_is_refused_naming_its_variants_and_reserves_nothing(customer_client):
    parent, variants = tee()
    mug = product(stock=5)

    response = customer_client.post("/api/orders", order_body((mug, 1), (parent, 1)), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert sorted(error["details"]["product_id"]) == sorted(v.id for v in variants.values())
    assert Order.objects.count() == 0
    assert reservations() == []
    assert stock(mug.id) == (5, 0)


@pytest.mark.django_db(databases="__all__")
def test_a_standalone_product_line_answers_an_empty_sku_and_options(customer_client):
    mug = product(stock=5)

    item = customer_client.post("/api/orders", order_body((mug, 1)), format="json").json()["items"][0]

    assert (item["sku"], item["options"]) == ("", {})


@pytest.mark.django_db(databases="__all__")
def test_deleting_a_variant_keeps_its_orders_readable_and_the_books_balanced(customer_client, staff_client):
    parent, variants = tee()
    red, blue = variants["M / Red"], variants["M / Blue"]
    open_order = customer_client.post("/api/orders", order_body((red, 2), (blue, 1)), format="json").json()
    shipped = customer_client.post("/api/orders", order_body((red, 1)), format="json").json()
    for status in ("paid", "shipped"):
        assert (
            staff_client.patch(f"/api/orders/{shipped['id']}/status", {"status": status}, format="json").status_code
            == 200
        )

    assert staff_client.delete(f"/api/products/{red.id}").status_code == 204

    assert not Inventory.objects.using(MYSQL).filter(product_id=red.id).exists()
    for placed in (open_order, shipped):
        answer = staff_client.get(f"/api/orders/{placed['id']}")
        assert answer.status_code == 200
        assert answer.json()["items"] == placed["items"]
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check")  # exits 1 (SystemExit) when the books do not balance

    # Cancelling the open order returns the surviving variant's units; the deleted one has none to take.
    assert customer_client.post(f"/api/orders/{open_order['id']}/cancel").status_code == 200
    assert stock(blue.id) == (10, 0)
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check")


@pytest.mark.django_db(databases="__all__")
def test_a_parents_stock_rows_are_its_variants_and_a_parent_has_none(staff_client):
    parent, variants = tee({"S / Red": 0})
    mug = product(stock=3)

    rows = staff_client.get("/api/inventory", {"product_id": parent.id}).json()
    own = staff_client.get("/api/inventory", {"product_id": mug.id}).json()
    everything = staff_client.get("/api/inventory").json()

    assert rows["count"] == 4
    assert sorted(row["product_id"] for row in rows["results"]) == sorted(v.id for v in variants.values())
    assert [row["product_id"] for row in own["results"]] == [mug.id]
    assert everything["count"] == 5  # the four variants and the mug: no row for the parent
    assert staff_client.get(f"/api/inventory/{parent.id}").status_code == 404
    bad = staff_client.get("/api/inventory", {"product_id": "nope"})
    assert bad.status_code == 400 and "product_id" in bad.json()["error"]["details"]
    assert Inventory.objects.using(MYSQL).get(product_id=variants["M / Blue"].id).parent_id == parent.id
    # The catalog's in_stock reads the same rows: S / Red has none to sell.
    detail = staff_client.get(f"/api/products/{parent.id}").json()
    assert {v["sku"]: v["in_stock"] for v in detail["variants"]} == {
        "TEE-S-RED": False,
        "TEE-S-BLUE": True,
        "TEE-M-RED": True,
        "TEE-M-BLUE": True,
    }


@pytest.mark.django_db(databases="__all__")
def test_popular_products_grouped_by_parent_sums_its_variants(customer_client, staff_client):
    parent, variants = tee()
    mug = product(name="Mug", price="3.00", stock=50)
    customer_client.post("/api/orders", order_body((variants["M / Red"], 2), (mug, 3)), format="json")
    customer_client.post("/api/orders", order_body((variants["S / Blue"], 2)), format="json")
    cancelled = customer_client.post("/api/orders", order_body((variants["M / Blue"], 5)), format="json").json()
    customer_client.post(f"/api/orders/{cancelled['id']}/cancel")

    by_product = staff_client.get("/api/analytics/popular-products").json()["results"]
    by_parent = staff_client.get("/api/analytics/popular-products", {"group": "parent"}).json()["results"]

    assert [(r["product_id"], r["name"], r["units"], r["revenue"]) for r in by_product] == [
        (mug.id, "Mug", 3, "9.00"),
        (variants["M / Red"].id, "Tee (M / Red)", 2, "24.00"),
        (variants["S / Blue"].id, "Tee (S / Blue)", 2, "22.00"),
    ]
    assert [(r["product_id"], r["name"], r["units"], r["revenue"]) for r in by_parent] == [
        (parent.id, "Tee", 4, "46.00"),
        (mug.id, "Mug", 3, "9.00"),
    ]
    assert staff_client.get("/api/analytics/popular-products", {"group": "colour"}).status_code == 400


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_twenty_buyers_of_the_last_three_m_red_get_three_orders_and_m_blue_is_untouched(live_api):
    _, variants = tee({"M / Red": 3, "M / Blue": 7})
    red, blue = variants["M / Red"], variants["M / Blue"]
    buyers = [make_user(f"tee-buyer{i}@example.com") for i in range(20)]

    def buy(i):
        response = requests.post(
            f"{live_api.url}/api/orders",
            json={"items": [{"product_id": red.id, "quantity": 1}], "shipping_address": ADDRESS},
            headers={"Authorization": f"Bearer {AccessToken.for_user(buyers[i])}"},
            timeout=60,
        )
        return response.status_code, response.json().get("error", {}).get("code")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = sorted(pool.map(buy, range(20)), key=str)

    assert results.count((201, None)) == 3
    assert results.count((409, "out_of_stock")) == 17
    assert stock(red.id) == (0, 3)
    assert stock(blue.id) == (7, 0)
    assert Order.objects.count() == 3
    assert sorted(OrderLine.objects.values_list("product_id", "sku", "quantity")) == [(red.id, "TEE-M-RED", 1)] * 3
    assert stock_invariant_check() == []


@pytest.mark.django_db(databases="__all__")
def test_an_order_from_the_cart_snapshots_a_variants_sku_and_records_its_parent(customer, customer_client):
    parent, variants = tee()
    blue = variants["S / Blue"]
    mug = product(stock=5)
    for line in ({"product_id": blue.id, "quantity": 2}, {"product_id": mug.id, "quantity": 1}):
        assert customer_client.post(f"/api/cart/{customer.id}/items", line, format="json").status_code == 201

    response = customer_client.post("/api/orders", {"from_cart": True, "shipping_address": ADDRESS}, format="json")

    assert response.status_code == 201, response.json()
    assert {(i["product_id"], i["sku"], tuple(i["options"].items())) for i in response.json()["items"]} == {
        (blue.id, "TEE-S-BLUE", (("Size", "S"), ("Colour", "Blue"))),
        (mug.id, "", ()),
    }
    assert dict(ProductSales.objects.using(MYSQL).values_list("product_id", "parent_id")) == {
        blue.id: parent.id,
        mug.id: "",
    }
    assert {(r.product_id, r.parent_id, r.sku) for r in reservations()} == {
        (blue.id, parent.id, "TEE-S-BLUE"),
        (mug.id, "", ""),
    }
