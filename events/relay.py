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

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as Signer

from events import metrics, outbound, services
from events.models import Delivery

logger = logging.getLogger(__name__)


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
    stopping: threading.Event = field(default_factory=threading.Event)
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self):
        self._in_flight: dict[Future, int] = {}  # future → webhook id
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"relay-{self.name}")

    # --- claiming ---------------------------------------------------------------

    def _busy_webhooks(self) -> list[int]:
        counts: dict[int, int] = {}
        for webhook_id in self._in_flight.values():
            counts[webhook_id] = counts.get(webhook_id, 0) + 1
        return [webhook_id for webhook_id, n in counts.items() if n >= self.per_webhook]

    def claim(self, limit: int) -> list[Delivery]:
        """Lease up to `limit` due deliveries (see the module's docstring)."""
        now = timezone.now()
        token = uuid.uuid4()
        with transaction.atomic():
            rows = list(
                Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                # A paused webhook's deliveries wait for it to be active again.
                .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now, webhook__is_active=True)
                # Sent with its feed number: an event goes out once it has one.
                .filter(event__sequence__isnull=False)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .exclude(webhook_id__in=self._busy_webhooks())
                .order_by("next_attempt_at", "id")
                .values_list("id", flat=True)[: limit * 2]
            )
            if not rows:
                return []
            claimed = []
            per_webhook: dict[int, int] = {}
            for delivery in (
                Delivery.objects.filter(id__in=rows)
                .select_related("webhook", "event")
                .order_by("next_attempt_at", "id")
            ):
                busy = per_webhook.get(delivery.webhook_id, 0) + sum(
                    1 for webhook_id in self._in_flight.values() if webhook_id == delivery.webhook_id
                )
                if busy >= self.per_webhook or len(claimed) >= limit:
                    continue
                per_webhook[delivery.webhook_id] = per_webhook.get(delivery.webhook_id, 0) + 1
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
