"""Reads on stock (MySQL)."""

from collections.abc import Iterable
from uuid import UUID

from django.db import transaction
from django.db.models import Count, DecimalField, F, Max, Q, QuerySet, Sum

from ecommerce.routers import MYSQL
from ecommerce.stores import mongo
from inventory.exceptions import InventoryNotFound
from inventory.models import Inventory, StockReservation

# A reservation's statuses, for the apps that read reservations through these selectors.
RESERVED = StockReservation.Status.RESERVED
RELEASED = StockReservation.Status.RELEASED
COMMITTED = StockReservation.Status.COMMITTED


def inventory_product_ids(*, among: Iterable[str] | None = None) -> set[str]:
    """Every product id that has an inventory row, or those of `among` that have one (for
    checks and repairs across stores)."""
    rows = Inventory.objects.using(MYSQL)
    if among is not None:
        rows = rows.filter(product_id__in=list(among))
    return set(rows.values_list("product_id", flat=True))


def inventory_list(*, product_id: str | None = None) -> QuerySet[Inventory]:
    """Every row, or with `product_id` the rows it names: a parent's are its variants' rows
    (a parent holds no stock), a standalone product's or a variant's its own."""
    rows = Inventory.objects.using(MYSQL)
    if product_id is not None:
        rows = rows.filter(Q(product_id=product_id) | Q(parent_id=product_id))
    return rows.order_by("product_id")


def inventory_in_stock(*, product_ids: Iterable[str]) -> set[str]:
    """Which of these products have units to sell, in one query."""
    return set(
        Inventory.objects.using(MYSQL)
        .filter(product_id__in=list(product_ids), quantity__gt=0)
        .values_list("product_id", flat=True)
    )


def inventory_low_stock(*, threshold: int | None = None) -> QuerySet[Inventory]:
    """Rows at or below their own threshold, or at or below `threshold` when given; lowest first."""
    rows = Inventory.objects.using(MYSQL)
    if threshold is None:
        rows = rows.filter(quantity__lte=F("low_stock_threshold"))
    else:
        rows = rows.filter(quantity__lte=threshold)
    return rows.order_by("quantity", "product_id")


def inventory_get(*, product_id: str) -> Inventory:
    """One row; a malformed or unknown product id is 404."""
    if not mongo.is_object_id(product_id):
        raise InventoryNotFound()
    try:
        return Inventory.objects.using(MYSQL).get(product_id=product_id)
    except Inventory.DoesNotExist:
        raise InventoryNotFound() from None


def inventory_reserved_by_product() -> dict[str, int]:
    """Every inventory row's `reserved` that is not zero, by product (for the books check)."""
    return dict(Inventory.objects.using(MYSQL).exclude(reserved=0).values_list("product_id", "reserved"))


def reservation_rows(*, status: str | None = None, references: Iterable[UUID] | None = None) -> list:
    """Reservation rows as plain named tuples (order_reference, product_id, name, sku, options,
    parent_id, quantity, unit_price, sales_date, status, updated_at): all, or those in
    `status`, or of `references` (the books check and its repairs)."""
    rows = StockReservation.objects.using(MYSQL).order_by("order_reference", "product_id")
    if status is not None:
        rows = rows.filter(status=status)
    if references is not None:
        rows = rows.filter(order_reference__in=list(references))
    return list(
        rows.values_list(
            "order_reference",
            "product_id",
            "name",
            "sku",
            "options",
            "parent_id",
            "quantity",
            "unit_price",
            "sales_date",
            "status",
            "updated_at",
            named=True,
        )
    )


def sold_units_summed() -> tuple[dict, dict]:
    """The units sold (reservations committed), summed in MySQL as the sales figures count
    them: by (day, product) {orders, units, revenue, name, parent_id} and by day {orders (distinct
    references), units, revenue}. Sold is most of a shop's history: summed, not read row by row."""
    revenue = Sum(F("quantity") * F("unit_price"), output_field=DecimalField(max_digits=20, decimal_places=2))
    sold = StockReservation.objects.using(MYSQL).filter(status=StockReservation.Status.COMMITTED).order_by()
    by_product = {
        (row["sales_date"], row["product_id"]): row
        for row in sold.values("sales_date", "product_id").annotate(
            orders=Count("id"), units=Sum("quantity"), revenue=revenue, name=Max("name"), parent_id=Max("parent_id")
        )
    }
    by_day = {
        row["sales_date"]: row
        for row in sold.values("sales_date").annotate(
            orders=Count("order_reference", distinct=True), units=Sum("quantity"), revenue=revenue
        )
    }
    return by_product, by_day


def references_moved_since(*, cutoff) -> set[UUID]:
    """Order references whose reservation changed at or after `cutoff` (in flight: the books
    check leaves them out until they settle)."""
    return set(
        StockReservation.objects.using(MYSQL)
        .filter(updated_at__gte=cutoff)
        .values_list("order_reference", flat=True)
        .distinct()
    )


def reservations_settled(*, order_reference: UUID) -> list[StockReservation]:
    """An order reference's reservation rows as they finally stand, for settling a write whose
    outcome is unknown: a locking read waits for a transaction still holding them (one whose
    COMMIT is on its way, or being rolled back after its connection died) to end, so it never
    answers "nothing" while they may yet land. Call on a fresh connection."""
    with transaction.atomic(using=MYSQL):
        return list(
            StockReservation.objects.using(MYSQL)
            .select_for_update()
            .filter(order_reference=order_reference)
            .order_by("product_id")
        )
