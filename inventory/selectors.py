"""Reads on stock (MySQL)."""

from collections.abc import Iterable
from uuid import UUID

from django.db.models import F, Q, QuerySet, Sum

from ecommerce.routers import MYSQL
from ecommerce.stores import mongo
from inventory.exceptions import InventoryNotFound
from inventory.models import Inventory, StockReservation


def inventory_product_ids() -> set[str]:
    """Every product id that has an inventory row (for repairs across stores)."""
    return set(Inventory.objects.using(MYSQL).values_list("product_id", flat=True))


def inventory_list() -> QuerySet[Inventory]:
    return Inventory.objects.using(MYSQL).order_by("product_id")


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


def reservations_for(*, order_references: Iterable[UUID]) -> list[StockReservation]:
    return list(StockReservation.objects.using(MYSQL).filter(order_reference__in=list(order_references)))


def reserved_references_before(*, cutoff) -> QuerySet:
    """Order references with units still reserved since before `cutoff` (for reconciliation)."""
    return (
        StockReservation.objects.using(MYSQL)
        .filter(status=StockReservation.Status.RESERVED, created_at__lt=cutoff)
        .values_list("order_reference", flat=True)
        .distinct()
        .order_by("order_reference")
    )


def reserved_units_by_product() -> dict[str, dict[str, int | None]]:
    """For every product with anything reserved: the inventory row's `reserved` (None when the
    product has no row any more: it was deleted) and the sum of its reservations still
    `reserved`. One MySQL transaction keeps the two equal."""
    held = dict(
        StockReservation.objects.using(MYSQL)
        .filter(status=StockReservation.Status.RESERVED)
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    inventory = dict(
        Inventory.objects.using(MYSQL)
        .filter(Q(reserved__gt=0) | Q(product_id__in=list(held)))
        .values_list("product_id", "reserved")
    )
    return {
        product_id: {"inventory_reserved": inventory.get(product_id), "reservations": held.get(product_id, 0)}
        for product_id in inventory.keys() | held.keys()
    }
