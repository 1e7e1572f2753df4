"""Writes on stock (MySQL). Every transaction names the `mysql` alias and stays short.

Orders and restocks move stock only through conditional `UPDATE`s with `F()` (the
database does the arithmetic on the latest committed row under its row lock), so no
read-modify-write can lose an update and the CHECK constraints are never the thing that
says no. `inventory_set` is the exception by intent: staff set an absolute count (after a
stock-take), which replaces whatever the row held, `reserved` excepted.

Every catalog product has its row: the catalog writes it when it creates the product, and
`catalog_repair` gives one to a product that lost it. Inventory knows nothing of the catalog
(it sits below it): a product without a row is a 404 here.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from ecommerce.routers import MYSQL
from ecommerce.stores import sql
from inventory.exceptions import InventoryNotFound, OutOfStock, StockLimitExceeded
from inventory.models import Inventory, StockReservation
from inventory.selectors import inventory_get

logger = logging.getLogger(__name__)

# The largest stock one product may hold: far below the 32-bit column limit, so that
# an increment can never overflow into a database error.
MAX_STOCK = 1_000_000_000


class StockLine(Protocol):
    """What a reservation needs of an order's line (orders.services.OrderItem is one)."""

    product_id: str
    name: str
    sku: str
    options: dict[str, str]
    parent_id: str
    quantity: int
    unit_price: Decimal


StockLowHook = Callable[[list[str]], None]
_stock_low_hooks: list[StockLowHook] = []


def on_stock_low(hook: StockLowHook) -> StockLowHook:
    """Register `hook(product_ids)`, called after a MySQL commit that left those products at or
    below their low_stock_threshold (a reservation, or staff setting a lower quantity).

    It runs after the commit (transaction.on_commit on the mysql alias): the stock change
    stands whatever the hook does, and a hook's failure is logged, never raised to the buyer."""
    if hook not in _stock_low_hooks:
        _stock_low_hooks.append(hook)
    return hook


def _stock_low_after_commit(product_ids: list[str]) -> None:
    """Inside a MySQL transaction that lowered `product_ids`: once it commits, tell the hooks
    which of them are now at or below their threshold. Costs one query, and only with hooks."""
    if not _stock_low_hooks or not product_ids:
        return
    low = sorted(
        Inventory.objects.using(MYSQL)
        .filter(product_id__in=product_ids, quantity__lte=F("low_stock_threshold"))
        .values_list("product_id", flat=True)
    )
    _tell_stock_low(low)


def _tell_stock_low(product_ids: list[str]) -> None:
    """Once the current MySQL transaction commits, tell the hooks these products are low."""
    if _stock_low_hooks and product_ids:
        transaction.on_commit(lambda: _run_stock_low_hooks(product_ids), using=MYSQL)


def _run_stock_low_hooks(product_ids: list[str]) -> None:
    for hook in _stock_low_hooks:
        try:
            hook(product_ids)
        except Exception:
            logger.exception("A stock-low hook failed for %s", product_ids)


def inventory_create(*, product_id: str, quantity: int = 0, parent_id: str = "") -> Inventory:
    """The inventory row of a new standalone product or variant (`parent_id`: a variant's
    parent, so the parent's rows can be listed); idempotent: an existing row is kept."""
    with transaction.atomic(using=MYSQL):
        row, _ = Inventory.objects.using(MYSQL).get_or_create(
            product_id=product_id, defaults={"quantity": quantity, "parent_id": parent_id or ""}
        )
    return row


def inventory_delete(*, product_id: str) -> None:
    """Remove a deleted product's row (idempotent)."""
    Inventory.objects.using(MYSQL).filter(product_id=product_id).delete()


def inventory_set(*, product_id: str, quantity: int | None = None, low_stock_threshold: int | None = None) -> Inventory:
    """Set the sellable quantity and/or the low-stock threshold of a product's row (404 when
    it has none). `reserved` is never set here: only orders move it."""
    changes = {}
    if quantity is not None:
        if not 0 <= quantity <= MAX_STOCK:
            raise StockLimitExceeded(details={"quantity": [f"Must be between 0 and {MAX_STOCK}."]})
        changes["quantity"] = quantity
    if low_stock_threshold is not None:
        changes["low_stock_threshold"] = low_stock_threshold
    if changes:
        with transaction.atomic(using=MYSQL):
            # One UPDATE of the named columns only: a concurrent reservation's decrement of
            # `reserved` is not overwritten by a stale copy of the row.
            if (
                not Inventory.objects.using(MYSQL)
                .filter(product_id=product_id)
                .update(**changes, updated_at=timezone.now())
            ):
                raise InventoryNotFound()
            _stock_low_after_commit([product_id])
    return inventory_get(product_id=product_id)


def inventory_restock(*, product_id: str, quantity: int) -> Inventory:
    """Add `quantity` (> 0) units atomically: concurrent restocks all count.

    404 when the product has no row; 400 past MAX_STOCK."""
    # Conditional increment: the cap is checked against the row as the UPDATE sees it.
    added = (
        Inventory.objects.using(MYSQL)
        .filter(product_id=product_id, quantity__lte=MAX_STOCK - quantity)
        .update(quantity=F("quantity") + quantity, updated_at=timezone.now())
    )
    if not added:
        if Inventory.objects.using(MYSQL).filter(product_id=product_id).exists():
            raise StockLimitExceeded(details={"quantity": [f"Stock cannot exceed {MAX_STOCK}."]})
        raise InventoryNotFound()
    return inventory_get(product_id=product_id)


