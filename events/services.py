"""Writes on events and webhooks: the outbox, the hooks that feed it, subscriptions, repairs.

How each kind of event is made at-least-once without a transaction across stores:

- Order events (PostgreSQL) are written by a hook orders runs inside the transaction that
  changes the order: the event commits with the change or not at all.
- Product events follow a MongoDB write, stock.low a MySQL commit. Each is written after
  that store's write succeeded, under a deterministic `dedupe_key` (the product's id and
  updated_at, the stock row's id and updated_at). A process dying between the two leaves
  the change without its event; `manage.py repair_events` (cron, every few minutes)
  re-derives the events the stores' current state implies and inserts those whose key is
  missing, so nothing is lost and nothing is written twice.

Every event is written with its deliveries (one pending row per active webhook that wants
its type), in the same transaction: the relay never has to fan out.
"""

import json
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connections, transaction
from django.db.models import Max
from django.utils import timezone

from catalog import selectors as catalog_selectors
from ecommerce.api.exceptions import ValidationFailed
from events import crypto, metrics, outbound, payloads, selectors
from events.exceptions import DeliveryNotFound, WebhookNotFound
from events.models import Delivery, Event, Webhook
from inventory import selectors as inventory_selectors
from orders.models import Order

logger = logging.getLogger(__name__)

EVENT_TYPES = (
    "order.created",
    "order.paid",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "payment.captured",
    "refund.succeeded",
    "product.created",
    "product.updated",
    "product.deleted",
    "stock.low",
)
SECRET_OVERLAP = timedelta(hours=24)


# --- the outbox ----------------------------------------------------------------------


# The whole write on PostgreSQL, in one statement: one round trip inside the caller's
# transaction, which is what an order pays for its event. It inserts the event (without
# its feed number, see events_number) and one pending delivery per active webhook whose
# patterns match the type; an event already written under the same dedupe key makes it
# insert nothing. It takes no lock: concurrent writers never wait on each other.
_WRITE_SQL = """
WITH event AS (
    INSERT INTO {event} (uuid, type, data, order_id, dedupe_key, created_at)
    VALUES (%(uuid)s, %(type)s, %(data)s, %(order_id)s, %(dedupe_key)s, %(now)s)
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
),
deliveries AS (
    INSERT INTO {delivery} (webhook_id, event_id, attempt, status, next_attempt_at, error, created_at)
    SELECT webhook.id, event.id, 1, 'pending', %(now)s, '', %(now)s
    FROM {webhook} AS webhook, event
    WHERE webhook.is_active AND (webhook.events ? %(type)s OR webhook.events ? %(family)s OR webhook.events ? '*')
)
SELECT id FROM event
"""

# Numbering (PostgreSQL). A sequence number drawn at insert would become visible at commit,
# out of order: T1 takes 5, T2 takes 6 and commits, a reader pages past 6, then T1 commits 5
# and the reader never sees it. Serializing writers until their commit would fix that at the
# price of every order's commit waiting for the previous one. Instead, events are numbered
# after they commit: one numberer at a
# time (a transaction-level advisory lock, tried, never waited for) gives the committed
# events it sees the numbers after the highest one given, and commits. The next numberer's
# statement starts after that commit, so it sees those numbers and continues above them:
# numbers are only ever appended. The highest number is never pruned, so they only grow.
NUMBERING_LOCK = 0x6576656E7473  # "events"
_NUMBER_SQL = """
UPDATE {event} AS event SET sequence = todo.base + todo.position
FROM (
    SELECT id,
           row_number() OVER (ORDER BY id) AS position,
           (SELECT coalesce(max(sequence), 0) FROM {event}) AS base
    FROM {event}
    WHERE sequence IS NULL
    ORDER BY id
    LIMIT %(batch)s
) AS todo
WHERE event.id = todo.id
"""


