"""Reads on the sales figures (MySQL).

Definitions, for every endpoint and a range of UTC dates `date_from..date_to` inclusive:

- An order counts on the UTC date it was placed, and stays on that date: a later
  cancellation moves it to the cancelled part of that same date. Orders that never
  committed (their reservation released by reconcile_orders) do not count at all.
- `orders`, `units`, `revenue` in the sales series and popular products count orders
  placed in the range and not cancelled.
- revenue_summary: `gross` is the total of every order placed in the range, including
  those cancelled since; `cancelled` is the total of those cancelled since; `net` is
  gross - cancelled; `orders` is the number of orders placed in the range and not
  cancelled; `average_order_value` is net / orders rounded half-up to the cent (0.00
  without orders).
"""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Case, CharField, F, Q, Sum, When

from analytics.models import DailySales, ProductSales
from ecommerce.api.money import CENT
from ecommerce.routers import MYSQL

ZERO = Decimal("0.00")


def _net(rows):
    return rows.annotate(
        net_orders=F("orders") - F("cancelled_orders"),
        net_units=F("units") - F("cancelled_units"),
        net_revenue=F("revenue") - F("cancelled_revenue"),
    )


def sales_series(*, date_from: date, date_to: date, product_id: str | None = None) -> list[dict]:
    """One point per day of the range, days without sales as zeros; one query."""
    if product_id is None:
        rows = DailySales.objects.using(MYSQL).all()
    else:
        rows = ProductSales.objects.using(MYSQL).filter(product_id=product_id)
    found = {
        row["date"]: row
        for row in _net(rows.filter(date__gte=date_from, date__lte=date_to)).values(
            "date", "net_orders", "net_units", "net_revenue"
        )
    }
    series = []
    # Counted, not stepped past date_to: the day after 9999-12-31 does not exist.
    for offset in range((date_to - date_from).days + 1):
        day = date_from + timedelta(days=offset)
        row = found.get(day)
        series.append(
            {
                "date": day,
                "orders": row["net_orders"] if row else 0,
                "units": row["net_units"] if row else 0,
                "revenue": Decimal(row["net_revenue"]).quantize(CENT) if row else ZERO,
            }
        )
    return series


# Where the figures are grouped by parent, the parents' names: analytics sits below the
# catalog, so an app above both registers where they come from (orders, in its ready()).
ParentNames = Callable[[list[str]], dict[str, str]]
_parent_names: list[ParentNames] = []


def on_parent_names(source: ParentNames) -> ParentNames:
    """Register `source(product_ids) -> {parent_id: name}` for popular_products(group="parent"):
    the names of those ids that are parents (others are absent)."""
    if source not in _parent_names:
        _parent_names.append(source)
    return source


GROUPS = ("product", "parent")


def popular_products(*, date_from: date, date_to: date, limit: int, group: str = "product") -> list[dict]:
    """Products by units sold (not cancelled) in the range, most first; two queries. With
    `group="parent"` a variant's sales count under its parent (named by the registered
    source, else by the name its variants last sold under)."""
    rows = ProductSales.objects.using(MYSQL).filter(date__gte=date_from, date__lte=date_to)
    if group == "parent":
        key = Case(When(parent_id="", then=F("product_id")), default=F("parent_id"), output_field=CharField())
    else:
        key = F("product_id")
    top = list(
        rows.annotate(key=key)
        .values("key")
        .annotate(units=Sum(F("units") - F("cancelled_units")), revenue=Sum(F("revenue") - F("cancelled_revenue")))
        .filter(units__gt=0)
        .order_by("-units", "-revenue", "key")[:limit]
    )
    keys = [row["key"] for row in top]
    names: dict[str, str] = {}
    # The name each product (or parent, through its variants) last sold under: the newest row with one.
    among = Q(product_id__in=keys) | Q(parent_id__in=keys) if group == "parent" else Q(product_id__in=keys)
    named = ProductSales.objects.using(MYSQL).filter(among, date__lte=date_to).exclude(name="").annotate(key=key)
    for product_id, name in named.order_by("key", "-date").values_list("key", "name"):
        names.setdefault(product_id, name)
    if group == "parent" and keys:
        for source in _parent_names:
            names |= {pid: name for pid, name in source(keys).items() if name}
    return [
        {
            "product_id": row["key"],
            "name": names.get(row["key"], ""),
            "units": row["units"],
            "revenue": Decimal(row["revenue"]).quantize(CENT),
        }
        for row in top
    ]


def revenue_summary(*, date_from: date, date_to: date) -> dict:
    """gross, cancelled, net, orders and average order value as the module docstring defines."""
    totals = (
        DailySales.objects.using(MYSQL)
        .filter(date__gte=date_from, date__lte=date_to)
        .aggregate(
            placed=Sum("orders"),
            cancelled_orders=Sum("cancelled_orders"),
            gross=Sum("revenue"),
            cancelled=Sum("cancelled_revenue"),
        )
    )
    gross = Decimal(totals["gross"] or 0).quantize(CENT)
    cancelled = Decimal(totals["cancelled"] or 0).quantize(CENT)
    net = gross - cancelled
    orders = (totals["placed"] or 0) - (totals["cancelled_orders"] or 0)
    average = (net / orders).quantize(CENT, rounding=ROUND_HALF_UP) if orders else ZERO
    return {
        "from": date_from,
        "to": date_to,
        "orders": orders,
        "gross": gross,
        "cancelled": cancelled,
        "net": net,
        "average_order_value": average,
    }


FIGURE_FIELDS = ("orders", "units", "revenue", "cancelled_orders", "cancelled_units", "cancelled_revenue")


def sales_figures_all() -> dict[tuple[date, str | None], dict[str, int | Decimal]]:
    """Every day's figures, keyed (day, product_id), the whole shop's under (day, None): what the
    books check compares with the orders. Call inside the transaction that reads the
    reservations, so both come from one snapshot."""
    figures = {
        (row["date"], None): {field: row[field] for field in FIGURE_FIELDS}
        for row in DailySales.objects.using(MYSQL).values("date", *FIGURE_FIELDS)
    }
    for row in ProductSales.objects.using(MYSQL).values("date", "product_id", *FIGURE_FIELDS):
        figures[(row["date"], row["product_id"])] = {field: row[field] for field in FIGURE_FIELDS}
    return figures