# The reservation: the lines' rows read under their lock, then moved in one statement.
# The locking read reaches the rows through the primary key in ascending order, the one lock
# order of every stock movement, so two orders sharing products cannot deadlock; it waits
# for a concurrent order holding one of them and reads what that order left. The update then
# judges against rows no one else can change until this transaction ends; its own condition
# (`quantity >= n`) is the database's guard that stock never goes below zero.
# (SQLite, the embedded default, has no row locks: its transactions take the database's
# write lock when they begin.)
_LOCK_SQL = "SELECT product_id, quantity, low_stock_threshold FROM {inventory} WHERE product_id IN ({ids}){lock}"
_RESERVE_SQL = """
UPDATE {inventory}
SET quantity = quantity - CASE product_id {amounts} END,
    reserved = reserved + CASE product_id {amounts} END,
    updated_at = %s
WHERE product_id IN ({ids}) AND quantity >= CASE product_id {amounts} END
""".strip()


def stock_reserve(*, order_reference: UUID, lines: Sequence[StockLine], sales_date: date) -> None:
    """Reserve every line for one order (one line per product), all or nothing, in one MySQL
    transaction: the caller's, when it is in one (the sales figures commit with the stock).

    Three statements whatever the number of lines: the rows locked and read (_LOCK_SQL), the
    stock moved (_RESERVE_SQL), the reservation rows inserted. A short line raises OutOfStock
    naming each short line with what is available, before anything moved. Hand-written SQL,
    not the ORM's: this is the write every order pays, and compiling its statements cost four
    times what sending them does."""
    lines = sorted(lines, key=lambda line: line.product_id)
    product_ids = [line.product_id for line in lines]
    if len(set(product_ids)) != len(product_ids):
        raise ValueError("stock_reserve takes one line per product")
    table = Inventory._meta.db_table
    ids = ", ".join("%s" for _ in lines)
    now = timezone.now()
    # No savepoint inside the caller's transaction (two round trips): an OutOfStock rolls the
    # whole of it back, which is what the caller wants of a reservation anyway.
    connection = connections[MYSQL]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with transaction.atomic(using=MYSQL, savepoint=False), connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL.format(inventory=table, ids=ids, lock=lock), product_ids)
        rows = cursor.fetchall()
        available = {product_id: quantity for product_id, quantity, _ in rows}
        threshold = {product_id: low for product_id, _, low in rows}
        short = [
            {"product_id": line.product_id, "requested": line.quantity, "available": available.get(line.product_id, 0)}
            for line in lines
            if available.get(line.product_id, 0) < line.quantity
        ]
        if short:
            raise OutOfStock(short)
        amounts = [value for line in lines for value in (line.product_id, line.quantity)]
        cursor.execute(
            _RESERVE_SQL.format(inventory=table, amounts=" ".join("WHEN %s THEN %s" for _ in lines), ids=ids),
            [*amounts, *amounts, sql.db_value(Inventory, "updated_at", now, using=MYSQL), *product_ids, *amounts],
        )
        if cursor.rowcount != len(lines):  # the rows are locked: only a broken invariant gets here
            raise RuntimeError(f"reservation {order_reference} moved {cursor.rowcount} of {len(lines)} rows")
        _tell_stock_low(
            [
                line.product_id
                for line in lines
                if available[line.product_id] - line.quantity <= threshold[line.product_id]
            ]
        )
        sql.insert(
            cursor,
            StockReservation,
            [
                {
                    "order_reference": order_reference,
                    "product_id": line.product_id,
                    "name": line.name[:200],
                    "sku": line.sku,
                    "options": line.options,
                    "parent_id": line.parent_id,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "sales_date": sales_date,
                    "status": StockReservation.Status.RESERVED,
                    "created_at": now,
                    "updated_at": now,
                }
                for line in lines
            ],
            using=MYSQL,
        )


def _settle(order_reference: UUID, to_status: str) -> list[StockReservation]:
    """Move an order's still-reserved rows to `to_status`, moving stock with them, exactly once."""
    with transaction.atomic(using=MYSQL):
        # Lock the order's still-reserved rows first: a racing release or commit of the same
        # order blocks here until this transaction ends, then (a locking read sees the latest
        # committed rows) finds nothing reserved and moves no stock. Inventory rows are then
        # touched in sorted product_id order, the same order stock_reserve uses.
        still_reserved = list(
            StockReservation.objects.using(MYSQL)
            .select_for_update()
            .filter(order_reference=order_reference, status=StockReservation.Status.RESERVED)
            .order_by("product_id")
        )
        if not still_reserved:
            return []
        now = timezone.now()
        for row in still_reserved:
            changes = {"reserved": F("reserved") - row.quantity, "updated_at": now}
            if to_status == StockReservation.Status.RELEASED:
                changes["quantity"] = F("quantity") + row.quantity
            # No row (the product was deleted since): there is no stock to move.
            Inventory.objects.using(MYSQL).filter(product_id=row.product_id).update(**changes)
        StockReservation.objects.using(MYSQL).filter(pk__in=[row.pk for row in still_reserved]).update(
            status=to_status, updated_at=now
        )
        for row in still_reserved:
            row.status = to_status
        return still_reserved


def stock_release(*, order_reference: UUID) -> list[StockReservation]:
    """Return an order's reserved units to `quantity` (cancellation, or an order that never
    committed). Answers the rows released now; empty when they already were. Call inside the
    MySQL transaction that also records what the release means for the sales figures."""
    return _settle(order_reference, StockReservation.Status.RELEASED)


def stock_commit(*, order_reference: UUID) -> list[StockReservation]:
    """Turn an order's reserved units into sold ones (shipping): `reserved -= n`.
    Answers the rows committed now; empty when they already were (or were released)."""
    return _settle(order_reference, StockReservation.Status.COMMITTED)
