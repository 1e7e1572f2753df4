"""Placing and moving orders. An order spans three stores with no transaction across them:
prices and names come from MongoDB, stock is reserved in MySQL, the order is written to
PostgreSQL. Each step is one short transaction on one store, in this order:

1. read the products from the catalog (one query) and check they are for sale;
2. reserve the stock and count the sale, in one MySQL transaction, all lines or none,
   under the attempt's `reference` (a UUID) that the order will carry;
3. write the order, its line snapshots, the emptied cart and the idempotency answer in
   one PostgreSQL transaction.

A step that fails before its COMMIT did not land. One whose COMMIT answer was lost is
settled, never guessed (orders.commits): the reservation is looked up by its reference, the
order's transaction by its id, on a fresh connection. Step 2 is undone (released and
uncounted) only when step 3 truly did not land; an outcome that cannot be known yet is left
for the retry that takes the Idempotency-Key over, or for `reconcile_orders`.

An Idempotency-Key is leased to one attempt at a time (settings.ORDER_LEASE_SECONDS, longer
than the slowest checkout). A repeat while the lease runs answers 409 with Retry-After at
once; a repeat after it takes the key over, settles the earlier attempt by its reference
and completes it (the order written from its reservation) or starts afresh. The earlier
attempt, should it still run, is fenced off: its order write checks the key's attempt number
in the same transaction. Only definite answers are stored for replay (a 201, a 4xx); a
store failure leaves the key to the next attempt.
"""

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from analytics import services as analytics_services
from analytics.services import SaleEvent, SalesRowsMissing
from cart import selectors as cart_selectors
from cart import services as cart_services
from catalog import selectors as catalog_selectors
from catalog.exceptions import ParentNotBuyable
from ecommerce.api.exceptions import ApplicationError, ServiceUnavailable, ValidationFailed
from ecommerce.api.idempotency import IdempotencyConflict, ReplayedError, hash_of_request
from ecommerce.api.permissions import is_staff
from ecommerce.routers import MYSQL
from ecommerce.stores import sql
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.selectors import RESERVED
from orders import commits, selectors
from orders.commits import DEFAULT, CommitLost, Outcome
from orders.exceptions import (
    EmptyCart,
    IdempotencyInProgress,
    InvalidTransition,
    LeaseLost,
    OrderForbidden,
    ProductsUnavailable,
)
from orders.models import IdempotencyKey, Order, OrderLine
from orders.representation import order_representation
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


def _lease() -> timedelta:
    return timedelta(seconds=settings.ORDER_LEASE_SECONDS)


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


# --- the line that crosses the stores ------------------------------------------------


@dataclass(frozen=True)
class OrderItem:
    """A line about to be ordered, priced from the catalog. The one shape every step takes:
    the reservation (inventory.services.StockLine), the sales figures
    (analytics.services.SaleLine) and the order's line snapshot read these fields."""

    product_id: str
    name: str
    unit_price: Decimal
    quantity: int
    # A variant's SKU, options and parent ("", {} and "" for a standalone product without them).
    sku: str = ""
    options: dict[str, str] = dataclass_field(default_factory=dict)
    parent_id: str = ""

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


@dataclass(frozen=True)
class _Attempt:
    """One attempt at an Idempotency-Key's request, holding the key's lease.

    `number` fences it (the key's `attempt` column); `reference` is the order reference it
    reserves under; `taken_over` when an earlier attempt left the key without an answer, so
    what that attempt did under `reference` is settled first."""

    key_id: int
    key: str
    number: int
    reference: uuid.UUID | None
    taken_over: bool = False


# --- placing -------------------------------------------------------------------------


def _order_owner(*, actor: User, user_id: int | None) -> User:
    if user_id is None or user_id == actor.pk:
        return actor
    if not is_staff(actor):
        raise OrderForbidden()
    owner = user_selectors.user_find(user_id=user_id)
    if owner is None:
        raise ValidationFailed(details={"user_id": ["No such user."]})
    return owner


