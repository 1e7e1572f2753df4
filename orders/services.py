"""Placing and moving orders. An order spans three stores with no transaction across them:
prices and names come from MongoDB, stock is reserved in MySQL, the order is written to
PostgreSQL. Each step is one short transaction on one store, in this order:

1. read the products from the catalog (one query) and check they are for sale;
2. reserve the stock and count the sale, in one MySQL transaction, all lines or none,
   under a fresh `reference` (UUID) that the order will carry;
3. write the order, its line snapshots, the emptied cart and the idempotency answer in
   one PostgreSQL transaction.

If step 3 fails, step 2 is undone at once (the reservation released and uncounted). If
the process dies between them, `reconcile_orders` finds a reservation without an order
and releases it. The books balance when, for every product, the units reserved in MySQL
equal the units of its pending and paid orders (orders.selectors.stock_invariant_check).
"""

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from analytics import services as analytics_services
from analytics.services import SaleEvent, SaleLine
from cart import selectors as cart_selectors
from cart import services as cart_services
from catalog import selectors as catalog_selectors
from ecommerce.api.exceptions import ApplicationError, ValidationFailed
from ecommerce.api.permissions import is_staff
from ecommerce.routers import MYSQL
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.models import StockReservation
from inventory.services import ReservationLine
from orders import selectors
from orders.exceptions import EmptyCart, IdempotencyConflict, InvalidTransition, ProductsUnavailable, ReplayedError
from orders.models import IdempotencyKey, Order, OrderLine
from orders.serializers import order_representation
from users import selectors as user_selectors
from users.models import User

logger = logging.getLogger(__name__)

TRANSITIONS = {
    Order.Status.PENDING: {Order.Status.PAID, Order.Status.CANCELLED},
    Order.Status.PAID: {Order.Status.SHIPPED, Order.Status.CANCELLED},
    Order.Status.SHIPPED: {Order.Status.DELIVERED},
}
# What Order.total (numeric(12, 2)) holds.
MAX_ORDER_TOTAL = Decimal("9999999999.99")
IDEMPOTENCY_TTL = timedelta(seconds=selectors.IDEMPOTENCY_TTL_SECONDS)
# How long a repeat waits for the first request with its key to finish before a 409.
IDEMPOTENCY_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class OrderItem:
    """A line about to be ordered, priced from the catalog."""

    product_id: str
    name: str
    unit_price: Decimal
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class PlacedOrder:
    """What order_place answers: the order (None for a replayed error) and the HTTP answer."""

    order: Order | None
    status_code: int
    body: dict
    replayed: bool = False


# --- hook point ----------------------------------------------------------------------

OrderChangedHook = Callable[[Order, str, "str | None"], None]
_order_changed_hooks: list[OrderChangedHook] = []
# The event each status change publishes.
STATUS_EVENTS = {
    Order.Status.PAID: "paid",
    Order.Status.SHIPPED: "shipped",
    Order.Status.DELIVERED: "delivered",
    Order.Status.CANCELLED: "cancelled",
}


def on_order_changed(hook: OrderChangedHook) -> OrderChangedHook:
    """Register `hook(order, event, previous_status)` (event: created, paid, shipped, delivered,
    cancelled) for an app above orders (events, payments) to react to an order's changes.

    Hooks run inside the PostgreSQL transaction that made the change, right after it: what a
    hook writes to PostgreSQL commits with the change, and an exception it raises rolls the
    change back. They must not call another store (the transaction stays short)."""
    if hook not in _order_changed_hooks:
        _order_changed_hooks.append(hook)
    return hook


def _order_changed(order: Order, event: str, previous_status: str | None) -> None:
    for hook in _order_changed_hooks:
        hook(order, event, previous_status)


# --- placing -------------------------------------------------------------------------


def _order_owner(*, actor: User, user_id: int | None) -> User:
    if user_id is None or user_id == actor.pk:
        return actor
    if not is_staff(actor):
        raise PermissionDenied("Only staff may order for another user.")
    owner = user_selectors.user_find(user_id=user_id)
    if owner is None:
        raise ValidationFailed(details={"user_id": ["No such user."]})
    return owner


def _priced_items(*, items: list[dict]) -> list[OrderItem]:
    """Step 1: names and prices from the catalog, one MongoDB query for all lines."""
    products = catalog_selectors.products_get_many(product_ids=[item["product_id"] for item in items])
    unavailable = [
        item["product_id"]
        for item in items
        if item["product_id"] not in products or not products[item["product_id"]].is_active
    ]
    if unavailable:
        raise ProductsUnavailable(unavailable)
    return [
        OrderItem(
            product_id=item["product_id"],
            name=products[item["product_id"]].name,
            unit_price=products[item["product_id"]].price,
            quantity=item["quantity"],
        )
        for item in items
    ]


