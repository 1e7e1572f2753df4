"""The books check and its repairs over closed orders, sold units and the day's figures
(issue 12, reproduction 4), and the imbalance on /metrics so it alerts."""

import re
import uuid
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone

from analytics.models import DailySales
from ecommerce.routers import MYSQL
from inventory import services as inventory_services
from orders import repairs, services
from orders.models import Order
from orders.selectors import stock_invariant_check
from orders.tests.factories import ADDRESS, product, reservations, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def place(user, mug, quantity: int) -> Order:
    return services.order_place(
        user=user, items=[{"product_id": mug.id, "quantity": quantity}], shipping_address=ADDRESS
    ).order


def day_figures() -> tuple:
    row = DailySales.objects.using(MYSQL).get(date=timezone.now().date())
    return row.orders, row.units, row.cancelled_orders, row.cancelled_units


def gauge(kind: str) -> float:
    body = Client().get("/metrics").content.decode()
    match = re.search(rf'^ecommerce_books_mismatches{{kind="{kind}"}} (\S+)$', body, re.MULTILINE)
    assert match, f"no {kind} gauge on /metrics"
    return float(match.group(1))


def test_the_check_sees_closed_orders_orphans_and_figures_and_each_repair_settles_its_own(customer):
    mug = product(stock=10)
    cancelled, shipped = place(customer, mug, 1), place(customer, mug, 2)
    # What outages left behind: the PostgreSQL step of a cancel and of a ship without their
    # MySQL step, a reservation whose order was never written, and a day counted twice.
    Order.objects.filter(pk=cancelled.pk).update(status=Order.Status.CANCELLED)
    Order.objects.filter(pk=shipped.pk).update(status=Order.Status.SHIPPED)
    items = services._priced_items(items=[{"product_id": mug.id, "quantity": 3}])
    services.order_reserve_stock(reference=uuid.uuid4(), items=items, sales_date=timezone.now().date())
    DailySales.objects.using(MYSQL).update(orders=F("orders") + 1)

    kinds = Counter(mismatch["kind"] for mismatch in stock_invariant_check())
    assert kinds == {"closed_order_holding_stock": 2, "reservation_without_order": 1, "figures": 1, "sold_units": 1}
    with pytest.raises(CommandError):
        call_command("reconcile_orders", "--check", stdout=StringIO())
    assert gauge("closed_order_holding_stock") == 2 and gauge("figures") == 1

    report = repairs.orders_reconcile(grace_seconds=0)

    assert (report.released, report.returned, report.committed, report.figures_corrected) == (1, 1, 1, 1)
    assert report.cancelled == []
    assert stock(mug.id) == (8, 0)  # 10, less the 2 shipped; the cancelled unit and the orphan back
    assert sorted(r.status for r in reservations()) == ["committed", "released", "released"]
    assert day_figures() == (2, 3, 1, 1)  # the orphan uncounted, the cancellation counted once
    assert stock_invariant_check() == []
    call_command("reconcile_orders", "--check", stdout=StringIO())
    assert gauge("closed_order_holding_stock") == 0 and gauge("figures") == 0
    again = repairs.orders_reconcile(grace_seconds=0)  # idempotent
    assert (again.released, again.returned, again.committed, again.figures_corrected) == (0, 0, 0, 0)


def test_units_sold_for_an_order_that_was_not_shipped_are_reported(customer):
    mug = product(stock=5)
    order = place(customer, mug, 2)
    inventory_services.stock_commit(order_reference=order.reference)  # sold in MySQL only

    kinds = sorted(mismatch["kind"] for mismatch in stock_invariant_check())

    assert kinds == ["open_order_without_stock", "sold_units"]


def test_the_check_leaves_out_what_is_still_in_flight(customer):
    """The cron checks a live shop: a reservation whose order is being written right now is
    not an imbalance until it is older than the grace."""
    mug = product(stock=5)
    items = services._priced_items(items=[{"product_id": mug.id, "quantity": 1}])
    services.order_reserve_stock(reference=uuid.uuid4(), items=items, sales_date=timezone.now().date())

    assert stock_invariant_check(grace_seconds=60) == []
    assert [m["kind"] for m in stock_invariant_check()] == ["reservation_without_order"]
    # The repair leaves it to its attempt within the grace, and releases it after.
    assert repairs.orders_reconcile(grace_seconds=60).released == 0
    assert repairs.orders_reconcile(grace_seconds=0).released == 1
    assert stock(mug.id) == (5, 0)


def test_figures_lost_entirely_are_rebuilt_from_the_orders_with_their_names(customer):
    """The figures follow from the reservations and their orders alone: with every row gone
    (or never written, as the seed leaves them) the repair writes them, in bulk."""
    from analytics.models import ProductSales

    mug, pen = product(name="Mug", stock=10), product(name="Pen", stock=10)
    place(customer, mug, 2)
    cancelled = place(customer, pen, 1)
    services.order_cancel(order=cancelled, actor=customer)
    before = list(ProductSales.objects.using(MYSQL).order_by("product_id").values())
    DailySales.objects.using(MYSQL).all().delete()
    ProductSales.objects.using(MYSQL).all().delete()

    assert repairs.sales_figures_correct() == 3  # the day, the mug, the pen

    assert day_figures() == (2, 3, 1, 1)
    after = list(ProductSales.objects.using(MYSQL).order_by("product_id").values())
    ignored = {"id", "updated_at"}
    assert [{k: v for k, v in row.items() if k not in ignored} for row in after] == [
        {k: v for k, v in row.items() if k not in ignored} for row in before
    ]
    assert stock_invariant_check() == []


def test_one_repair_at_a_time(customer):
    """A second run while one repairs would add the same figures correction twice: it is
    skipped (the lock is PostgreSQL's, held here by another session)."""
    import psycopg
    from django.db import connections

    settings = connections["default"].settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )
    mug = product(stock=5)
    place(customer, mug, 1)
    DailySales.objects.using(MYSQL).update(orders=F("orders") + 1)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [repairs._REPAIRS_LOCK])
        assert repairs.orders_reconcile(grace_seconds=0).skipped
        assert day_figures()[0] == 2  # untouched
    finally:
        other.execute("SELECT pg_advisory_unlock(%s)", [repairs._REPAIRS_LOCK])
        other.close()
    report = repairs.orders_reconcile(grace_seconds=0)
    assert (report.skipped, report.figures_corrected) == (False, 1) and day_figures()[0] == 1
