"""Writes on the sales figures (MySQL), called by orders inside the MySQL transaction that
moves the order's stock. Every change is an UPDATE with F() increments: concurrent orders
add up, none overwrites another."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Protocol

from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import DailySales, ProductSales
from ecommerce.routers import MYSQL
from ecommerce.stores import sql


class SaleLine(Protocol):
    """What the figures need of an order's line (orders.services.OrderItem and the
    inventory's reservation rows both are one)."""

    product_id: str
    name: str
    parent_id: str
    quantity: int
    unit_price: Decimal


class SaleEvent(Enum):
    PLACED = "placed"  # counts the order
    CANCELLED = "cancelled"  # moves it to the cancelled part of its day
    VOIDED = "voided"  # it never existed (its order never committed): uncount it


def sales_rows_ensure(*, day: date, product_ids: Iterable[str]) -> None:
    """Create the day's rows that do not exist yet, before the stock transaction.

    INSERT IGNORE / ON CONFLICT DO NOTHING, outside the stock transaction. Creating the rows inside
    the stock transaction would let two first orders of a day collide on the unique key
    and deadlock (both hold a shared lock on the duplicate, both then want it exclusive);
    done here, the transaction only ever UPDATEs existing rows."""
    # One short transaction of its own (one commit, not two): it only inserts, in one order
    # (products sorted, then the day), so two of them can wait on each other but never deadlock.
    with transaction.atomic(using=MYSQL):
        ProductSales.objects.using(MYSQL).bulk_create(
            [ProductSales(date=day, product_id=product_id) for product_id in sorted(set(product_ids))],
            ignore_conflicts=True,
        )
        DailySales.objects.using(MYSQL).bulk_create([DailySales(date=day)], ignore_conflicts=True)


class SalesRowsMissing(Exception):
    """sales_record(create_missing=False) met a day's row that does not exist yet: the caller
    rolls its transaction back, creates the rows with sales_rows_ensure and records again."""


def _increment(model, lookup: dict, changes: dict, extra: dict | None = None) -> None:
    """UPDATE ... SET counter = counter + n; a missing row is created."""
    values = {field: F(field) + delta for field, delta in changes.items()} | (extra or {})
    for _ in range(2):
        if model.objects.using(MYSQL).filter(**lookup).update(**values):
            return
        try:
            with transaction.atomic(using=MYSQL):
                model.objects.using(MYSQL).create(**lookup, **changes, **(extra or {}))
            return
        except IntegrityError:
            continue  # Created concurrently: increment it.
    raise RuntimeError(f"could not record sales on {model.__name__} {lookup}")


# An order's figures in two statements, whatever its number of lines: its products' rows of
# the day (each with its own units and revenue), then the day's row. Rows are reached through
# the (date, product_id) key in ascending order, then the day: the one lock order of every
# writer of the figures.
_PRODUCTS_SQL = """
UPDATE {table}
SET {prefix}orders = {prefix}orders + %s,
    {prefix}units = {prefix}units + CASE product_id {units} END,
    {prefix}revenue = {prefix}revenue + CASE product_id {revenue} END,
    {placed}updated_at = %s
WHERE date = %s AND product_id IN ({ids})
""".strip()
# A placed order also records the product's name (when it has one) and parent.
_PLACED_SQL = "name = CASE product_id {names} END, parent_id = CASE product_id {parents} END, "
_DAY_SQL = """
UPDATE {table}
SET {prefix}orders = {prefix}orders + %s, {prefix}units = {prefix}units + %s,
    {prefix}revenue = {prefix}revenue + %s, updated_at = %s
WHERE date = %s
""".strip()


def sales_record(*, day: date, lines: Sequence[SaleLine], event: SaleEvent, create_missing: bool = True) -> None:
    """Count one order's lines (one per product) on `day`. Call inside the MySQL transaction
    of its stock change.

    Rows are updated in sorted product_id order and the day's total row last, after the
    inventory rows the same transaction already holds: one lock order for every order,
    and the hot per-day row is held for the shortest time. With `create_missing=False` (an
    order being placed: the hot path) the figures are two hand-written statements, and a row
    that does not exist raises SalesRowsMissing (see sales_rows_ensure for why a placed
    order's rows are better created outside); otherwise each row is updated or created."""
    if not lines:
        return
    prefix = "cancelled_" if event is SaleEvent.CANCELLED else ""
    sign = -1 if event is SaleEvent.VOIDED else 1
    lines = sorted(lines, key=lambda line: line.product_id)
    if not create_missing:
        _record(day, lines, event, prefix=prefix, sign=sign)
        return
    for line in lines:
        changes = {
            f"{prefix}orders": sign,
            f"{prefix}units": sign * line.quantity,
            f"{prefix}revenue": sign * line.unit_price * line.quantity,
        }
        extra = None
        if event is SaleEvent.PLACED:
            extra = {"parent_id": line.parent_id} | ({"name": line.name[:200]} if line.name else {})
        _increment(ProductSales, {"date": day, "product_id": line.product_id}, changes, extra)
    _increment(DailySales, {"date": day}, _day_changes(lines, prefix=prefix, sign=sign))