def order_reserve_stock(*, reference: uuid.UUID, items: list[OrderItem], sales_date: date) -> None:
    """Step 2: reserve every line and count the sale on `sales_date`, in one MySQL
    transaction, all or nothing (OutOfStock names each short line)."""
    analytics_services.sales_rows_ensure(day=sales_date, product_ids=[item.product_id for item in items])
    with transaction.atomic(using=MYSQL):
        inventory_services.stock_reserve(
            order_reference=reference,
            lines=[ReservationLine(item.product_id, item.quantity, item.unit_price) for item in items],
            sales_date=sales_date,
        )
        analytics_services.sales_record(
            day=sales_date,
            lines=[SaleLine(item.product_id, item.quantity, item.unit_price, item.name) for item in items],
            event=SaleEvent.PLACED,
        )


def order_record(
    *,
    reference: uuid.UUID,
    owner: User,
    items: list[OrderItem],
    shipping_address: dict,
    placed_at: datetime,
    idempotency: IdempotencyKey | None = None,
    cart_lines: dict[int, int] | None = None,
) -> Order:
    """Step 3: the order, its line snapshots, the cart lines it came from removed and the
    idempotency answer stored, in one PostgreSQL transaction."""
    with transaction.atomic():
        order = Order.objects.create(
            reference=reference,
            user=owner,
            email=owner.email,
            total=sum((item.line_total for item in items), Decimal("0.00")),
            currency=settings.STORE_CURRENCY,
            shipping_address=shipping_address,
            idempotency_key=idempotency.key if idempotency else "",
            created_at=placed_at,
        )
        lines = OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=order,
                    product_id=item.product_id,
                    name=item.name,
                    unit_price=item.unit_price,
                    quantity=item.quantity,
                    line_total=item.line_total,
                )
                for item in sorted(items, key=lambda item: item.product_id)
            ]
        )
        # The lines are known: answer without reading them back.
        order._prefetched_objects_cache = {"lines": lines}
        _order_changed(order, "created", None)
        if cart_lines:
            cart_services.cart_items_remove_ordered(user_id=owner.pk, ordered=cart_lines)
        if idempotency is not None:
            IdempotencyKey.objects.filter(pk=idempotency.pk).update(
                status=IdempotencyKey.Status.COMPLETED,
                response_status=201,
                response_body=order_representation(order),
                order=order,
            )
    return order


def _reservation_void(reference: uuid.UUID) -> bool:
    """Undo step 2 for an order that never stood: stock back, sale uncounted. Idempotent."""
    with transaction.atomic(using=MYSQL):
        released = inventory_services.stock_release(order_reference=reference)
        _count(released, SaleEvent.VOIDED)
    return bool(released)


def _count(reservations: list[StockReservation], event: SaleEvent) -> None:
    if reservations:
        analytics_services.sales_record(
            day=reservations[0].sales_date,
            lines=[SaleLine(row.product_id, row.quantity, row.unit_price) for row in reservations],
            event=event,
        )


def _place(
    *,
    owner: User,
    items: list[dict] | None,
    from_cart: bool,
    shipping_address: dict,
    idempotency: IdempotencyKey | None,
) -> Order:
    cart_lines = None
    if from_cart:
        # The cart reads its products from MongoDB in one query (not from the cache: this
        # charges money): order what it shows.
        cart = cart_selectors.cart_get(user_id=owner.pk, fresh=True)
        if not cart.items:
            raise EmptyCart()
        priced = [OrderItem(line.product_id, line.name, line.unit_price, line.quantity) for line in cart.items]
        cart_lines = {line.id: line.quantity for line in cart.items}
    else:
        priced = _priced_items(items=items or [])
    if sum((item.line_total for item in priced), Decimal("0")) > MAX_ORDER_TOTAL:
        raise ValidationFailed(details={"items": [f"The order total may be at most {MAX_ORDER_TOTAL}."]})
    reference = uuid.uuid4()
    placed_at = timezone.now()
    order_reserve_stock(reference=reference, items=priced, sales_date=placed_at.date())
    try:
        return order_record(
            reference=reference,
            owner=owner,
            items=priced,
            shipping_address=shipping_address,
            placed_at=placed_at,
            idempotency=idempotency,
            cart_lines=cart_lines,
        )
    except BaseException:
        # The order did not stand: give its stock back now. Should MySQL fail too,
        # reconcile_orders releases the reservation once its grace period is over.
        try:
            _reservation_void(reference)
        except DatabaseError:
            logger.warning("Reservation %s left for reconcile_orders", reference, exc_info=True)
        raise