def _priced_items(*, items: list[dict]) -> list[OrderItem]:
    """Step 1: names and prices from the catalog, one MongoDB query for all lines. A parent
    is never bought: ParentNotBuyable (400) lists its variants, for the client to pick one."""
    products = catalog_selectors.products_get_many(
        product_ids=[item["product_id"] for item in items], include_parents=True
    )
    parents = [products[item["product_id"]] for item in items if item["product_id"] in products]
    variant_ids = [vid for product in parents if not product.is_buyable for vid in product.variant_ids]
    if any(not product.is_buyable for product in parents):
        raise ParentNotBuyable(variant_ids=variant_ids)
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
            sku=products[item["product_id"]].sku or "",
            options=dict(products[item["product_id"]].options),
            parent_id=products[item["product_id"]].parent_id or "",
        )
        for item in items
    ]


def _cart_items(*, owner: User) -> list[OrderItem]:
    """Step 1 from the cart: its products read from MongoDB in one query (not from the
    cache: this charges money); order what it shows."""
    cart = cart_selectors.cart_get(user_id=owner.pk, fresh=True)
    if not cart.items:
        raise EmptyCart()
    # A cart line does not say a variant's parent, which the sale records: one more read, of
    # the variants alone (only a variant has options), when the cart holds any.
    variant_ids = [line.product_id for line in cart.items if line.options]
    parents = (
        {
            pid: product.parent_id or ""
            for pid, product in catalog_selectors.products_get_many(product_ids=variant_ids).items()
        }
        if variant_ids
        else {}
    )
    return [
        OrderItem(
            line.product_id,
            line.name,
            line.unit_price,
            line.quantity,
            sku=line.sku or "",
            options=dict(line.options),
            parent_id=parents.get(line.product_id, ""),
        )
        for line in cart.items
    ]


def order_reserve_stock(*, reference: uuid.UUID, items: list[OrderItem], sales_date: date) -> None:
    """Step 2: reserve every line and count the sale on `sales_date`, in one MySQL
    transaction, all or nothing (OutOfStock names each short line). A lost COMMIT answer is
    settled by looking the reservation up; ServiceUnavailable("mysql") when it did not land
    or cannot be known yet (then it is held until a retry or the repair settles it)."""

    def reserve(create_missing: bool = False) -> None:
        inventory_services.stock_reserve(order_reference=reference, lines=items, sales_date=sales_date)
        analytics_services.sales_record(
            day=sales_date, lines=items, event=SaleEvent.PLACED, create_missing=create_missing
        )

    try:
        try:
            commits.commit(MYSQL, reserve)
        except SalesRowsMissing:
            # The first sale of a product on a day (rolled back whole): its figures' rows are
            # created outside the stock transaction, where two first orders cannot deadlock
            # on them (sales_rows_ensure), and the reservation is made again. Every later
            # order of that day finds them: one transaction, no rows to ensure first.
            with commits.store(MYSQL):
                analytics_services.sales_rows_ensure(day=sales_date, product_ids=[item.product_id for item in items])
            commits.commit(MYSQL, lambda: reserve(create_missing=True))
    except CommitLost:
        rows = _reservation_rows(reference)
        if rows is None or not any(row.status == RESERVED for row in rows):
            raise ServiceUnavailable("mysql") from None
        logger.info("Reservation %s landed though its COMMIT answer was lost", reference)


def _reservation_rows(reference: uuid.UUID) -> list | None:
    """The reservation rows of `reference` as they finally stand, read on a fresh MySQL
    connection; None when MySQL cannot be asked (the outcome stays unknown)."""
    commits.reconnect(MYSQL)
    try:
        return inventory_selectors.reservations_settled(order_reference=reference)
    except DatabaseError:
        logger.warning("Could not settle reservation %s", reference, exc_info=True)
        return None


def order_record(
    *,
    reference: uuid.UUID,
    owner: User,
    items: list[OrderItem],
    shipping_address: dict,
    placed_at: datetime,
    attempt: _Attempt | None = None,
    cart_lines: dict[str, int] | None = None,
) -> Order:
    """Step 3: the order, its line snapshots, the cart lines it came from removed (CartChanged
    when another checkout took them) and the idempotency answer stored (LeaseLost when a
    retry took the key over), all in the caller's PostgreSQL transaction."""
    # The order and its lines in two hand-written INSERTs (the ORM's create and bulk_create
    # cost more to build than to send, on the write every order pays).
    order = Order(
        reference=reference,
        user=owner,
        email=owner.email,
        total=sum((item.line_total for item in items), Decimal("0.00")),
        currency=settings.STORE_CURRENCY,
        shipping_address=shipping_address,
        idempotency_key=attempt.key if attempt else "",
        created_at=placed_at,
        updated_at=timezone.now(),
    )
    sql.insert_objects([order], using=DEFAULT)
    lines = [
        OrderLine(
            order=order,
            product_id=item.product_id,
            name=item.name,
            sku=item.sku,
            options=item.options,
            unit_price=item.unit_price,
            quantity=item.quantity,
            line_total=item.line_total,
        )
        for item in sorted(items, key=lambda item: item.product_id)
    ]
    sql.insert_objects(lines, using=DEFAULT)
    # The lines are known: answer without reading them back.
    order._prefetched_objects_cache = {"lines": lines}
    if cart_lines:
        cart_services.cart_items_remove_ordered(user_id=owner.pk, ordered=cart_lines)
    if attempt is not None and not _idempotency_finish(attempt, status_code=201, body=None, order=order):
        raise LeaseLost()
    _order_changed(order, "created", None)
    return order


