from datetime import timedelta
from decimal import Decimal

import pytest
from bson import ObjectId
from django.utils import timezone

from analytics.models import DailySales, ProductSales
from ecommerce.routers import MYSQL
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import ADDRESS, product

pytestmark = pytest.mark.django_db(databases="__all__")


def today():
    return timezone.now().date()


def place(user, *lines, placed_at=None):
    """Place through the service; `placed_at` places it on another day (the steps run by hand)."""
    items = [{"product_id": p.id, "quantity": q} for p, q in lines]
    if placed_at is None:
        return order_services.order_place(user=user, items=items, shipping_address=ADDRESS).order
    priced = order_services._priced_items(items=items)
    reference = order_services.uuid.uuid4()
    order_services.order_reserve_stock(reference=reference, items=priced, sales_date=placed_at.date())
    return order_services.order_record(
        reference=reference, owner=user, items=priced, shipping_address=ADDRESS, placed_at=placed_at
    )


@pytest.fixture
def shop(customer, other_customer):
    """Three orders today (one later cancelled) and one yesterday, on two products."""
    mug, pen = product(name="Mug", price="10.00", stock=100), product(name="Pen", price="2.50", stock=100)
    kept = place(customer, (mug, 2), (pen, 4))  # 30.00
    single = place(other_customer, (pen, 2))  # 5.00
    cancelled = place(customer, (mug, 1))  # 10.00, cancelled below
    order_services.order_cancel(order=cancelled, actor=customer)
    yesterday = place(customer, (mug, 3), placed_at=timezone.now() - timedelta(days=1))  # 30.00
    return {"mug": mug, "pen": pen, "orders": [kept, single, cancelled, yesterday]}


def test_analytics_are_staff_only(anon_client, customer_client):
    for path in ("/api/analytics/sales", "/api/analytics/popular-products", "/api/analytics/revenue"):
        assert anon_client.get(path).status_code == 401
        assert customer_client.get(path).status_code == 403


def test_sales_series_counts_non_cancelled_orders_per_day_with_zeros(staff_client, shop):
    body = staff_client.get("/api/analytics/sales").json()

    assert set(body) == {"from", "to", "series"}
    assert body["to"] == today().isoformat()
    assert body["from"] == (today() - timedelta(days=29)).isoformat()
    assert len(body["series"]) == 30
    assert body["series"][-1] == {"date": today().isoformat(), "orders": 2, "units": 8, "revenue": "35.00"}
    assert body["series"][-2] == {
        "date": (today() - timedelta(days=1)).isoformat(),
        "orders": 1,
        "units": 3,
        "revenue": "30.00",
    }
    assert body["series"][0] == {"date": body["from"], "orders": 0, "units": 0, "revenue": "0.00"}

    # The series agrees with the orders that produced it.
    live = [o for o in Order.objects.filter(created_at__date=today()) if o.status != "cancelled"]
    assert body["series"][-1]["revenue"] == str(sum(o.total for o in live))


def test_sales_series_narrowed_to_a_product(staff_client, shop):
    pen = shop["pen"]
    body = staff_client.get(f"/api/analytics/sales?product_id={pen.id}&from={today().isoformat()}").json()
    assert body["series"] == [{"date": today().isoformat(), "orders": 2, "units": 6, "revenue": "15.00"}]


def test_popular_products_by_units_with_their_names(staff_client, shop):
    body = staff_client.get("/api/analytics/popular-products").json()
    assert body == {
        "results": [
            {"product_id": shop["pen"].id, "name": "Pen", "units": 6, "revenue": "15.00"},
            {"product_id": shop["mug"].id, "name": "Mug", "units": 5, "revenue": "50.00"},
        ]
    }
    assert staff_client.get("/api/analytics/popular-products?limit=1").json()["results"][0]["name"] == "Pen"


