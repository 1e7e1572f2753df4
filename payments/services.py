"""Taking and giving back money. Every change to a payment's amounts is a conditional UPDATE
or happens under the payment's row lock, and is written in the same PostgreSQL transaction
as what follows from it (the order marked paid, a refund reserved, the webhook recorded).

Locks are always taken in one order: the order row, then the payment row, then a refund row
(cancelling an order locks the order first, then its hook locks the payments; a webhook does
the same), so two paths never wait on each other in a circle.

No transaction spans a call to the provider: a refund is reserved in the ledger (counted in
`refund_reserved`, so nothing else can promise the same money), committed, then asked of the
provider; a refusal releases it, an unknown outcome keeps it reserved until a webhook or
`reconcile_payments` settles it.
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ecommerce.api.exceptions import ApplicationError, NotFoundError, ValidationFailed
from ecommerce.api.idempotency import IdempotencyConflict, ReplayedError, hash_of_request
from events import services as event_services
from orders import selectors as order_selectors
from orders import services as order_services
from payments import providers, selectors
from payments.exceptions import (
    InvalidWebhook,
    OrderNotPayable,
    PaymentInProgress,
    PaymentNotFound,
    PaymentProviderError,
    ProviderUnavailable,
    RefundExceedsCaptured,
)
from payments.models import IdempotencyKey, Payment, Refund, WebhookEvent
from payments.providers.base import (
    EventKind,
    PaymentProvider,
    ProviderEvent,
    ProviderRefused,
    ProviderUnreachable,
    SignatureError,
)
from payments.providers.simulated import SIMULATED_EVENTS
from payments.serializers import payment_representation, refund_representation

logger = logging.getLogger(__name__)

IDEMPOTENCY_TTL = timedelta(hours=24)
# How long a provider answers a repeated request with the first answer (Stripe: 24 hours), with
# a margin: a refund left unanswered longer is never asked again.
PROVIDER_IDEMPOTENCY_WINDOW = timedelta(hours=23)
# How long a repeat waits for the first request with its key to finish before a 409.
IDEMPOTENCY_WAIT_SECONDS = 10.0
# Payments that still count as the order's one payment.
LIVE_STATUSES = [
    Payment.Status.REQUIRES_CONFIRMATION,
    Payment.Status.AUTHORIZED,
    Payment.Status.CAPTURED,
    Payment.Status.PARTIALLY_REFUNDED,
    Payment.Status.REFUNDED,
]
UNCAPTURED_OPEN = (Payment.Status.REQUIRES_CONFIRMATION, Payment.Status.AUTHORIZED)
REASON_ORDER_CANCELLED = "order_cancelled"
REASON_NOT_AWAITED = "order_not_awaiting_payment"


@dataclass(frozen=True)
class Outcome:
    """What a create answers: the object, and whether it is the replay of an earlier request."""

    obj: Payment | Refund
    replayed: bool = False


@dataclass(frozen=True)
class WebhookOutcome:
    event_id: str
    applied: bool
    replayed: bool


def _provider(name: str) -> PaymentProvider:
    provider = providers.get(name)
    if provider is None:
        raise ProviderUnavailable(name)
    return provider


def _status(payment: Payment) -> str:
    """The status its amounts give a payment that took money."""
    if payment.captured > 0:
        if payment.refunded >= payment.captured:
            return Payment.Status.REFUNDED
        if payment.refunded > 0:
            return Payment.Status.PARTIALLY_REFUNDED
        return Payment.Status.CAPTURED
    return payment.status


def _save(payment: Payment, *fields: str) -> None:
    payment.updated_at = timezone.now()
    payment.save(update_fields=[*fields, "updated_at"])


def _order_lock(order_id: int):
    """The order row, locked: taken before any payment row (see the module docstring)."""
    return order_selectors.order_list().filter(pk=order_id).select_for_update(of=("self",)).get()


# --- idempotency ---------------------------------------------------------------------


def _replay(record: IdempotencyKey) -> Outcome:
    if record.response_status >= 400:
        raise ReplayedError(record.response_status, record.error_body)
    if record.refund_id is not None:
        return Outcome(Refund.objects.get(pk=record.refund_id), replayed=True)
    return Outcome(Payment.objects.get(pk=record.payment_id), replayed=True)


def _idempotency_claim(*, user, key: str, request_hash: str) -> IdempotencyKey | Outcome:
    """Insert the key (in progress) in its own transaction, or answer as the key says: the
    unique (user, key) lets one of concurrent first requests in; the others wait for its
    answer and replay it (409 if it takes too long)."""
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
    while True:
        IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, request_hash=request_hash)
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # the first request gave its key up: claim it again
        if record.request_hash != request_hash:
            raise IdempotencyConflict("This Idempotency-Key was used with a different request.")
        if record.status == IdempotencyKey.Status.COMPLETED:
            return _replay(record)
        if time.monotonic() > deadline:
            raise IdempotencyConflict("A request with this Idempotency-Key is still being processed; retry later.")
        time.sleep(0.05)


def _idempotent(*, user, key: str | None, request_hash: str, work: Callable[[], Payment | Refund]) -> Outcome:
    if key is None:
        return Outcome(work())
    claimed = _idempotency_claim(user=user, key=key, request_hash=request_hash)
    if isinstance(claimed, Outcome):
        return claimed
    try:
        obj = work()
    except ApplicationError as exc:
        if exc.status_code >= 500:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
        else:
            # A definite answer: repeats get it too.
            IdempotencyKey.objects.filter(pk=claimed.pk).update(
                status=IdempotencyKey.Status.COMPLETED,
                response_status=exc.status_code,
                error_body={"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
            )
        raise
    except BaseException:
        try:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
        except DatabaseError:
            logger.warning("Idempotency key %s left for reconcile_payments", claimed.pk, exc_info=True)
        raise
    link = {"refund": obj} if isinstance(obj, Refund) else {"payment": obj}
    IdempotencyKey.objects.filter(pk=claimed.pk).update(
        status=IdempotencyKey.Status.COMPLETED, response_status=201, **link
    )
    return Outcome(obj)


# --- creating a payment --------------------------------------------------------------


def _payment_open(*, order_id: int, provider: str) -> Payment:
    """The payment row, once the order is locked and known to be awaiting payment: of two
    creations racing for one order, the second finds the first's row."""
    with transaction.atomic():
        order = _order_lock(order_id)
        if order.status != "pending":
            raise OrderNotPayable(order.status)
        if Payment.objects.filter(order_id=order_id, status__in=LIVE_STATUSES).exists():
            raise PaymentInProgress()
        if order.total <= 0:
            raise ValidationFailed("The order has nothing to pay.")
        return Payment.objects.create(order_id=order_id, provider=provider, amount=order.total, currency=order.currency)