def _reservation_void(reference: uuid.UUID) -> bool:
    """Undo step 2 for an order that never stood: stock back, sale uncounted. Idempotent."""

    def void() -> bool:
        released = inventory_services.stock_release(order_reference=reference)
        _record_sale(released, SaleEvent.VOIDED)
        return bool(released)

    return commits.commit(MYSQL, void)


def _reservation_void_or_leave(reference: uuid.UUID) -> None:
    try:
        _reservation_void(reference)
    except (ServiceUnavailable, CommitLost, DatabaseError):
        # Voiding is idempotent: the repair finishes it (a lost answer included).
        logger.warning("Reservation %s left for reconcile_orders", reference, exc_info=True)


def _record_sale(reservations: list, event: SaleEvent) -> None:
    """Record what a stock movement means for the sales figures, in its MySQL transaction."""
    if reservations:
        analytics_services.sales_record(day=reservations[0].sales_date, lines=reservations, event=event)


def _write_order(*, reference: uuid.UUID, attempt: _Attempt | None, **fields) -> Order:
    """Step 3 in its own PostgreSQL transaction, its failure settled: the reservation is
    voided only when the order truly did not land."""
    written: list[Order] = []
    try:
        commits.commit(
            DEFAULT,
            lambda: written.append(order_record(reference=reference, attempt=attempt, **fields)),
            settle=True,
        )
    except CommitLost as lost:
        result = commits.outcome(lost)
        if result == Outcome.COMMITTED:
            logger.info("Order %s committed though its COMMIT answer was lost", reference)
            return written[0]
        if result == Outcome.ABORTED:
            _reservation_void_or_leave(reference)
        # Unknown: the order may stand. Its reservation stays held; the retry that takes the
        # key over, or the repair, settles it by the reference.
        raise ServiceUnavailable("postgres") from None
    except LeaseLost:
        # A retry owns the key, and with it this reference: it settles the reservation.
        raise
    except BaseException:
        # The transaction rolled back before its COMMIT: this order did not stand. With a key,
        # another attempt may have written one under the same reference meanwhile (this one
        # then fails on the unique reference): its reservation is that order's, not ours.
        if attempt is None or _no_order_under(reference):
            _reservation_void_or_leave(reference)
        raise
    return written[0]


def _no_order_under(reference: uuid.UUID) -> bool:
    """True only when PostgreSQL says no order carries `reference`; unknown is not "no", and
    the reservation then waits for the retry (which completes the order from it) or the repair."""
    commits.reconnect(DEFAULT)
    try:
        return not selectors.order_exists(reference=reference)
    except DatabaseError:
        return False


def _placed_at(sales_date: date) -> datetime:
    """When an order completed from its reservation was placed: now, kept on the day its sale
    was counted (a completion just after midnight stays on the reservation's day)."""
    now = timezone.now()
    if now.date() == sales_date:
        return now
    return datetime.combine(sales_date, day_time.max, tzinfo=UTC)


def _checkout(
    *,
    reference: uuid.UUID,
    owner: User,
    items: list[dict] | None,
    from_cart: bool,
    shipping_address: dict,
    attempt: _Attempt | None,
) -> Order:
    priced = _cart_items(owner=owner) if from_cart else _priced_items(items=items or [])
    if sum((item.line_total for item in priced), Decimal("0")) > MAX_ORDER_TOTAL:
        raise ValidationFailed(details={"items": [f"The order total may be at most {MAX_ORDER_TOTAL}."]})
    placed_at = timezone.now()
    order_reserve_stock(reference=reference, items=priced, sales_date=placed_at.date())
    return _write_order(
        reference=reference,
        attempt=attempt,
        owner=owner,
        items=priced,
        shipping_address=shipping_address,
        placed_at=placed_at,
        cart_lines={item.product_id: item.quantity for item in priced} if from_cart else None,
    )