def test_revenue_gross_cancelled_net_and_average(staff_client, shop):
    body = staff_client.get("/api/analytics/revenue").json()
    # gross: all four orders placed (30 + 5 + 10 + 30); cancelled: the 10.00 one;
    # net / the three orders not cancelled.
    assert body == {
        "from": (today() - timedelta(days=29)).isoformat(),
        "to": today().isoformat(),
        "orders": 3,
        "gross": "75.00",
        "cancelled": "10.00",
        "net": "65.00",
        "average_order_value": "21.67",
        "currency": "USD",
    }
    orders = Order.objects.all()
    assert Decimal(body["gross"]) == sum(o.total for o in orders)
    assert Decimal(body["cancelled"]) == sum(o.total for o in orders if o.status == "cancelled")

    only_today = staff_client.get(f"/api/analytics/revenue?from={today().isoformat()}").json()
    assert (only_today["orders"], only_today["gross"], only_today["net"]) == (2, "45.00", "35.00")


def test_a_cancellation_counts_on_the_day_the_order_was_placed(staff_client, shop, customer):
    yesterday = shop["orders"][3]
    order_services.order_cancel(order=yesterday, actor=customer)

    series = staff_client.get("/api/analytics/sales").json()["series"]
    assert (series[-2]["orders"], series[-2]["revenue"]) == (0, "0.00")
    assert (series[-1]["orders"], series[-1]["revenue"]) == (2, "35.00")
    row = DailySales.objects.using(MYSQL).get(date=today() - timedelta(days=1))
    assert (row.orders, row.cancelled_orders, row.cancelled_revenue) == (1, 1, Decimal("30.00"))


def test_empty_range_answers_zeros(staff_client):
    body = staff_client.get("/api/analytics/revenue?from=2020-01-01&to=2020-01-31").json()
    assert (body["orders"], body["gross"], body["average_order_value"]) == (0, "0.00", "0.00")
    assert staff_client.get("/api/analytics/popular-products").json() == {"results": []}
    assert len(staff_client.get("/api/analytics/sales?from=2020-01-01&to=2020-01-31").json()["series"]) == 31


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-02-01&to=2026-01-01",
        "from=yesterday",
        "to=2026-13-01",
        "from=2020-01-01&to=2021-12-31",
        "product_id=nope",
        "limit=0",
        "limit=101",
        "limit=x",
    ],
)
def test_bad_queries_are_400(staff_client, query):
    for path in ("/api/analytics/sales", "/api/analytics/popular-products", "/api/analytics/revenue"):
        key = query.split("=")[0]
        if (key == "product_id" and "sales" not in path) or (key == "limit" and "popular" not in path):
            continue
        response = staff_client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "validation_error"


def test_a_range_of_366_days_is_allowed(staff_client):
    response = staff_client.get("/api/analytics/sales?from=2024-01-01&to=2024-12-31")
    assert response.status_code == 200 and len(response.json()["series"]) == 366


def test_figures_move_in_the_stock_transaction_and_an_unknown_product_has_none(staff_client, shop):
    assert ProductSales.objects.using(MYSQL).filter(product_id=shop["mug"].id, date=today()).get().units == 3
    body = staff_client.get(f"/api/analytics/sales?product_id={ObjectId()}&from={today().isoformat()}").json()
    assert body["series"] == [{"date": today().isoformat(), "orders": 0, "units": 0, "revenue": "0.00"}]


def test_figures_as_wide_as_their_columns_are_answered(staff_client):
    product_id = str(ObjectId())
    day = today()
    huge = Decimal("1234567890123.45")  # past 12 digits: what the daily columns hold
    ProductSales.objects.using(MYSQL).create(date=day, product_id=product_id, orders=1, units=1, revenue=huge)
    DailySales.objects.using(MYSQL).create(date=day, orders=1, units=1, revenue=huge)

    sales = staff_client.get("/api/analytics/sales", {"from": day, "to": day})
    popular = staff_client.get("/api/analytics/popular-products", {"from": day, "to": day})
    revenue = staff_client.get("/api/analytics/revenue", {"from": day, "to": day})

    assert sales.status_code == popular.status_code == revenue.status_code == 200
    assert sales.json()["series"][0]["revenue"] == "1234567890123.45"
    assert revenue.json()["gross"] == "1234567890123.45"
