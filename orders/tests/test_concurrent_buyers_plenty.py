"""Concurrent buyers of a product with plenty of stock are never refused.

Reproduction of a reported bug: 8 concurrent buyers of one product holding 1,000 units,
through the live gunicorn, sometimes got `409 out_of_stock` with `"available": 961`. With
plenty of stock every order must be placed (201, never 409 nor 5xx), and afterwards the
books are exact: every unit is either on the shelf or reserved by exactly one order line,
and the day's figures equal the orders. Each test starts on a day without figures rows, so
the first orders of the day race on creating them too.
"""

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from analytics.models import DailySales, ProductSales
from ecommerce.routers import MYSQL
from ecommerce.testing.helpers import make_user
from orders.models import Order, OrderLine
from orders.selectors import stock_invariant_check
from orders.tests.factories import order_body, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

STOCK = 1000
BUYERS = 12
ORDERS_EACH = 6


def _auth(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def _race(live_api, plan: list[list[list[tuple]]]) -> Counter:
    """Each buyer places its orders one after another, all buyers at once. `plan[buyer]` is
    that buyer's list of orders, each a list of (product, units). Answers the (status, error
    code, shortages) of every answer, and the units asked for per product of the 201s."""
    buyers = [make_user(f"plenty{i}@example.com") for i in range(len(plan))]

    def buy(i: int) -> list:
        answers = []
        with requests.Session() as session:
            for lines in plan[i]:
                response = session.post(
                    f"{live_api.url}/api/orders", json=order_body(*lines), headers=_auth(buyers[i]), timeout=60
                )
                error = response.json().get("error", {}) if response.content else {}
                answers.append((response.status_code, error.get("code"), str(error.get("details", ""))))
        return answers

    with ThreadPoolExecutor(max_workers=len(plan)) as pool:
        return Counter(answer for answers in pool.map(buy, range(len(plan))) for answer in answers)


def _assert_books_exact(products, placed: int) -> None:
    """Stock, reservations, order lines and the day's figures all say the same."""
    lines = list(OrderLine.objects.all())
    assert Order.objects.count() == placed
    for item in products:
        units = sum(line.quantity for line in lines if line.product_id == item.id)
        quantity, reserved = stock(item.id)
        assert (quantity + reserved, reserved) == (STOCK, units), item.id
    held = reservations(status="reserved")
    assert sorted((r.order_reference, r.product_id, r.quantity) for r in held) == sorted(
        (line.order.reference, line.product_id, line.quantity) for line in lines
    )
    day = timezone.now().date()
    today = DailySales.objects.using(MYSQL).get(date=day)
    assert (today.orders, today.units, today.revenue) == (
        placed,
        sum(line.quantity for line in lines),
        sum((line.line_total for line in lines), Decimal("0")),
    )
    for item in products:
        figures = ProductSales.objects.using(MYSQL).get(date=day, product_id=item.id)
        assert figures.units == sum(line.quantity for line in lines if line.product_id == item.id)
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check", stdout=StringIO())


@pytest.mark.parametrize("sold_out", [0, 20], ids=["alone", "among_sold_out_products"])
def test_concurrent_buyers_of_one_plentiful_product_are_all_served(live_api, sold_out):
    """With the product alone in the stock table, or among sold-out ones: either way, the only
    row that `quantity >= n` matches is the one being bought (MariaDB then plans the UPDATE
    through the quantity index, whose entries the concurrent orders move)."""
    for i in range(sold_out):
        product(name=f"Sold out {i}", stock=0)
    mug = product(stock=STOCK)
    rng = random.Random(13)
    plan = [[[(mug, rng.randint(1, 3))] for _ in range(ORDERS_EACH)] for _ in range(BUYERS)]

    answers = _race(live_api, plan)

    assert answers == {(201, None, ""): BUYERS * ORDERS_EACH}, answers
    _assert_books_exact([mug], BUYERS * ORDERS_EACH)


def test_concurrent_buyers_of_two_products_in_either_order_are_all_served(live_api):
    """Two products in one order, listed A-B by half the buyers and B-A by the others."""
    mug, cup = product(name="Mug", stock=STOCK), product(name="Cup", price="4.50", stock=STOCK)
    rng = random.Random(31)
    plan = [
        [[(mug, rng.randint(1, 3)), (cup, rng.randint(1, 3))][:: 1 if buyer % 2 else -1] for _ in range(ORDERS_EACH)]
        for buyer in range(BUYERS)
    ]

    answers = _race(live_api, plan)

    assert answers == {(201, None, ""): BUYERS * ORDERS_EACH}, answers
    _assert_books_exact([mug, cup], BUYERS * ORDERS_EACH)