def payment_create(*, actor, order_id: int, provider: str | None = None, idempotency_key: str | None = None) -> Outcome:
    """Open a payment for the whole total of a pending order the actor owns (or any, for
    staff), with `provider` (default: stripe when configured, else test).

    Raises OrderNotFound (404), ProviderUnavailable (400), OrderNotPayable (409
    invalid_transition), PaymentInProgress (409 conflict), PaymentProviderError (502: the
    payment is marked failed, so the order can be paid again). With `idempotency_key`, a
    repeat of the request answers the same payment (`replayed`) and opens nothing."""
    order_selectors.order_get_for(actor=actor, order_id=order_id)
    name = provider or providers.default()
    if name is None:
        raise ValidationFailed("No payment provider is configured.", details={"provider": ["None is configured."]})
    gateway = _provider(name)

    def work() -> Payment:
        payment = _payment_open(order_id=order_id, provider=name)
        try:
            created = gateway.payment_create(
                payment_id=payment.pk,
                idempotency_key=f"payment-{payment.uid}",
                order_id=order_id,
                amount=payment.amount,
                currency=payment.currency,
            )
        except (ProviderRefused, ProviderUnreachable) as exc:
            # Nothing to confirm exists for the client: the order can be paid again.
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.REQUIRES_CONFIRMATION).update(
                status=Payment.Status.FAILED, updated_at=timezone.now()
            )
            raise PaymentProviderError(f"The payment provider did not open the payment: {exc}") from exc
        payment.provider_reference, payment.client_secret = created.reference, created.client_secret
        _save(payment, "provider_reference", "client_secret")
        payment = selectors.payment_get(payment_id=payment.pk)
        if payment.status == Payment.Status.CANCELLED:
            # The order was cancelled while the provider opened the payment: close it there too.
            _payment_cancel_quietly(payment)
        return payment

    request_hash = hash_of_request(action="payment_create", order_id=order_id, provider=name)
    return _idempotent(user=actor, key=idempotency_key, request_hash=request_hash, work=work)


# --- refunds -------------------------------------------------------------------------


