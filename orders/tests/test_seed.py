"""`manage.py seed` writes history through the domain's own rules: right after it the books and
the money balance, its reservations stand where orders.selectors says an order's status puts
them, and the sales figures are the ones the books repair builds from them."""

import io
from collections import defaultdict

import pytest
from django.core.management import call_command

from analytics.models import DailySales, ProductSales
from ecommerce.routers import MYSQL
from inventory.models import Inventory, StockReservation
from orders.models import Order, OrderLine
from orders.selectors import reservation_status_for, sales_figures_mismatches, stock_invariant_check

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_seeded_shop_balances_its_books_and_money_and_sells_variants():
    call_command(
        "seed", "--products", "60", "--users", "8", "--orders", "120", "--no-admin", "--seed", "7",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip

    call_command("reconcile_orders", "--check", stdout=io.StringIO())  # SystemExit(1) when unbalanced
    call_command("reconcile_payments", "--check", stdout=io.StringIO())
    assert stock_invariant_check() == []
    assert sales_figures_mismatches() == []

    statuses = dict(Order.objects.values_list("reference", "status"))
    rows = list(StockReservation.objects.using(MYSQL).all())
    assert len(rows) == OrderLine.objects.count()
    assert all(row.status == reservation_status_for(order_status=statuses[row.order_reference]) for row in rows)
    assert all(row.name for row in rows)

    # Variants are ordered, with their SKU and options snapshotted, their parent recorded with the sale.
    variant_lines = OrderLine.objects.exclude(options={})
    assert variant_lines.exists()
    parents = dict(Inventory.objects.using(MYSQL).exclude(parent_id="").values_list("product_id", "parent_id"))
    assert {line.product_id for line in variant_lines} <= parents.keys()
    assert all(line.sku.startswith("GRP-") for line in variant_lines)
    sold = defaultdict(set)
    for product_id, parent_id in ProductSales.objects.using(MYSQL).values_list("product_id", "parent_id"):
        sold[product_id].add(parent_id)
    assert {pid: sold[pid] for pid in {line.product_id for line in variant_lines}} == {
        pid: {parents[pid]} for pid in {line.product_id for line in variant_lines}
    }
    placed = sum(DailySales.objects.using(MYSQL).values_list("orders", flat=True))
    assert placed == Order.objects.count()