def _request_hash(**request) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyKey) -> PlacedOrder:
    if record.response_status >= 400:
        raise ReplayedError(record.response_status, record.response_body)
    return PlacedOrder(order=record.order, status_code=record.response_status, body=record.response_body, replayed=True)


def _idempotency_claim(*, user: User, key: str, request_hash: str) -> IdempotencyKey | PlacedOrder:
    """Insert the key row (in progress) in its own transaction, or answer as the key says.

    The unique constraint (user, key) lets exactly one of concurrent first requests insert;
    the others wait for its answer and replay it (409 if it takes too long)."""
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        # An expired key is as good as absent.
        IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, request_hash=request_hash)
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.select_related("order").filter(user=user, key=key).first()
        if record is None:
            continue  # The first request gave its key up (it failed): claim it again.
        if record.request_hash != request_hash:
            raise IdempotencyConflict("This Idempotency-Key was used with a different request.")
        if record.status == IdempotencyKey.Status.COMPLETED:
            return _replay(record)
        if time.monotonic() > deadline:
            raise IdempotencyConflict("A request with this Idempotency-Key is still being processed; retry later.")
        time.sleep(0.05)


def _idempotency_give_up(record: IdempotencyKey) -> None:
    """The request failed without an answer worth replaying (a store down): free the key
    so the client's retry runs again. Should PostgreSQL be the store that is down, the
    key stays in progress until reconcile_orders removes it."""
    try:
        IdempotencyKey.objects.filter(pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()
    except DatabaseError:
        logger.warning("Idempotency key %s left for reconcile_orders", record.pk, exc_info=True)


def order_place(
    *,
    user: User,
    shipping_address: dict,
    items: list[dict] | None = None,
    from_cart: bool = False,
    user_id: int | None = None,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Place an order as `user` (the caller): `items` ([{"product_id", "quantity"}], one line
    per product) or the caller's cart (`from_cart`; the ordered lines leave the cart only
    when the order stands). Staff may order for `user_id`.

    Answers 201 with the pending order and its stock reserved; raises OutOfStock (409,
    nothing reserved), ProductsUnavailable / EmptyCart (400), ServiceUnavailable-style
    database errors (503, nothing reserved and no order).

    With `idempotency_key` (per caller, 24 hours): a repeat of the same request answers the
    first answer again (`replayed`; a replayed error is raised again) and creates nothing;
    the same key with another request raises IdempotencyConflict (409)."""
    owner = _order_owner(actor=user, user_id=user_id)
    arguments = {"owner": owner, "items": items, "from_cart": from_cart, "shipping_address": shipping_address}
    if idempotency_key is None:
        order = _place(**arguments, idempotency=None)
        return PlacedOrder(order=order, status_code=201, body=order_representation(order))

    request_hash = _request_hash(user_id=owner.pk, items=items, from_cart=from_cart, shipping_address=shipping_address)
    claimed = _idempotency_claim(user=user, key=idempotency_key, request_hash=request_hash)
    if isinstance(claimed, PlacedOrder):
        return claimed
    try:
        order = _place(**arguments, idempotency=claimed)
    except ApplicationError as exc:
        if exc.status_code >= 500:
            _idempotency_give_up(claimed)
        else:
            # A definite answer (out of stock, a product not for sale): repeats get it too.
            IdempotencyKey.objects.filter(pk=claimed.pk).update(
                status=IdempotencyKey.Status.COMPLETED,
                response_status=exc.status_code,
                response_body={"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
            )
        raise
    except BaseException:
        _idempotency_give_up(claimed)
        raise
    return PlacedOrder(order=order, status_code=201, body=order_representation(order))


# --- moving --------------------------------------------------------------------------


def _stock_return(order: Order) -> bool:
    """Cancelled: reserved units back to `quantity`, the sale moved to the cancelled part of
    its day, in one MySQL transaction. Exactly once: stock_release moves only rows still
    reserved, under their lock, so a second call finds nothing to do (answers False)."""
    with transaction.atomic(using=MYSQL):
        released = inventory_services.stock_release(order_reference=order.reference)
        _count(released, SaleEvent.CANCELLED)
    return bool(released)


def _stock_sell(order: Order) -> bool:
    """Shipped: reserved units become sold ones (`reserved -= n`), exactly once."""
    return bool(inventory_services.stock_commit(order_reference=order.reference))


def order_status_change(*, order: Order, status: str, actor: User | None = None) -> Order:
    """Move an order along pending → paid | cancelled, paid → shipped | cancelled,
    shipped → delivered; anything else raises InvalidTransition (409).

    The status is changed first, in PostgreSQL, by a conditional UPDATE ... WHERE status =
    <the status we judged>: of two changes racing from one state only one matches the row;
    the other re-reads and is judged again against the new state. The stock then follows in
    MySQL (cancel: back to quantity; ship: sold). Should MySQL fail at that moment, the
    order's new status stands and reconcile_orders moves the stock later."""
    for _ in range(5):
        current = order.status
        if status not in TRANSITIONS.get(current, ()):
            raise InvalidTransition(current, status)
        now = timezone.now()
        changes = {"status": status, "updated_at": now}
        if status == Order.Status.CANCELLED:
            changes["cancel_reason"] = (
                Order.CancelReason.STAFF if actor is not None and is_staff(actor) else Order.CancelReason.CUSTOMER
            )
        with transaction.atomic():
            if Order.objects.filter(pk=order.pk, status=current).update(**changes):
                for field, value in changes.items():
                    setattr(order, field, value)
                _order_changed(order, STATUS_EVENTS[status], current)
                break
        order.refresh_from_db(fields=["status", "updated_at"])
    else:
        raise InvalidTransition(order.status, status)
    try:
        if status == Order.Status.CANCELLED:
            _stock_return(order)
        elif status == Order.Status.SHIPPED:
            _stock_sell(order)
    except DatabaseError:
        logger.warning("Stock of order %s left for reconcile_orders", order.pk, exc_info=True)
    return order


def order_cancel(*, order: Order, actor: User | None = None) -> Order:
    """Cancel a pending or paid order (else InvalidTransition); its stock returns exactly once."""
    return order_status_change(order=order, status=Order.Status.CANCELLED, actor=actor)


# --- repairing -----------------------------------------------------------------------


@dataclass
class ReconcileReport:
    released: int = 0  # reservations of orders that never committed, released
    returned: int = 0  # reservations of cancelled orders, returned to stock
    committed: int = 0  # reservations of shipped orders, turned into sold units
    cancelled: list[int] | None = None  # open orders without stock reserved, cancelled
    keys_removed: int = 0  # expired or abandoned idempotency keys


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def orders_reconcile(*, grace_seconds: int = 300) -> ReconcileReport:
    """Restore the books after crashes between the steps of placing or moving orders.
    Idempotent, and safe to run at any time (from cron): it acts only on what is older than
    `grace_seconds`, so orders in flight are left alone.

    - reserved stock whose order never committed → released (and the sale uncounted);
    - reserved stock of cancelled orders → returned; of shipped/delivered ones → sold;
    - pending/paid orders with no stock reserved → cancelled, reason `stock_not_reserved`
      (the contract's statuses are kept; the reason is visible to staff in the admin);
    - idempotency keys expired (24 h), or left in progress by a crash → removed."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    report = ReconcileReport(cancelled=[])

    references = list(inventory_selectors.reserved_references_before(cutoff=cutoff))
    for chunk in _chunks(references):
        orders = selectors.orders_by_reference(references=chunk)
        for reference in chunk:
            order = orders.get(reference)
            if order is None:
                report.released += _reservation_void(reference)
            elif order.status == Order.Status.CANCELLED:
                report.returned += _stock_return(order)
            elif order.status in (Order.Status.SHIPPED, Order.Status.DELIVERED):
                report.committed += _stock_sell(order)

    open_orders = list(
        Order.objects.filter(status__in=selectors.OPEN_STATUSES, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", "reference")
    )
    for chunk in _chunks(open_orders):
        held = {
            row.order_reference
            for row in inventory_selectors.reservations_for(order_references=[reference for _, reference in chunk])
            if row.status == StockReservation.Status.RESERVED
        }
        for pk, reference in chunk:
            if reference in held:
                continue
            with transaction.atomic():
                # Locked and re-checked: an order moved meanwhile (say, shipped) is left as it is.
                order = Order.objects.select_for_update().filter(pk=pk, status__in=selectors.OPEN_STATUSES).first()
                if order is None:
                    continue
                previous = order.status
                order.status = Order.Status.CANCELLED
                order.cancel_reason = Order.CancelReason.STOCK_NOT_RESERVED
                order.save(update_fields=["status", "cancel_reason", "updated_at"])
                _order_changed(order, "cancelled", previous)
                report.cancelled.append(pk)

    expired, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    abandoned, _ = IdempotencyKey.objects.filter(
        status=IdempotencyKey.Status.IN_PROGRESS, created_at__lt=cutoff, order__isnull=True
    ).delete()
    report.keys_removed = expired + abandoned
    if report.released or report.returned or report.committed or report.cancelled:
        logger.warning("reconcile_orders repaired: %s", report)
    return report


def stock_invariant_check() -> list[dict]:
    """The books-balance check (see orders.selectors.stock_invariant_check)."""
    return selectors.stock_invariant_check()