def _refund_reserve_locked(payment: Payment, *, amount: Decimal, reason: str) -> Refund:
    """For a payment locked by the caller's transaction: reserve `amount` and record the
    refund as pending; the provider is asked once the transaction commits."""
    payment.refund_reserved += amount
    _save(payment, "refund_reserved")
    refund = Refund.objects.create(payment=payment, amount=amount, reason=reason)
    transaction.on_commit(lambda: _refund_execute_quietly(refund.pk), robust=True)
    return refund


def _refund_reserve(*, payment_id: int, amount: Decimal | None, reason: str) -> Refund:
    with transaction.atomic():
        payment = Payment.objects.filter(pk=payment_id).first()
        if payment is None:
            raise PaymentNotFound()
        _provider(payment.provider)  # refunds go through the provider that took the money
        available = payment.captured - payment.refund_reserved
        wanted = available if amount is None else amount
        if wanted <= 0:
            raise RefundExceedsCaptured(requested=wanted, available=available)
        # Conditional: of two refunds racing for the same money, the second UPDATE waits for
        # the first's row lock, then re-reads the row and no longer matches.
        if not Payment.objects.filter(pk=payment_id, refund_reserved__lte=F("captured") - wanted).update(
            refund_reserved=F("refund_reserved") + wanted, updated_at=timezone.now()
        ):
            payment.refresh_from_db(fields=["captured", "refund_reserved"])
            raise RefundExceedsCaptured(requested=wanted, available=payment.captured - payment.refund_reserved)
        return Refund.objects.create(payment_id=payment_id, amount=wanted, reason=reason)


def _refund_settle(*, refund_id: int, succeeded: bool, reference: str | None = None, failure: str = "") -> bool:
    """A pending refund becomes succeeded (counted as refunded) or failed (its reservation
    released), exactly once: False when it was settled already."""
    with transaction.atomic():
        refund = Refund.objects.get(pk=refund_id)
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        changes = {"status": Refund.Status.SUCCEEDED if succeeded else Refund.Status.FAILED}
        changes |= {"failure": failure[:255], "updated_at": timezone.now()}
        if reference:
            changes["provider_reference"] = reference
        if not Refund.objects.filter(pk=refund_id, status=Refund.Status.PENDING).update(**changes):
            return False
        if succeeded:
            payment.refunded += refund.amount
        else:
            payment.refund_reserved -= refund.amount
        payment.status = _status(payment)
        _save(payment, "refunded", "refund_reserved", "status")
        if succeeded:
            refund.refresh_from_db()
            # In the same transaction as the change it reports: written only if that commits.
            event_services.event_write(
                type="refund.succeeded", data=refund_representation(refund), order_id=payment.order_id
            )
        return True


