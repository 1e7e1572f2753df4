"""Stripe through its official library: PaymentIntents (automatic capture), refunds, and
webhooks verified by `stripe.Webhook.construct_event`. Stripe counts money in the
currency's minor unit; the ledger in decimals."""

from decimal import Decimal

import stripe

from payments.providers.base import (
    CreatedPayment,
    EventKind,
    ProviderEvent,
    ProviderRefused,
    ProviderUnreachable,
    RefundResult,
    SignatureError,
)

SIGNATURE_HEADER = "Stripe-Signature"
# Stripe's zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
_PAYMENT_EVENTS = {
    "payment_intent.amount_capturable_updated": EventKind.AUTHORIZED,
    "payment_intent.succeeded": EventKind.CAPTURED,
    "payment_intent.payment_failed": EventKind.FAILED,
    "payment_intent.canceled": EventKind.CANCELLED,
}
_REFUND_EVENTS = {"refund.created", "refund.updated", "refund.failed"}
# Errors after which Stripe did nothing; any other error may hide an applied request.
_REFUSALS = (stripe.CardError, stripe.InvalidRequestError, stripe.IdempotencyError)


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount if currency.lower() in ZERO_DECIMAL else amount * 100)


def from_minor(value: int, currency: str) -> Decimal:
    if currency.lower() in ZERO_DECIMAL:
        return Decimal(value).quantize(Decimal("0.01"))
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


class StripeProvider:
    name = "stripe"

    def __init__(self, *, secret_key: str, webhook_secret: str, api_base: str | None = None):
        self._webhook_secret = webhook_secret
        addresses = {"api": api_base} if api_base else None
        # The library retries network errors itself, with the same idempotency key.
        self._client = stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=2)

    def _call(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except _REFUSALS as exc:
            raise ProviderRefused(exc.user_message or str(exc)) from exc
        except stripe.StripeError as exc:
            raise ProviderUnreachable(str(exc)) from exc

    def payment_create(self, *, payment_id, idempotency_key, order_id, amount, currency) -> CreatedPayment:
        intent = self._call(
            self._client.v1.payment_intents.create,
            params={
                "amount": to_minor(amount, currency),
                "currency": currency.lower(),
                "metadata": {"order_id": str(order_id), "payment_id": str(payment_id)},
            },
            options={"idempotency_key": idempotency_key},
        )
        return CreatedPayment(reference=intent.id, client_secret=intent.client_secret or "")

    def payment_cancel(self, *, reference, idempotency_key) -> None:
        self._call(self._client.v1.payment_intents.cancel, reference, options={"idempotency_key": idempotency_key})

    def refund_create(self, *, payment_reference, refund_id, idempotency_key, amount, currency) -> RefundResult:
        refund = self._call(
            self._client.v1.refunds.create,
            params={
                "payment_intent": payment_reference,
                "amount": to_minor(amount, currency),
                "metadata": {"refund_id": str(refund_id)},
            },
            options={"idempotency_key": idempotency_key},
        )
        status = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(refund.status, "pending")
        return RefundResult(reference=refund.id, status=status, failure=getattr(refund, "failure_reason", None) or "")

    def webhook_parse(self, *, body: bytes, headers) -> ProviderEvent:
        try:
            event = stripe.Webhook.construct_event(body, headers.get(SIGNATURE_HEADER), self._webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise SignatureError(str(exc)) from exc
        except UnicodeDecodeError:
            raise SignatureError("The body is not UTF-8.") from None
        obj = event.data.object.to_dict()
        if event.type in _PAYMENT_EVENTS:
            kind = _PAYMENT_EVENTS[event.type]
            amount = from_minor(obj["amount_received"], obj["currency"]) if kind == EventKind.CAPTURED else None
            return ProviderEvent(id=event.id, type=event.type, kind=kind, payment_reference=obj["id"], amount=amount)
        if event.type in _REFUND_EVENTS and obj.get("payment_intent"):
            kind = {
                "succeeded": EventKind.REFUND_SUCCEEDED,
                "failed": EventKind.REFUND_FAILED,
                "canceled": EventKind.REFUND_FAILED,
            }.get(obj.get("status"), EventKind.IGNORED)
            refund_id = str((obj.get("metadata") or {}).get("refund_id", ""))
            return ProviderEvent(
                id=event.id,
                type=event.type,
                kind=kind,
                payment_reference=obj["payment_intent"],
                amount=from_minor(obj["amount"], obj["currency"]),
                refund_id=int(refund_id) if refund_id.isdigit() and len(refund_id) <= 18 else None,
                refund_reference=obj["id"],
            )
        return ProviderEvent(id=event.id, type=event.type, kind=EventKind.IGNORED)
