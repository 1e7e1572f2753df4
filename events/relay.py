"""The relay: delivers pending deliveries to their webhooks, at least once, signed.

One loop per process (`manage.py deliver_events`), several processes may run at once:

1. claim: in one short transaction, `SELECT … FOR UPDATE SKIP LOCKED` the due pending
   deliveries (skipping webhooks this relay is already busy with), and stamp each with a
   lease (`lease_until`, `lease_token`). Other relays skip the locked rows while the claim
   runs, and skip leased rows after it commits: no delivery is sent by two relays at once
   while its lease holds (the lease outlasts the 10 s timeout by far).
2. send: outside any transaction, on a thread pool, signed per Standard Webhooks.
3. record: in one transaction, and only if the lease is still ours, settle the row
   (succeeded / failed) and, on failure, add the next attempt with exponential backoff and
   jitter, up to EVENTS_MAX_ATTEMPTS.

A relay killed between 1 and 3 leaves a leased pending row: once the lease expires any relay
claims it again and sends the same event (same id) once more — the only duplicate possible.
SIGTERM/SIGINT stop claiming, let the sends in flight finish and record them, and exit.

With a `heartbeat` file the loop touches it on every turn (a failed claim included: a
database outage is not the relay's fault), so a liveness probe can tell a relay stuck for
good (say on a frozen connection) from one with nothing to send.
"""

import json
import logging
import random
import signal
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Signer

from events import metrics, outbound, services
from events.models import Delivery, Event, Webhook

logger = logging.getLogger(__name__)


# The claim, per active webhook: its oldest due deliveries (up to its share) whose event has
# its feed number and that no live lease holds, locked with SKIP LOCKED so concurrent relays
# take different rows; then round-robin over webhooks (every webhook's first row, then the
# seconds), shuffled within a round so no webhook is always served first.
_CLAIM_SQL = """
SELECT due.id FROM {webhook} AS webhook
CROSS JOIN LATERAL (
    SELECT delivery.id, row_number() OVER (ORDER BY delivery.next_attempt_at, delivery.id) AS round
    FROM (
        SELECT delivery.id, delivery.next_attempt_at FROM {delivery} AS delivery
        WHERE delivery.webhook_id = webhook.id AND delivery.status = 'pending'
          AND delivery.next_attempt_at <= %(now)s
          AND (delivery.lease_until IS NULL OR delivery.lease_until < %(now)s)
          AND EXISTS (SELECT 1 FROM {event} AS event WHERE event.id = delivery.event_id AND event.sequence IS NOT NULL)
        ORDER BY delivery.next_attempt_at, delivery.id
        LIMIT %(share)s
        FOR UPDATE OF delivery SKIP LOCKED
    ) AS delivery
) AS due
WHERE webhook.is_active AND NOT (webhook.id = ANY(%(full)s))
ORDER BY due.round, random()
LIMIT %(limit)s
"""
_CLAIM_SQL_SQLITE = """
SELECT delivery.id FROM {delivery} AS delivery JOIN {event} AS event ON event.id = delivery.event_id
WHERE delivery.status = 'pending' AND delivery.next_attempt_at <= %s AND event.sequence IS NOT NULL
  AND (delivery.lease_until IS NULL OR delivery.lease_until < %s)
ORDER BY delivery.next_attempt_at, delivery.id
LIMIT %s
"""


def backoff_seconds(attempt: int) -> float:
    """The wait after failed attempt `attempt` (1-based): base × 4^(attempt-1), ±20 % jitter.

    With the default 10 s base, 8 attempts span about 15 hours (10 s, 40 s, 2.7 min, 11 min,
    43 min, 2.8 h, 11 h). Jitter spreads retries of many deliveries failing together; ±20 %
    around a factor of 4 keeps every wait longer than the one before."""
    return settings.EVENTS_RETRY_BASE_SECONDS * 4 ** (attempt - 1) * random.uniform(0.8, 1.2)


