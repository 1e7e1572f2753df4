"""The built-in `test` provider: no network, deterministic references, and webhooks signed
in Stripe's scheme (`Payment-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`)
with PAYMENTS_WEBHOOK_SECRET, so the whole webhook path runs as it would for real money."""

import hashlib
import hmac
import json
import time
from decimal import Decimal, InvalidOperation

from payments.providers.base import (
    CreatedPayment,
    EventKind,
    ProviderEvent,
    RefundResult,
    SignatureError,
)

SIGNATURE_HEADER = "Payment-Signature"
# Older (or further in the future) than this, a signed body is refused: a replay.
TOLERANCE_SECONDS = 300
EVENT_TYPES = {
    "payment.authorized": EventKind.AUTHORIZED,
    "payment.captured": EventKind.CAPTURED,
    "payment.failed": EventKind.FAILED,
    "refund.succeeded": EventKind.REFUND_SUCCEEDED,
    "refund.failed": EventKind.REFUND_FAILED,
}
SIMULATED_EVENTS = ("authorized", "captured", "failed")


def _mac(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={_mac(secret, str(timestamp), body)}"


def verify(*, body: bytes, header: str | None, secret: str, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Raise SignatureError unless `header` signs exactly `body`, recently."""
    if not header:
        raise SignatureError("No Payment-Signature header.")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        parts.setdefault(name, []).append(value)
    timestamps, signatures = parts.get("t", []), parts.get("v1", [])
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        raise SignatureError("The Payment-Signature header is malformed.")
    expected = _mac(secret, timestamps[0], body)
    # Compare before looking at the time: a stale forgery and a stale original answer alike.
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise SignatureError("The signature does not match the body.")
    if abs(time.time() - int(timestamps[0])) > tolerance:
        raise SignatureError("The signature is too old.")


def _amount(value) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("data.amount must be a decimal string.") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("data.amount must be a non-negative amount with at most two decimals.")
    return amount


def parse_event(body: bytes) -> ProviderEvent:
    """The event of a verified body; ValueError when it is not one."""
    try:
        event = json.loads(body)
    except ValueError:
        raise ValueError("The body is not JSON.") from None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise ValueError("The body is not an event.")
    event_id, event_type, data = event.get("id"), event.get("type"), event["data"]
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 255:
        raise ValueError("The event has no id.")
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}.")
    reference = data.get("payment")
    if not isinstance(reference, str) or not reference:
        raise ValueError("data.payment must name the payment.")
    refund = data.get("refund")
    kind = EVENT_TYPES[event_type]
    if kind in (EventKind.REFUND_SUCCEEDED, EventKind.REFUND_FAILED) and not (
        isinstance(refund, str) and refund.isdigit() and len(refund) <= 18
    ):
        raise ValueError("data.refund must name the refund.")
    return ProviderEvent(
        id=event_id,
        type=event_type,
        kind=kind,
        payment_reference=reference,
        amount=_amount(data.get("amount")),
        refund_id=int(refund) if isinstance(refund, str) and refund.isdigit() else None,
    )


class SimulatedProvider:
    name = "test"

    def __init__(self, *, secret: str):
        self._secret = secret

    def payment_create(self, *, payment_id, idempotency_key, order_id, amount, currency) -> CreatedPayment:
        reference = f"tp_{order_id}_{payment_id}"
        secret = hmac.new(self._secret.encode(), reference.encode(), hashlib.sha256).hexdigest()[:24]
        return CreatedPayment(reference=reference, client_secret=f"{reference}_secret_{secret}")

    def payment_cancel(self, *, reference, idempotency_key) -> None:
        """Nothing was held at a provider that moves no money."""

    def refund_create(self, *, payment_reference, refund_id, idempotency_key, amount, currency) -> RefundResult:
        return RefundResult(reference=f"tr_{refund_id}", status="succeeded")

    def webhook_parse(self, *, body: bytes, headers) -> ProviderEvent:
        verify(body=body, header=headers.get(SIGNATURE_HEADER), secret=self._secret)
        return parse_event(body)

    def event_body(self, *, reference: str, event: str, amount: Decimal) -> bytes:
        """The webhook the provider sends when `event` happens to the payment. Its id is
        derived from both, as a provider sends one event per happening (and repeats it)."""
        body = {
            "id": f"evt_{reference}_{event}",
            "type": f"payment.{event}",
            "data": {"payment": reference, "amount": str(amount)},
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def signed(self, body: bytes) -> dict[str, str]:
        return {SIGNATURE_HEADER: signature_header(body=body, secret=self._secret)}