def _resume(*, attempt: _Attempt, owner: User, from_cart: bool, shipping_address: dict) -> PlacedOrder | None:
    """A taken-over key: settle what the earlier attempt did under its reference. Its order
    stands: answer it. Its reservation stands: write the order from it (the answer the
    earlier attempt would have given). Neither: None, start afresh. MySQL cannot be asked:
    ServiceUnavailable (the reservation, if any, stays held)."""
    if attempt.reference is None:
        return None
    with commits.store(DEFAULT):
        order = selectors.order_by_reference(reference=attempt.reference)
    if order is not None:
        body = order_representation(order)
        with commits.store(DEFAULT):
            _idempotency_finish(attempt, status_code=201, body=body, order=order)
        return PlacedOrder(order=order, status_code=201, body=body)
    rows = _reservation_rows(attempt.reference)
    if rows is None:
        raise ServiceUnavailable("mysql")
    reserved = [row for row in rows if row.status == RESERVED]
    if not reserved:
        return None
    names = {row.product_id: row.name for row in reserved}
    if not all(names.values()):
        # Reserved before reservations kept the name: the catalog's current one.
        products = catalog_selectors.products_get_many(product_ids=list(names))
        names = {pid: name or (products[pid].name if pid in products else pid) for pid, name in names.items()}
    items = [
        OrderItem(
            row.product_id,
            names[row.product_id],
            row.unit_price,
            row.quantity,
            sku=row.sku,
            options=dict(row.options),
            parent_id=row.parent_id,
        )
        for row in reserved
    ]
    order = _write_order(
        reference=attempt.reference,
        attempt=attempt,
        owner=owner,
        items=items,
        shipping_address=shipping_address,
        placed_at=_placed_at(reserved[0].sales_date),
        cart_lines={item.product_id: item.quantity for item in items} if from_cart else None,
    )
    logger.info("Order %s completed from its reservation by a retry", attempt.reference)
    return PlacedOrder(order=order, status_code=201, body=order_representation(order))


def _replay(record: IdempotencyKey) -> PlacedOrder:
    if record.response_status >= 400:
        raise ReplayedError(record.response_status, record.response_body)
    return PlacedOrder(order=record.order, status_code=record.response_status, body=record.response_body, replayed=True)


def _idempotency_claim(*, user: User, key: str, request_hash: str) -> _Attempt | PlacedOrder:
    """Insert the key row (in progress, leased, with the reference this attempt reserves
    under), or answer as the key says: its stored answer; 409 with Retry-After while another
    attempt holds a live lease; past the lease, take it over (`attempt` + 1).

    The unique constraint (user, key) lets exactly one of concurrent first requests insert;
    the conditional UPDATE on `attempt` lets exactly one of concurrent retries take over."""
    for _ in range(3):
        now = timezone.now()
        # An expired key is as good as absent.
        IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=now - IDEMPOTENCY_TTL).delete()
        reference = uuid.uuid4()
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=user, key=key, request_hash=request_hash, reference=reference, lease_until=now + _lease()
                )
            return _Attempt(key_id=record.pk, key=key, number=record.attempt, reference=reference)
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.select_related("order").filter(user=user, key=key).first()
        if record is None:
            continue  # Removed meanwhile (expired, or by the repair): claim it again.
        if record.request_hash != request_hash:
            raise IdempotencyConflict("This Idempotency-Key was used with a different request.")
        if record.status == IdempotencyKey.Status.COMPLETED:
            return _replay(record)
        if record.lease_until is not None and record.lease_until > now:
            raise IdempotencyInProgress(retry_after=math.ceil((record.lease_until - now).total_seconds()))
        taken = IdempotencyKey.objects.filter(
            pk=record.pk, attempt=record.attempt, status=IdempotencyKey.Status.IN_PROGRESS
        ).update(attempt=F("attempt") + 1, lease_until=now + _lease())
        if taken:
            return _Attempt(
                key_id=record.pk, key=key, number=record.attempt + 1, reference=record.reference, taken_over=True
            )
    raise IdempotencyInProgress(retry_after=1)


