"""Reads on orders, and the check that the books balance across the stores."""

from collections import defaultdict
from uuid import UUID

from django.db.models import Count, Prefetch, QuerySet, Sum

from ecommerce.api.permissions import ensure_owner_or_staff, is_staff
from inventory import selectors as inventory_selectors
from orders.exceptions import OrderNotFound
from orders.models import Order, OrderLine

OPEN_STATUSES = (Order.Status.PENDING, Order.Status.PAID)
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


def stock_invariant_check() -> list[dict]:
    """What does not balance, as a list of mismatches (empty when the books balance):

    - `stock`: for a product, the units MySQL holds reserved (the inventory row's `reserved`,
      when the row exists, and the sum of its reservations still `reserved`) differ from the
      units of its pending and paid orders in PostgreSQL;
    - `idempotency`: one user's Idempotency-Key produced more than one order within 24 hours.

    Orders being placed or cancelled right now are legitimately between the two stores:
    check a quiet system, or after `reconcile_orders`."""
    mismatches = []
    mysql = inventory_selectors.reserved_units_by_product()
    orders = dict(
        OrderLine.objects.filter(order__status__in=OPEN_STATUSES)
        .values("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    for product_id in sorted(mysql.keys() | orders.keys()):
        held = mysql.get(product_id, {"inventory_reserved": 0, "reservations": 0})
        open_units = orders.get(product_id, 0)
        inventory_reserved = held["inventory_reserved"]
        if held["reservations"] != open_units or (inventory_reserved is not None and inventory_reserved != open_units):
            mismatches.append(
                {
                    "kind": "stock",
                    "product_id": product_id,
                    "inventory_reserved": inventory_reserved,
                    "reservations_reserved": held["reservations"],
                    "open_order_units": open_units,
                }
            )
    mismatches.extend(_duplicate_idempotent_orders())
    return mismatches


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