def _refund_execute(refund_id: int) -> Refund:
    """Ask the provider for a reserved refund (the same idempotency key each time, so a
    retry never refunds twice) and settle it as the provider answers. Raises
    PaymentProviderError when the provider refused (the reservation is released)."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    payment = refund.payment
    try:
        result = _provider(payment.provider).refund_create(
            payment_reference=payment.provider_reference,
            refund_id=refund.pk,
            idempotency_key=f"refund-{refund.uid}",
            amount=refund.amount,
            currency=payment.currency,
        )
    except ProviderRefused as exc:
        _refund_settle(refund_id=refund.pk, succeeded=False, failure=str(exc))
        raise PaymentProviderError(
            f"The payment provider refused the refund: {exc}", details={"refund_id": refund.pk, "status": "failed"}
        ) from exc
    except ProviderUnreachable:
        logger.warning("Refund %s left pending: the provider's answer is unknown", refund.pk, exc_info=True)
        return Refund.objects.get(pk=refund.pk)
    if result.status == "pending":
        Refund.objects.filter(pk=refund.pk).update(provider_reference=result.reference, updated_at=timezone.now())
    else:
        _refund_settle(
            refund_id=refund.pk,
            succeeded=result.status == "succeeded",
            reference=result.reference,
            failure=result.failure,
        )
    return Refund.objects.get(pk=refund.pk)


def _refund_execute_quietly(refund_id: int) -> None:
    """After a commit (a cancellation, a late capture): nobody waits for the answer, and the
    change that asked for the refund stands whatever the provider says."""
    try:
        _refund_execute(refund_id)
    except PaymentProviderError:
        logger.error("Refund %s refused by the provider; the money stays captured", refund_id, exc_info=True)
    except Exception:
        # The refund stays pending with its reservation: reconcile_payments asks again.
        logger.exception("Refund %s not asked of the provider", refund_id)


def refund_create(
    *, actor, payment_id: int, amount: Decimal | None = None, reason: str = "", idempotency_key: str | None = None
) -> Outcome:
    """Give back `amount` of a payment (default: all that was captured and is not yet
    refunded or being refunded). The amount is reserved in the ledger before the provider is
    asked: of concurrent refunds, those that would take the total past what was captured
    raise RefundExceedsCaptured (409) and change nothing. A refusal by the provider releases
    the reservation and raises PaymentProviderError (502); an unknown outcome answers the
    refund `pending`, still reserved."""

    def work() -> Refund:
        refund = _refund_reserve(payment_id=payment_id, amount=amount, reason=reason)
        return _refund_execute(refund.pk)

    request_hash = hash_of_request(action="refund_create", payment_id=payment_id, amount=amount, reason=reason)
    return _idempotent(user=actor, key=idempotency_key, request_hash=request_hash, work=work)


# --- the order's hook ----------------------------------------------------------------


def order_changed(order, event: str, previous_status: str | None) -> None:
    """Registered on orders.services.on_order_changed; runs inside the cancellation's
    transaction. What was captured is reserved for refund there (the provider is asked after
    the commit); a payment not yet captured is cancelled."""
    if event != "cancelled":
        return
    for payment in Payment.objects.select_for_update().filter(order_id=order.pk).order_by("pk"):
        remaining = payment.captured - payment.refund_reserved
        if remaining > 0:
            _refund_reserve_locked(payment, amount=remaining, reason=REASON_ORDER_CANCELLED)
        elif payment.status in UNCAPTURED_OPEN:
            payment.status = Payment.Status.CANCELLED
            _save(payment, "status")
            if payment.provider_reference:
                transaction.on_commit(lambda p=payment: _payment_cancel_quietly(p), robust=True)


def _payment_cancel_quietly(payment: Payment) -> None:
    try:
        _provider(payment.provider).payment_cancel(
            reference=payment.provider_reference, idempotency_key=f"cancel-{payment.uid}"
        )
    except Exception:
        # A capture that still comes is refunded at once (webhook_receive).
        logger.warning("Payment %s not cancelled at the provider", payment.pk, exc_info=True)


# --- webhooks ------------------------------------------------------------------------


def _apply_capture(payment: Payment, order, amount: Decimal | None) -> bool:
    amount = payment.amount if amount is None else amount
    if amount > payment.amount:
        raise InvalidWebhook(f"The capture of {amount} exceeds the payment's {payment.amount}.")
    if amount <= payment.captured:
        return False  # a capture already counted: events may repeat or come out of order
    payment.captured = amount
    payment.status = _status(payment)
    _save(payment, "captured", "status")
    if payment.captured < payment.amount:
        return True
    if order.status == "pending":
        order_services.order_status_change(order=order, status="paid")
    else:
        # Cancelled meanwhile, or paid some other way: the money goes back at once.
        _refund_reserve_locked(payment, amount=payment.captured - payment.refund_reserved, reason=REASON_NOT_AWAITED)
    return True


def _apply(event: ProviderEvent, payment: Payment, order) -> bool:
    """Apply a verified event to the locked payment; True when it changed anything."""
    if event.kind == EventKind.CAPTURED:
        return _apply_capture(payment, order, event.amount)
    if event.kind == EventKind.AUTHORIZED:
        if payment.status != Payment.Status.REQUIRES_CONFIRMATION:
            return False  # a late authorization after the capture changes nothing
        payment.status = Payment.Status.AUTHORIZED
        _save(payment, "status")
        return True
    if event.kind in (EventKind.FAILED, EventKind.CANCELLED):
        if payment.status not in UNCAPTURED_OPEN:
            return False
        payment.status = Payment.Status.FAILED if event.kind == EventKind.FAILED else Payment.Status.CANCELLED
        _save(payment, "status")
        return True
    refund = _event_refund(event, payment)
    succeeded = event.kind == EventKind.REFUND_SUCCEEDED
    return _refund_settle(refund_id=refund.pk, succeeded=succeeded, reference=event.refund_reference or None)


def _event_refund(event: ProviderEvent, payment: Payment) -> Refund:
    refunds = Refund.objects.filter(payment=payment)
    refund = None
    if event.refund_id is not None:
        refund = refunds.filter(pk=event.refund_id).first()
    if refund is None and event.refund_reference:
        refund = refunds.filter(provider_reference=event.refund_reference).first()
    if refund is None:
        # Not ours (yet): the provider retries a non-2xx, by which time it may be.
        raise NotFoundError("Refund not found.")
    return refund


def webhook_receive(*, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
    """Apply one signed provider event, exactly once.

    The signature and its timestamp are checked before anything else (InvalidWebhook, 400,
    nothing read or written). The event id is recorded (unique) in the transaction that
    applies the event, so a repeat, concurrent or late, changes nothing and answers 200.
    A payment or refund this ledger does not know (yet) is a 404, which the provider retries.
    Events may come in any order: a capture before its authorization ends `captured`."""
    gateway = providers.get(provider)
    if gateway is None:
        raise NotFoundError("No such payment provider here.")
    try:
        event = gateway.webhook_parse(body=body, headers=headers)
    except SignatureError as exc:
        raise InvalidWebhook(details={"signature": [str(exc)]}) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidWebhook("The webhook body is not a valid event.", details={"body": [str(exc)]}) from None
    if event.kind == EventKind.IGNORED:
        return WebhookOutcome(event_id=event.id, applied=False, replayed=False)
    found = Payment.objects.filter(provider=provider, provider_reference=event.payment_reference).first()
    if found is None:
        raise PaymentNotFound()
    with transaction.atomic():
        order = _order_lock(found.order_id)
        try:
            with transaction.atomic():
                record = WebhookEvent.objects.create(
                    provider=provider, event_id=event.id, type=event.type[:64], payment=found
                )
        except IntegrityError:
            return WebhookOutcome(event_id=event.id, applied=False, replayed=True)
        payment = Payment.objects.select_for_update().get(pk=found.pk)
        applied = _apply(event, payment, order)
        if applied:
            WebhookEvent.objects.filter(pk=record.pk).update(applied=True)
        if applied and event.kind == EventKind.CAPTURED:
            # In the same transaction as the change it reports: written only if that commits.
            event_services.event_write(
                type="payment.captured",
                data=payment_representation(selectors.payment_get(payment_id=payment.pk)),
                order_id=payment.order_id,
            )
    return WebhookOutcome(event_id=event.id, applied=applied, replayed=False)


def payment_simulate(*, payment_id: int, event: str) -> Payment:
    """Make the test provider send its signed webhook for `event` (authorized, captured,
    failed) of a test payment, through the same handler a real delivery reaches."""
    if event not in SIMULATED_EVENTS:
        raise ValidationFailed(details={"event": [f"Must be one of {', '.join(SIMULATED_EVENTS)}."]})
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise PaymentNotFound()
    if payment.provider != Payment.Provider.TEST:
        raise ValidationFailed("Only payments of the test provider can be simulated.")
    gateway = _provider(Payment.Provider.TEST)
    if not payment.provider_reference:
        raise PaymentProviderError("The payment was never opened at the provider.")
    body = gateway.event_body(reference=payment.provider_reference, event=event, amount=payment.amount)
    webhook_receive(provider=Payment.Provider.TEST, body=body, headers=gateway.signed(body))
    return Payment.objects.get(pk=payment_id)


# --- repairing -----------------------------------------------------------------------


@dataclass
class ReconcileReport:
    refunds_retried: int = 0  # pending refunds asked of the provider again
    keys_removed: int = 0  # expired or abandoned idempotency keys


def payments_reconcile(*, grace_seconds: int = 300) -> ReconcileReport:
    """Settle what a crash or an unreachable provider left open, older than `grace_seconds`:
    pending refunds the provider never acknowledged are asked again under their own idempotency
    key (a provider that applied the first request answers it again, never refunding twice);
    idempotency keys expired or left in progress are removed. Idempotent; safe from cron.

    A refund the provider acknowledged as pending is left to its webhook, and one older than
    the providers' idempotency window (Stripe keeps keys 24 hours) is never asked again: a
    second request could refund twice. The money check reports both for staff."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=grace_seconds)
    report = ReconcileReport()
    unanswered = Refund.objects.filter(
        status=Refund.Status.PENDING,
        provider_reference__isnull=True,
        created_at__lt=cutoff,
        created_at__gt=now - PROVIDER_IDEMPOTENCY_WINDOW,
    )
    for refund_id in unanswered.values_list("pk", flat=True):
        _refund_execute_quietly(refund_id)
        report.refunds_retried += 1
    expired, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    abandoned, _ = IdempotencyKey.objects.filter(
        status=IdempotencyKey.Status.IN_PROGRESS, created_at__lt=cutoff
    ).delete()
    report.keys_removed = expired + abandoned
    return report