def event_body(event) -> bytes:
    """The JSON a receiver gets: the same bytes on every attempt of one event."""
    return json.dumps(
        {
            "id": str(event.uuid),
            "sequence": event.sequence,
            "type": event.type,
            "created_at": event.created_at,
            "data": event.data,
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    ).encode()


def signed_headers(*, event_id: str, body: bytes, secrets: list[str]) -> dict[str, str]:
    """Standard Webhooks headers; during a secret's overlap, one signature per secret."""
    now = timezone.now()
    signatures = [Signer(secret).sign(msg_id=event_id, timestamp=now, data=body.decode()) for secret in secrets]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


@dataclass
class Relay:
    """One relay process's loop. `workers` sends run at once; at most `per_webhook` of them
    go to one webhook, so a slow or dead endpoint holds a few threads, never all of them."""

    workers: int = 8
    per_webhook: int = 2
    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    heartbeat: Path | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self):
        self._in_flight: dict[Future, int] = {}  # future → webhook id
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"relay-{self.name}")

    # --- claiming ---------------------------------------------------------------

    def _share(self) -> dict[int, int]:
        """How many more sends each webhook may have from this relay (absent: the full share)."""
        in_flight: dict[int, int] = {}
        for webhook_id in self._in_flight.values():
            in_flight[webhook_id] = in_flight.get(webhook_id, 0) + 1
        return {webhook_id: max(0, self.per_webhook - n) for webhook_id, n in in_flight.items()}

    def claim(self, limit: int) -> list[Delivery]:
        """Lease up to `limit` due deliveries (see the module's docstring), fairly: every
        webhook with something due gets its first one before any gets a second, so the
        backlog of a dead endpoint never starves the others."""
        now = timezone.now()
        token = uuid.uuid4()
        share = self._share()
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    _CLAIM_SQL.format(
                        delivery=Delivery._meta.db_table, webhook=Webhook._meta.db_table, event=Event._meta.db_table
                    ),
                    {
                        "now": now,
                        "share": self.per_webhook,
                        "limit": limit * 2,
                        "full": [k for k, v in share.items() if not v],
                    },
                )
            else:
                # SQLite (the embedded default): one writer at a time, no row locks to skip.
                cursor.execute(
                    _CLAIM_SQL_SQLITE.format(delivery=Delivery._meta.db_table, event=Event._meta.db_table),
                    [now, now, limit * 2],
                )
            rows = [row[0] for row in cursor.fetchall()]
            if not rows:
                return []
            claimed = []
            for delivery in Delivery.objects.filter(id__in=rows).select_related("webhook", "event"):
                left = share.get(delivery.webhook_id, self.per_webhook)
                if left <= 0 or len(claimed) >= limit or not delivery.webhook.is_active:
                    continue
                share[delivery.webhook_id] = left - 1
                claimed.append(delivery)
            Delivery.objects.filter(id__in=[d.id for d in claimed]).update(
                lease_until=now + timedelta(seconds=self.lease_seconds), lease_token=token
            )
        for delivery in claimed:
            delivery.lease_token = token
        return claimed

    # --- sending and recording ------------------------------------------------------

    def send(self, delivery: Delivery) -> None:
        """Send one claimed delivery and record the outcome (runs on a pool thread)."""
        try:
            webhook, event = delivery.webhook, delivery.event
            body = event_body(event)
            headers = signed_headers(
                event_id=str(event.uuid), body=body, secrets=services.webhook_signing_secrets(webhook=webhook)
            )
            delivery.attempted_at = timezone.now()
            outcome = outbound.post(webhook.url, body=body, headers=headers)
            self.record(delivery, outcome)
        except Exception:
            # The lease expires and the delivery is tried again; never lose the thread silently.
            logger.exception("Delivery %s failed unexpectedly", delivery.pk)
        finally:
            close_old_connections()

    def record(self, delivery: Delivery, outcome: outbound.Outcome) -> None:
        now = timezone.now()
        retry = not outcome.ok and delivery.attempt < settings.EVENTS_MAX_ATTEMPTS
        next_at = now + timedelta(seconds=backoff_seconds(delivery.attempt)) if retry else None
        with transaction.atomic():
            settled = Delivery.objects.filter(
                pk=delivery.pk, status=Delivery.Status.PENDING, lease_token=delivery.lease_token
            ).update(
                status=Delivery.Status.SUCCEEDED if outcome.ok else Delivery.Status.FAILED,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                error=outcome.error[:500],
                attempted_at=delivery.attempted_at,
                delivered_at=now if outcome.ok else None,
                next_attempt_at=next_at,
                lease_until=None,
            )
            if not settled:
                # Our lease ran out and another relay took the row over: its outcome counts.
                logger.warning("Delivery %s: lease lost, outcome dropped", delivery.pk)
                return
            if retry:
                Delivery.objects.create(
                    webhook_id=delivery.webhook_id,
                    event_id=delivery.event_id,
                    attempt=delivery.attempt + 1,
                    next_attempt_at=next_at,
                )
        metrics.DELIVERY_ATTEMPTS.labels("succeeded" if outcome.ok else "failed").inc()
        log = logger.info if outcome.ok else logger.warning
        log(
            "delivery",
            extra={
                "delivery_id": delivery.pk,
                "event_id": str(delivery.event.uuid),
                "webhook_id": delivery.webhook_id,
                "attempt": delivery.attempt,
                "status_code": outcome.status_code,
                "duration_ms": outcome.duration_ms,
                "error": outcome.error,
                "next_attempt_at": next_at.isoformat() if next_at else None,
            },
        )

    # --- the loop -----------------------------------------------------------------

    def _reap(self) -> None:
        for future in [future for future in self._in_flight if future.done()]:
            del self._in_flight[future]

    def run_once(self) -> tuple[int, int]:
        """Claim what fits in the free threads and start sending it; answers (claimed, free)."""
        self._reap()
        services.events_number()
        free = self.workers - len(self._in_flight)
        if free <= 0:
            return 0, 0
        claimed = self.claim(free)
        for delivery in claimed:
            self._in_flight[self._pool.submit(self.send, delivery)] = delivery.webhook_id
        return len(claimed), free

    def _pause(self) -> None:
        if self._in_flight:
            # Claim again as soon as a send finishes (a thread, or a webhook's share, is free).
            wait(list(self._in_flight), timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
        else:
            self.stopping.wait(self.poll_seconds)

    def _beat(self) -> None:
        if self.heartbeat is not None:
            try:
                self.heartbeat.touch()
            except OSError:
                logger.warning("relay %s: cannot touch its heartbeat file %s", self.name, self.heartbeat)

    def run(self) -> None:
        logger.info("relay %s started (%s workers)", self.name, self.workers)
        try:
            while not self.stopping.is_set():
                try:
                    claimed, free = self.run_once()
                except Exception:
                    # A database outage: wait and try again, the deliveries are safe in it.
                    logger.exception("relay %s: claim failed", self.name)
                    connection.close()
                    claimed, free = 0, 1
                self._beat()
                if claimed < free or free == 0:
                    self._pause()
        finally:
            # Graceful stop: no new claims; the sends in flight finish and are recorded.
            self._pool.shutdown(wait=True)
            logger.info("relay %s stopped", self.name)

    def install_signal_handlers(self) -> None:
        def stop(signum, _frame):
            logger.info("relay %s: signal %s, stopping after the deliveries in flight", self.name, signum)
            self.stopping.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