def _write_postgresql(event: Event) -> int | None:
    sql = _WRITE_SQL.format(
        event=Event._meta.db_table, delivery=Delivery._meta.db_table, webhook=Webhook._meta.db_table
    )
    params = {
        "uuid": event.uuid,
        "type": event.type,
        "data": json.dumps(event.data, cls=DjangoJSONEncoder),
        "order_id": event.order_id,
        "dedupe_key": event.dedupe_key,
        "now": event.created_at,
        "family": event.type.split(".")[0] + ".*",
    }
    with connections["default"].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _write_orm(event: Event) -> int | None:
    """The same write for SQLite (the embedded default). SQLite runs one writing transaction
    at a time, so numbering at insert is numbering in commit order."""
    with transaction.atomic():
        if event.dedupe_key is not None and Event.objects.filter(dedupe_key=event.dedupe_key).exists():
            return None
        event.sequence = (Event.objects.aggregate(last=Max("sequence"))["last"] or 0) + 1
        event.save(force_insert=True)
        webhooks = [
            webhook.pk
            for webhook in Webhook.objects.filter(is_active=True).only("pk", "events")
            if webhook.wants(event.type)
        ]
        Delivery.objects.bulk_create(
            [Delivery(webhook_id=pk, event=event, next_attempt_at=event.created_at) for pk in webhooks]
        )
    return event.pk


def event_write(*, type: str, data: dict, order_id: int | None = None, dedupe_key: str | None = None) -> Event | None:
    """Write an event and its pending deliveries, in the caller's PostgreSQL transaction (or,
    outside one, as one statement that is its own transaction). It gets its `sequence` once
    it committed (events_number). With `dedupe_key`, an event already written under it
    makes this a no-op (answers None). Raises nothing of its own: a database error rolls
    the caller back."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    event = Event(
        uuid=uuid.uuid4(), type=type, data=data, order_id=order_id, dedupe_key=dedupe_key, created_at=timezone.now()
    )
    if connections["default"].vendor == "postgresql":
        event.pk = _write_postgresql(event)
    else:
        event.pk = _write_orm(event)
    if event.pk is None:
        return None
    transaction.on_commit(lambda: metrics.EVENTS_WRITTEN.labels(type).inc())
    return event


def events_number(*, batch: int = 5000) -> int:
    """Give feed numbers to the committed events that have none (see _NUMBER_SQL); answers
    how many. Cheap when there is nothing to do; the relay runs it every poll and the feed
    before each read. Another numberer at work makes this a no-op."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return 0  # numbered at insert
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [NUMBERING_LOCK])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(_NUMBER_SQL.format(event=Event._meta.db_table), {"batch": batch})
        return cursor.rowcount


def events_feed_read(*, after: int = 0, limit: int = 100, type: str | None = None) -> list[Event]:
    """The feed as of now: what committed meanwhile is numbered first, so the feed never waits
    for the relay; then selectors.event_feed."""
    events_number()
    return selectors.event_feed(after=after, limit=limit, type=type)


def order_event_record(order: Order, event: str, previous_status: str | None) -> None:
    """orders.services.on_order_changed hook: runs inside the order's transaction."""
    event_write(type=f"order.{event}", data=payloads.order_payload(order), order_id=order.pk)


def _after_other_store(type: str, data: dict, dedupe_key: str) -> None:
    """An event after another store's commit: a failure here loses nothing (repair_events
    writes it from the store's state) and must not fail the request whose change stands."""
    try:
        event_write(type=type, data=data, dedupe_key=dedupe_key)
    except DatabaseError:
        logger.exception("Event %s not written; repair_events will write it", dedupe_key)


def _product_key(change: str, product) -> str:
    if change == "created":
        return f"product.created:{product.id}"
    # updated_at changes on every update (and not on rating counts): one key per change.
    return f"product.updated:{product.id}:{product.updated_at.isoformat()}"


def product_event_record(product_id: str, change: str) -> None:
    """catalog.services.on_product_changed hook: runs after the MongoDB write."""
    if change == "deleted":
        _after_other_store("product.deleted", {"id": product_id}, f"product.deleted:{product_id}")
        return
    # A parent too (its price is its cheapest variant's): subscribers hear of every product.
    found = catalog_selectors.products_get_many(product_ids=[product_id], include_parents=True)
    product = found.get(product_id)
    if product is None:
        return  # deleted meanwhile: its product.deleted follows
    _after_other_store(f"product.{change}", payloads.product_payload(product), _product_key(change, product))


