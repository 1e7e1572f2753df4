"""The place-order write path in MySQL: one transaction for the reservation and the sale once
the day's figures rows exist; the first sale of a product on a day creates them outside it."""

import pytest

from analytics.models import DailySales, ProductSales
from ecommerce.routers import MYSQL
from ecommerce.testing.budgets import capture
from orders import services
from orders.selectors import stock_invariant_check
from orders.tests.factories import ADDRESS, product, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def _place(user, *products):
    with capture() as captured:
        services.order_place(
            user=user, items=[{"product_id": p.id, "quantity": 1} for p in products], shipping_address=ADDRESS
        )
    return captured.sql.get(MYSQL, [])


def _figures(product_id: str) -> tuple[int, int]:
    return (
        ProductSales.objects.using(MYSQL).get(product_id=product_id).orders,
        DailySales.objects.using(MYSQL).get().orders,
    )


def test_the_first_sale_of_a_day_creates_its_figures_rows_and_later_ones_only_update_them(customer):
    mug, pen = product(name="Mug", stock=10), product(name="Pen", stock=10)

    first = _place(customer, mug)
    again = _place(customer, mug)
    with_new_product = _place(customer, mug, pen)

    assert any("INSERT IGNORE" in statement for statement in first)
    assert not any("INSERT" in statement and "analytics_" in statement for statement in again)
    # Exactly the statements of one reservation: stock, reservation, the sale.
    assert sum(statement.startswith("UPDATE") for statement in again) == 3
    assert sum(statement.startswith("INSERT") for statement in again) == 1
    # A product not yet sold today: its row is created, and nothing is counted twice.
    assert any("INSERT IGNORE" in statement for statement in with_new_product)
    assert _figures(mug.id) == (3, 3)
    assert _figures(pen.id) == (1, 3)
    assert stock(mug.id) == (7, 3) and stock(pen.id) == (9, 1)
    assert stock_invariant_check() == []


def test_an_order_out_of_stock_on_its_first_sale_of_the_day_counts_nothing(customer, customer_client):
    mug = product(name="Mug", stock=0)

    response = customer_client.post(
        "/api/orders", {"items": [{"product_id": mug.id, "quantity": 1}], "shipping_address": ADDRESS}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "out_of_stock"
    assert not ProductSales.objects.using(MYSQL).exists()
    assert stock(mug.id) == (0, 0)
    assert stock_invariant_check() == []


def test_an_order_costs_the_same_statements_whatever_its_number_of_lines(customer):
    """The hot path: stock, reservations and figures are one statement each (two for the
    figures), the order's lines one INSERT, for one line as for five."""
    products = [product(name=f"Lamp {i}", stock=10) for i in range(5)]
    _place(customer, *products)  # the day's figures rows now exist for all five

    with capture() as one:
        services.order_place(
            user=customer, items=[{"product_id": products[0].id, "quantity": 1}], shipping_address=ADDRESS
        )
    with capture() as five:
        services.order_place(
            user=customer, items=[{"product_id": p.id, "quantity": 2} for p in products], shipping_address=ADDRESS
        )

    assert one.budget == five.budget, (one.describe(), five.describe())
    # MariaDB: BEGIN, the locking read, the stock, the reservations, two figures rows, COMMIT.
    assert len(five.sql[MYSQL]) == 7, five.describe()
    assert [stock(p.id) for p in products] == [(6, 4)] + [(7, 3)] * 4
    assert _figures(products[0].id) == (3, 3)
    assert stock_invariant_check() == []