def _day_changes(lines: Sequence[SaleLine], *, prefix: str, sign: int) -> dict:
    return {
        f"{prefix}orders": sign,
        f"{prefix}units": sign * sum(line.quantity for line in lines),
        f"{prefix}revenue": sign * sum((line.unit_price * line.quantity for line in lines), Decimal("0")),
    }


def _record(day: date, lines: Sequence[SaleLine], event: SaleEvent, *, prefix: str, sign: int) -> None:
    """sales_record's two statements; SalesRowsMissing when a row is not there."""
    whens = " ".join("WHEN %s THEN %s" for _ in lines)
    params = [sign]
    params += [value for line in lines for value in (line.product_id, sign * line.quantity)]
    params += [value for line in lines for value in (line.product_id, sign * line.unit_price * line.quantity)]
    placed = ""
    if event is SaleEvent.PLACED:
        placed = _PLACED_SQL.format(
            names=" ".join("WHEN %s THEN COALESCE(NULLIF(%s, ''), name)" for _ in lines), parents=whens
        )
        params += [value for line in lines for value in (line.product_id, line.name[:200])]
        params += [value for line in lines for value in (line.product_id, line.parent_id)]
    now = sql.db_value(ProductSales, "updated_at", timezone.now(), using=MYSQL)
    day_value = sql.db_value(ProductSales, "date", day, using=MYSQL)
    params += [now, day_value, *(line.product_id for line in lines)]
    products = _PRODUCTS_SQL.format(
        table=ProductSales._meta.db_table, prefix=prefix, units=whens, revenue=whens, placed=placed,
        ids=", ".join("%s" for _ in lines),
    )  # fmt: skip
    changes = _day_changes(lines, prefix=prefix, sign=sign)
    with connections[MYSQL].cursor() as cursor:
        cursor.execute(products, params)
        if cursor.rowcount != len(lines):
            raise SalesRowsMissing(f"{ProductSales.__name__} {day} {[line.product_id for line in lines]}")
        cursor.execute(
            _DAY_SQL.format(table=DailySales._meta.db_table, prefix=prefix),
            [*changes.values(), now, day_value],
        )
        if cursor.rowcount != 1:
            raise SalesRowsMissing(f"{DailySales.__name__} {day}")


@dataclass(frozen=True)
class FiguresCorrection:
    """What one day's figures (the whole shop's when `product_id` is None) lack: `deltas`
    ({field: amount}) to add; `name` and `parent_id`, the product's for a product row it creates."""

    day: date
    product_id: str | None
    deltas: dict[str, int | Decimal]
    name: str = ""
    parent_id: str = ""


def sales_figures_correct(*, corrections: Iterable[FiguresCorrection]) -> int:
    """Add each correction to its day's figures: the books repair's, and the seed's (which
    writes history and lets the repair count it). Rows that do not exist are created in bulk
    (INSERT IGNORE); existing ones get increments, not absolute values, so orders counted
    meanwhile are kept. Answers how many rows were corrected."""
    corrections = [correction for correction in corrections if any(correction.deltas.values())]
    if not corrections:
        return 0
    days = {correction.day for correction in corrections}
    existing = set(DailySales.objects.using(MYSQL).filter(date__in=days).values_list("date", flat=True))
    existing |= set(
        ProductSales.objects.using(MYSQL).filter(date__in=days).values_list("date", "product_id").iterator()
    )
    fresh = [correction for correction in corrections if _key(correction) not in existing]
    with transaction.atomic(using=MYSQL):
        # One order for every writer: products sorted, then the days (sales_rows_ensure's).
        ProductSales.objects.using(MYSQL).bulk_create(
            [
                ProductSales(date=c.day, product_id=c.product_id, name=c.name[:200], parent_id=c.parent_id, **c.deltas)
                for c in sorted(fresh, key=lambda c: (c.product_id or "", c.day))
                if c.product_id is not None
            ],
            batch_size=2000,
            ignore_conflicts=True,
        )
        DailySales.objects.using(MYSQL).bulk_create(
            [DailySales(date=c.day, **c.deltas) for c in fresh if c.product_id is None],
            batch_size=2000,
            ignore_conflicts=True,
        )
    created = {_key(correction) for correction in fresh}
    for correction in corrections:
        if _key(correction) in created:
            continue
        changes = {field: delta for field, delta in correction.deltas.items() if delta}
        with transaction.atomic(using=MYSQL):
            if correction.product_id is None:
                _increment(DailySales, {"date": correction.day}, changes)
            else:
                _increment(ProductSales, {"date": correction.day, "product_id": correction.product_id}, changes)
    return len(corrections)


def _key(correction: FiguresCorrection):
    return correction.day if correction.product_id is None else (correction.day, correction.product_id)