def _stock_key(row) -> str:
    return f"stock.low:{row.product_id}:{row.updated_at.isoformat()}"


def stock_low_record(product_ids: list[str]) -> None:
    """inventory.services.on_stock_low hook: runs after the MySQL commit."""
    for row in inventory_selectors.inventory_low_stock().filter(product_id__in=product_ids):
        _after_other_store("stock.low", payloads.stock_payload(row), _stock_key(row))


def _products_changed_since(cutoff):
    """Products, variants included, created or updated since `cutoff`. The catalog has no
    index on updated_at for this, so the listing is read in pages of 500 with the variants of
    the page's parents (a repair job's cost, not a request's)."""
    listing = catalog_selectors.product_list(include_inactive=True, sort="-created_at")
    offset = 0
    while page := listing[offset : offset + 500]:
        yield from (product for product in page if product.updated_at >= cutoff)
        parents = [product.id for product in page if product.kind == catalog_selectors.PARENT]
        if parents:
            variants = catalog_selectors.variants_of(parent_ids=parents)
            yield from (variant for variant in variants if variant.updated_at >= cutoff)
        offset += len(page)


def events_repair(*, since: timedelta = timedelta(hours=24)) -> dict[str, int]:
    """Write the product and stock.low events that a crash after the other store's commit
    left unwritten, for changes in the last `since`. Idempotent (dedupe keys): safe from
    cron at any time, beside live traffic. Answers how many events it wrote, by type."""
    cutoff = timezone.now() - since
    written = {"product.created": 0, "product.updated": 0, "product.deleted": 0, "stock.low": 0}
    known_products: set[str] = set()

    for product in _products_changed_since(cutoff):
        known_products.add(product.id)
        changes = ["created"] if product.created_at >= cutoff else []
        if product.updated_at > product.created_at:
            changes.append("updated")
        for change in changes:
            key = _product_key(change, product)
            if event_write(type=f"product.{change}", data=payloads.product_payload(product), dedupe_key=key):
                written[f"product.{change}"] += 1

    # Products with recent events that are gone from the catalog and have no product.deleted.
    mentioned = set(
        Event.objects.filter(type__in=("product.created", "product.updated"), created_at__gte=cutoff)
        .values_list("data__id", flat=True)
        .distinct()
    )
    candidates = sorted(mentioned - known_products)
    if candidates:
        existing = set(catalog_selectors.products_get_many(product_ids=candidates))
        for product_id in candidates:
            if product_id not in existing and event_write(
                type="product.deleted", data={"id": product_id}, dedupe_key=f"product.deleted:{product_id}"
            ):
                written["product.deleted"] += 1

    for row in inventory_selectors.inventory_low_stock().filter(updated_at__gte=cutoff):
        if event_write(type="stock.low", data=payloads.stock_payload(row), dedupe_key=_stock_key(row)):
            written["stock.low"] += 1
    if any(written.values()):
        logger.warning("repair_events wrote missing events: %s", written)
    return written