def _fenced(attempt: _Attempt):
    return IdempotencyKey.objects.filter(
        pk=attempt.key_id, attempt=attempt.number, status=IdempotencyKey.Status.IN_PROGRESS
    )


def _idempotency_finish(attempt: _Attempt, *, status_code: int, body: dict | None, order: Order | None) -> bool:
    """Store a definite answer for replay, if this attempt still holds the key."""
    if body is None and order is not None:
        body = order_representation(order)
    return bool(
        _fenced(attempt).update(
            status=IdempotencyKey.Status.COMPLETED,
            response_status=status_code,
            response_body=body,
            order=order,
            lease_until=None,
        )
    )


def _idempotency_renew(attempt: _Attempt, reference: uuid.UUID) -> _Attempt:
    """Start afresh under a new reference (the earlier one settled to nothing)."""
    with commits.store(DEFAULT):
        if not _fenced(attempt).update(reference=reference, lease_until=timezone.now() + _lease()):
            raise LeaseLost()
    return _Attempt(key_id=attempt.key_id, key=attempt.key, number=attempt.number, reference=reference)


def _idempotency_release(attempt: _Attempt) -> None:
    """The attempt failed without a definite answer (a store failed): the lease ends now, so
    the client's retry takes the key over at once and settles the reference. Should
    PostgreSQL be the store that failed, the lease simply runs out."""
    try:
        _fenced(attempt).update(lease_until=timezone.now())
    except DatabaseError:
        logger.warning("Idempotency key %s left to its lease", attempt.key_id, exc_info=True)


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
    per product) or the caller's cart (`from_cart`). Staff may order for `user_id`.

    Answers 201 with the pending order and its stock reserved; raises OutOfStock (409,
    nothing reserved), ProductsUnavailable / EmptyCart (400), OrderForbidden (403),
    ServiceUnavailable naming the store that failed (503; nothing ordered, or what may
    have landed is settled by the retry or the repair).

    One cart, one order: the ordered lines leave the cart in the order's own transaction,
    and when a concurrent checkout of the same cart took them first this one raises
    CartChanged (409 `conflict`) with nothing ordered and its stock released.

    With `idempotency_key` (per caller, 24 hours): a repeat of the same request answers the
    first definite answer again (`replayed`; a replayed error is raised again) and creates
    nothing; while the first is still running, IdempotencyInProgress (409, Retry-After);
    the same key with another request raises IdempotencyConflict (409)."""
    owner = _order_owner(actor=user, user_id=user_id)
    arguments = {"owner": owner, "items": items, "from_cart": from_cart, "shipping_address": shipping_address}
    if idempotency_key is None:
        order = _checkout(reference=uuid.uuid4(), **arguments, attempt=None)
        return PlacedOrder(order=order, status_code=201, body=order_representation(order))

    request_hash = hash_of_request(
        user_id=owner.pk, items=items, from_cart=from_cart, shipping_address=shipping_address
    )
    with commits.store(DEFAULT):
        claimed = _idempotency_claim(user=user, key=idempotency_key, request_hash=request_hash)
    if isinstance(claimed, PlacedOrder):
        return claimed
    attempt = claimed
    try:
        if attempt.taken_over:
            resumed = _resume(attempt=attempt, owner=owner, from_cart=from_cart, shipping_address=shipping_address)
            if resumed is not None:
                return resumed
            attempt = _idempotency_renew(attempt, uuid.uuid4())
        order = _checkout(reference=attempt.reference, **arguments, attempt=attempt)
    except LeaseLost:
        raise IdempotencyInProgress(retry_after=1) from None
    except ApplicationError as exc:
        if exc.status_code >= 500:
            _idempotency_release(attempt)
        else:
            # A definite answer (out of stock, a product not for sale): repeats get it too.
            with commits.store(DEFAULT):
                _idempotency_finish(
                    attempt,
                    status_code=exc.status_code,
                    body={"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
                    order=None,
                )
        raise
    except BaseException:
        _idempotency_release(attempt)
        raise
    return PlacedOrder(order=order, status_code=201, body=order_representation(order))


# --- moving --------------------------------------------------------------------------


def order_stock_return(order: Order) -> bool:
    """Cancelled: reserved units back to `quantity`, the sale moved to the cancelled part of
    its day, in one MySQL transaction. Exactly once: stock_release moves only rows still
    reserved, under their lock, so a second call finds nothing to do (answers False)."""

    def release() -> bool:
        released = inventory_services.stock_release(order_reference=order.reference)
        _record_sale(released, SaleEvent.CANCELLED)
        return bool(released)

    return commits.commit(MYSQL, release)


def order_stock_sell(order: Order) -> bool:
    """Shipped: reserved units become sold ones (`reserved -= n`), exactly once."""
    return commits.commit(MYSQL, lambda: bool(inventory_services.stock_commit(order_reference=order.reference)))


_STOCK_MOVES = {Order.Status.CANCELLED: order_stock_return, Order.Status.SHIPPED: order_stock_sell}


def _stock_follow(order: Order) -> None:
    """The stock follows a status change. The move is exactly-once and idempotent, so a
    second run on a fresh connection settles a lost COMMIT answer (it finds the rows moved)
    or does the move; should MySQL still fail, reconcile_orders moves it later."""
    move = _STOCK_MOVES.get(order.status)
    if move is None:
        return
    for _ in range(2):
        try:
            move(order)
            return
        except (CommitLost, ServiceUnavailable, DatabaseError):
            commits.reconnect(MYSQL)
    logger.warning("Stock of order %s left for reconcile_orders", order.pk)


def order_status_change(*, order: Order, status: str, actor: User | None = None) -> Order:
    """Move an order along pending → paid | cancelled, paid → shipped | cancelled,
    shipped → delivered; anything else raises InvalidTransition (409).

    The status is changed first, in PostgreSQL, by a conditional UPDATE ... WHERE status =
    <the status we judged>, with the on_order_changed hooks in the same transaction: of two
    changes racing from one state only one matches the row; the other re-reads and is judged
    again against the new state. A lost COMMIT answer is settled by the transaction's id
    (ServiceUnavailable when it did not land or cannot be known). The stock then follows in
    MySQL (cancel: back to quantity; ship: sold); should MySQL fail, the new status stands
    and reconcile_orders moves the stock later."""
    for _ in range(5):
        current = order.status
        if status not in TRANSITIONS.get(current, ()):
            raise InvalidTransition(current, status)
        changes = {"status": status, "updated_at": timezone.now()}
        if status == Order.Status.CANCELLED:
            changes["cancel_reason"] = (
                Order.CancelReason.STAFF if actor is not None and is_staff(actor) else Order.CancelReason.CUSTOMER
            )

        def change(current=current, changes=changes) -> bool:
            if not Order.objects.filter(pk=order.pk, status=current).update(**changes):
                return False
            for field, value in changes.items():
                setattr(order, field, value)
            _order_changed(order, STATUS_EVENTS[status], current)
            return True

        try:
            changed = commits.commit(DEFAULT, change, settle=True)
        except CommitLost as lost:
            if commits.outcome(lost) != Outcome.COMMITTED:
                raise ServiceUnavailable("postgres") from None
            changed = True
        if changed:
            break
        with commits.store(DEFAULT):
            order.refresh_from_db(fields=["status", "updated_at"])
    else:
        raise InvalidTransition(order.status, status)
    _stock_follow(order)
    return order


def order_cancel(*, order: Order, actor: User | None = None) -> Order:
    """Cancel a pending or paid order (else InvalidTransition); its stock returns exactly once."""
    return order_status_change(order=order, status=Order.Status.CANCELLED, actor=actor)


def order_cancel_unreserved(*, order_id: int) -> bool:
    """The repair's cancellation of an open order that holds no stock (reason
    `stock_not_reserved`), published like any other; False when it moved on meanwhile."""
    with transaction.atomic():
        # Locked and re-checked: an order moved meanwhile (say, shipped) is left as it is.
        order = Order.objects.select_for_update().filter(pk=order_id, status__in=selectors.OPEN_STATUSES).first()
        if order is None:
            return False
        previous = order.status
        order.status = Order.Status.CANCELLED
        order.cancel_reason = Order.CancelReason.STOCK_NOT_RESERVED
        order.save(update_fields=["status", "cancel_reason", "updated_at"])
        _order_changed(order, "cancelled", previous)
    return True


def reservation_void(*, reference: uuid.UUID) -> bool:
    """The repair's release of a reservation whose order never stood (stock back, sale
    uncounted); False when there was nothing left to release."""
    return _reservation_void(reference)
