"""Reads on orders, and the check that the books balance across the stores."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db import connections, transaction
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.utils import timezone

from analytics import selectors as analytics_selectors
from ecommerce.api.permissions import ensure_owner_or_staff, is_staff
from ecommerce.routers import MYSQL
from inventory import selectors as inventory_selectors
from inventory.selectors import COMMITTED, RELEASED, RESERVED
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderLine

# Orders whose units are held (reserved in MySQL), and those whose units are sold.
OPEN_STATUSES = (Order.Status.PENDING, Order.Status.PAID)
SOLD_STATUSES = (Order.Status.SHIPPED, Order.Status.DELIVERED)
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def _with_lines(orders: QuerySet[Order]) -> QuerySet[Order]:
    # One query for the lines of a whole page, whatever its size.
    return orders.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))


def order_list(*, actor=None, user_id: int | None = None, status: str | None = None) -> QuerySet[Order]:
    """Newest first. A customer `actor` sees only their own orders; `user_id` narrows to one user."""
    orders = Order.objects.order_by("-created_at", "-id")
    if actor is not None and not is_staff(actor):
        orders = orders.filter(user_id=actor.pk)
    if user_id is not None:
        orders = orders.filter(user_id=user_id)
    if status:
        orders = orders.filter(status=status)
    return _with_lines(orders)


def order_get(*, order_id: int) -> Order:
    try:
        return _with_lines(Order.objects.all()).get(pk=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound() from None


def order_get_for(*, actor, order_id: int) -> Order:
    """The order as `actor` may see it: the owner's or any for staff; else 404."""
    order = order_get(order_id=order_id)
    ensure_owner_or_staff(actor, order.user_id, "Order")
    return order


def orders_by_reference(*, references: list[UUID]) -> dict[UUID, Order]:
    return {
        order.reference: order
        for order in Order.objects.filter(reference__in=references).only("pk", "reference", "status")
    }


def order_by_reference(*, reference: UUID) -> Order | None:
    """The order written under `reference`, with its lines; None when there is none."""
    return _with_lines(Order.objects.filter(reference=reference)).first()


def reservation_status_for(*, order_status: str) -> str:
    """Where an order's reservation stands once the stock has followed its status: held while
    it is open, sold once shipped or delivered, back in stock once cancelled (the seed writes
    history with it)."""
    if order_status in OPEN_STATUSES:
        return RESERVED
    if order_status in SOLD_STATUSES:
        return COMMITTED
    return RELEASED


def order_exists(*, reference: UUID) -> bool:
    return Order.objects.filter(reference=reference).exists()


@dataclass(frozen=True)
class _OrderRow:
    pk: int
    status: str
    units: dict[str, int]


def _orders_of(references: set[UUID]) -> dict[UUID, _OrderRow]:
    """The orders of `references` (status and units by product), in chunks of 500."""
    found: dict[UUID, _OrderRow] = {}
    ordered = sorted(references)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        lines = defaultdict(dict)
        for reference, product_id, quantity in OrderLine.objects.filter(order__reference__in=chunk).values_list(
            "order__reference", "product_id", "quantity"
        ):
            lines[reference][product_id] = quantity
        for pk, reference, status in Order.objects.filter(reference__in=chunk).values_list("pk", "reference", "status"):
            found[reference] = _OrderRow(pk, status, lines[reference])
    return found


@dataclass(frozen=True)
class _Snapshot:
    """What the check reads of MySQL, in one snapshot."""

    held: list  # reservation rows still reserved
    released: list  # reservation rows released (cancelled, or voided: the order never stood)
    sold_by_product: dict  # committed units summed by (day, product)
    sold_by_day: dict  # and by day
    inventory_reserved: dict[str, int]
    # Products held by reservations whose stock row is gone: deleted from the catalog since
    # (their orders keep their snapshot; cancelling or shipping moves no stock for them).
    deleted: set[str]
    figures: dict
    moved: set[UUID]  # references whose reservation changed since the cutoff


def _mysql_snapshot(*, cutoff=None) -> _Snapshot:
    """One REPEATABLE READ snapshot of MySQL: stock, reservations and sales figures change
    together in one transaction, so one snapshot keeps them equal."""
    connection = connections[MYSQL]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=MYSQL):
        if outermost and connection.vendor == "mysql":
            with connection.cursor() as cursor:
                # Allowed here: no statement of this transaction has run yet.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sold_by_product, sold_by_day = inventory_selectors.sold_units_summed()
        held = inventory_selectors.reservation_rows(status=RESERVED)
        held_products = {row.product_id for row in held}
        return _Snapshot(
            held=held,
            released=inventory_selectors.reservation_rows(status=RELEASED),
            sold_by_product=sold_by_product,
            sold_by_day=sold_by_day,
            inventory_reserved=inventory_selectors.inventory_reserved_by_product(),
            deleted=held_products - inventory_selectors.inventory_product_ids(among=held_products),
            figures=analytics_selectors.sales_figures_all(),
            moved=inventory_selectors.references_moved_since(cutoff=cutoff) if cutoff else set(),
        )