def events_prune(*, days: int | None = None, batch: int = 1000) -> dict[str, int]:
    """Delete events older than `days` (EVENTS_RETENTION_DAYS) with their deliveries, in
    short batches; an event with a delivery still pending is kept until it is settled."""
    days = settings.EVENTS_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - timedelta(days=days)
    removed = {"events": 0, "deliveries": 0}
    # The highest number stays, whatever its age: numbering continues from it.
    last = Event.objects.filter(sequence__isnull=False).order_by("-sequence").values_list("pk", flat=True).first()
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(created_at__lt=cutoff)
                .exclude(pk=last)
                .exclude(deliveries__status=Delivery.Status.PENDING)
                .order_by("id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                break
            removed["deliveries"] += Delivery.objects.filter(event_id__in=ids).delete()[0]
            removed["events"] += Event.objects.filter(pk__in=ids).delete()[0]
    return removed


# --- webhooks ------------------------------------------------------------------------


def _check_patterns(patterns: list[str]) -> list[str]:
    prefixes = {event_type.split(".")[0] for event_type in EVENT_TYPES}
    bad = [
        pattern
        for pattern in patterns
        if not (pattern == "*" or pattern in EVENT_TYPES or (pattern.endswith(".*") and pattern[:-2] in prefixes))
    ]
    if bad or not patterns:
        raise ValidationFailed(
            details={"events": [f"Unknown event types: {', '.join(bad)}." if bad else "At least one event type."]}
        )
    return sorted(set(patterns))


def webhook_create(*, url: str, events: list[str], description: str = "") -> tuple[Webhook, str]:
    """Subscribe `url` to `events` (types or "prefix.*"); answers the webhook and its secret,
    which is stored encrypted and shown only now (and on rotation). A URL that resolves to a
    loopback, private or link-local address is refused (WebhookUrlRefused) unless
    WEBHOOKS_ALLOW_PRIVATE."""
    outbound.resolve(url)
    secret = crypto.secret_generate()
    webhook = Webhook.objects.create(
        url=url,
        events=_check_patterns(events),
        description=description,
        secret_encrypted=crypto.secret_encrypt(secret),
    )
    return webhook, secret


def webhook_update(*, webhook_id: int, data: dict) -> Webhook:
    """Change `url`, `events`, `is_active`, `description` (only those given)."""
    webhook = selectors.webhook_get(webhook_id=webhook_id)
    if "url" in data:
        outbound.resolve(data["url"])
    if "events" in data:
        data = {**data, "events": _check_patterns(data["events"])}
    fields = [name for name in ("url", "events", "is_active", "description") if name in data]
    for name in fields:
        setattr(webhook, name, data[name])
    if fields:
        webhook.save(update_fields=[*fields, "updated_at"])
    return webhook


def webhook_delete(*, webhook_id: int) -> None:
    """Remove the webhook and its deliveries log (pending deliveries are not sent)."""
    deleted, _ = Webhook.objects.filter(pk=webhook_id).delete()
    if not deleted:
        raise WebhookNotFound()


def webhook_rotate_secret(*, webhook_id: int) -> tuple[Webhook, str]:
    """A new secret, answered once; the current one keeps signing beside it for 24 hours, so
    receivers can switch without losing a delivery."""
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().filter(pk=webhook_id).first()
        if webhook is None:
            raise WebhookNotFound()
        secret = crypto.secret_generate()
        webhook.previous_secret_encrypted = webhook.secret_encrypted
        webhook.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        webhook.secret_encrypted = crypto.secret_encrypt(secret)
        webhook.save(
            update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_expires_at", "updated_at"]
        )
    return webhook, secret


def webhook_signing_secrets(*, webhook: Webhook) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one
    during its 24-hour overlap."""
    secrets = [crypto.secret_decrypt(webhook.secret_encrypted)]
    if webhook.previous_secret_encrypted and webhook.previous_secret_expires_at > timezone.now():
        secrets.append(crypto.secret_decrypt(webhook.previous_secret_encrypted))
    return secrets


def delivery_redeliver(*, webhook_id: int, delivery_id: int) -> Delivery:
    """Send the delivery's event again (same event id), starting over at attempt 1 now. A
    delivery of that event already waiting is made due now instead of adding another."""
    with transaction.atomic():
        delivery = Delivery.objects.filter(pk=delivery_id, webhook_id=webhook_id).first()
        if delivery is None:
            raise DeliveryNotFound()
        now = timezone.now()
        waiting = (
            Delivery.objects.select_for_update()
            .filter(webhook_id=webhook_id, event_id=delivery.event_id, status=Delivery.Status.PENDING)
            .first()
        )
        if waiting is not None:
            waiting.next_attempt_at = now
            waiting.save(update_fields=["next_attempt_at"])
            return waiting
        return Delivery.objects.create(
            webhook_id=webhook_id, event_id=delivery.event_id, attempt=1, next_attempt_at=now
        )