def _statuses_of(references: set[UUID]) -> dict[UUID, str]:
    """The status of each order among `references` that exists, in chunks of 500."""
    found: dict[UUID, str] = {}
    ordered = sorted(references)
    for start in range(0, len(ordered), 500):
        found.update(
            Order.objects.filter(reference__in=ordered[start : start + 500]).values_list("reference", "status")
        )
    return found


def stock_invariant_check(*, grace_seconds: int = 0) -> list[dict]:
    """The books check: what does not balance across the stores, as a list of mismatches
    (empty when the books balance). Each has a `kind`:

    - `stock`: a product's `reserved` in MySQL differs from the units its reservations hold;
    - `reservation_without_order`: units held under a reference no order carries;
    - `open_order_without_stock`: a pending or paid order holds none (or not all) of its units;
    - `closed_order_holding_stock`: a cancelled, shipped or delivered order still holds units;
    - `sold_units`: a product's units sold in MySQL differ from those of its shipped and
      delivered orders;
    - `figures`: a day's sales figures (the shop's, or a product's) differ from what its orders
      say: every order placed that day counted, those cancelled in the cancelled part;
    - `idempotency`: one user's Idempotency-Key produced more than one order within 24 hours.

    With `grace_seconds`, what moved more recently (orders being placed, cancelled or shipped
    right now are legitimately between the stores) is left out, so a live shop can be checked."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds) if grace_seconds else None
    snapshot = _mysql_snapshot(cutoff=cutoff)
    moved = set(snapshot.moved)
    if cutoff is not None:
        moved |= set(Order.objects.filter(updated_at__gte=cutoff).values_list("reference", flat=True))
    held: dict[UUID, dict[str, int]] = defaultdict(dict)
    for row in snapshot.held:
        held[row.order_reference][row.product_id] = row.quantity
    open_references = set(Order.objects.filter(status__in=OPEN_STATUSES).values_list("reference", flat=True))
    orders = _orders_of(held.keys() | open_references)
    statuses = {reference: order.status for reference, order in orders.items()}
    statuses |= _statuses_of({row.order_reference for row in snapshot.released} - statuses.keys())
    mismatches = _stock_mismatches(held, snapshot.inventory_reserved, snapshot.deleted)
    mismatches += _order_mismatches(held, orders, open_references, moved)
    mismatches += _sold_units_mismatches(snapshot, moved)
    mismatches += _figures_mismatches(snapshot, statuses)
    mismatches.extend(_duplicate_idempotent_orders())
    return mismatches


def _stock_mismatches(
    held: dict[UUID, dict[str, int]], inventory_reserved: dict[str, int], deleted: set[str]
) -> list[dict]:
    reserved_units: dict[str, int] = defaultdict(int)
    for units in held.values():
        for product_id, quantity in units.items():
            if product_id not in deleted:
                reserved_units[product_id] += quantity
    return [
        {
            "kind": "stock",
            "product_id": product_id,
            "inventory_reserved": inventory_reserved.get(product_id, 0),
            "reservations_reserved": reserved_units.get(product_id, 0),
        }
        for product_id in sorted(reserved_units.keys() | inventory_reserved.keys())
        if inventory_reserved.get(product_id, 0) != reserved_units.get(product_id, 0)
    ]


def _order_mismatches(held, orders: dict, open_references, moved: set[UUID]) -> list[dict]:
    found = []
    for reference in sorted(held.keys() | set(open_references)):
        if reference in moved:
            continue
        order = orders.get(reference)
        units = held.get(reference, {})
        if order is None:
            found.append({"kind": "reservation_without_order", "reference": str(reference), "units": units})
        elif order.status in OPEN_STATUSES and units != order.units:
            found.append(
                {"kind": "open_order_without_stock", "order_id": order.pk, "held": units, "ordered": order.units}
            )
        elif order.status not in OPEN_STATUSES and units:
            found.append(
                {"kind": "closed_order_holding_stock", "order_id": order.pk, "status": order.status, "held": units}
            )
    return found


def _sold_units_mismatches(snapshot: _Snapshot, moved: set[UUID]) -> list[dict]:
    sold: dict[str, int] = defaultdict(int)
    for (_day, product_id), row in snapshot.sold_by_product.items():
        sold[product_id] += row["units"]
    if moved:
        for row in inventory_selectors.reservation_rows(status=COMMITTED, references=moved):
            sold[row.product_id] -= row.quantity
    shipped = dict(
        OrderLine.objects.filter(order__status__in=SOLD_STATUSES)
        .exclude(order__reference__in=moved)
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    return [
        {
            "kind": "sold_units",
            "product_id": product_id,
            "sold": sold.get(product_id, 0),
            "shipped": shipped.get(product_id, 0),
        }
        for product_id in sorted(sold.keys() | shipped.keys())
        if sold.get(product_id, 0) != shipped.get(product_id, 0)
    ]


def _figures_expected(snapshot: _Snapshot, statuses: dict[UUID, str]) -> tuple[dict, dict, dict]:
    """The figures the reservations and their orders call for, keyed as the figures are, and
    the name each product sold under and its parent (a variant's).

    A reservation counts as placed unless it was voided (released, and no order carries it:
    the order never stood); as cancelled when its order is cancelled and its units are no
    longer held (the cancellation's stock movement is what counts it). Sold units count as
    placed, summed in MySQL; an order's rows always share one status, so the shop's count of
    distinct orders adds up across statuses."""
    expected: dict = defaultdict(lambda: dict.fromkeys(analytics_selectors.FIGURE_FIELDS, 0))
    names: dict = {}
    parents: dict = {}
    per_order: set = set()
    for row in [*snapshot.held, *snapshot.released]:
        status = statuses.get(row.order_reference)
        if row.status == RELEASED and status is None:
            continue
        cancelled = status == Order.Status.CANCELLED and row.status != RESERVED
        revenue = row.unit_price * row.quantity
        if row.name:
            names[(row.sales_date, row.product_id)] = row.name
        if row.parent_id:
            parents[(row.sales_date, row.product_id)] = row.parent_id
        for prefix in ["", "cancelled_"] if cancelled else [""]:
            product = expected[(row.sales_date, row.product_id)]
            product[f"{prefix}orders"] += 1
            product[f"{prefix}units"] += row.quantity
            product[f"{prefix}revenue"] += revenue
            day = expected[(row.sales_date, None)]
            day[f"{prefix}units"] += row.quantity
            day[f"{prefix}revenue"] += revenue
            per_order.add((row.sales_date, row.order_reference, prefix))
    for sales_date, _reference, prefix in per_order:
        expected[(sales_date, None)][f"{prefix}orders"] += 1
    for key, row in snapshot.sold_by_product.items():
        for field in ("orders", "units", "revenue"):
            expected[key][field] += row[field]
        names.setdefault(key, row["name"] or "")
        parents.setdefault(key, row["parent_id"] or "")
    for sales_date, row in snapshot.sold_by_day.items():
        for field in ("orders", "units", "revenue"):
            expected[(sales_date, None)][field] += row[field]
    return expected, names, parents


def sales_figures_mismatches() -> list[dict]:
    """The `figures` mismatches alone (what the figures repair corrects)."""
    snapshot = _mysql_snapshot()
    references = {row.order_reference for row in [*snapshot.held, *snapshot.released]}
    return _figures_mismatches(snapshot, _statuses_of(references))


def _figures_mismatches(snapshot: _Snapshot, statuses: dict[UUID, str]) -> list[dict]:
    expected, names, parents = _figures_expected(snapshot, statuses)
    figures = snapshot.figures
    zero = dict.fromkeys(analytics_selectors.FIGURE_FIELDS, 0)
    found = []
    for key in sorted(expected.keys() | figures.keys(), key=lambda key: (key[0], key[1] or "")):
        want, have = expected.get(key, zero), figures.get(key, zero)
        deltas = {field: want[field] - have[field] for field in analytics_selectors.FIGURE_FIELDS}
        if any(deltas.values()):
            day, product_id = key
            found.append(
                {
                    "kind": "figures",
                    "date": day.isoformat(),
                    "product_id": product_id,
                    "name": names.get(key, ""),
                    "parent_id": parents.get(key, ""),
                    "missing": deltas,
                }
            )
    return found


def _duplicate_idempotent_orders() -> list[dict]:
    repeated = (
        Order.objects.exclude(idempotency_key="")
        .values("user_id", "idempotency_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    found = []
    for group in repeated:
        placed = sorted(
            Order.objects.filter(user_id=group["user_id"], idempotency_key=group["idempotency_key"]).values_list(
                "created_at", "pk"
            )
        )
        # A key may be used again once it expired; two orders within its lifetime are a duplicate.
        twins = defaultdict(list)
        for (earlier, earlier_pk), (later, later_pk) in zip(placed, placed[1:], strict=False):
            if (later - earlier).total_seconds() < IDEMPOTENCY_TTL_SECONDS:
                twins[group["idempotency_key"]] += [earlier_pk, later_pk]
        for key, pks in twins.items():
            found.append(
                {"kind": "idempotency", "user_id": group["user_id"], "idempotency_key": key, "orders": sorted(set(pks))}
            )
    return found
