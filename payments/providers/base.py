"""What every payment provider does for the ledger, in the ledger's terms (decimal amounts,
our ids), whatever its API looks like."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class EventKind(StrEnum):
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    # A verified event the ledger has no use for (answered 200, recorded nowhere).
    IGNORED = "ignored"


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook. `amount` is the payment's captured total for a capture, the
    refund's amount for a refund."""

    id: str
    type: str
    kind: EventKind
    payment_reference: str = ""
    amount: Decimal | None = None
    refund_id: int | None = None  # ours, when the provider echoes it
    refund_reference: str = ""


@dataclass(frozen=True)
class CreatedPayment:
    reference: str
    client_secret: str


@dataclass(frozen=True)
class RefundResult:
    reference: str
    status: str  # "succeeded", "pending" or "failed"
    failure: str = ""


class ProviderRefused(Exception):
    """A definite no: nothing happened at the provider."""


class ProviderUnreachable(Exception):
    """No answer, or an error that leaves the outcome unknown: the request may have been
    applied. Money reserved for it stays reserved until a webhook or a retry settles it."""


class SignatureError(Exception):
    """The webhook is not what the provider signed, or is too old."""


class PaymentProvider(Protocol):
    name: str

    def payment_create(
        self, *, payment_id: int, idempotency_key: str, order_id: int, amount: Decimal, currency: str
    ) -> CreatedPayment: ...

    def payment_cancel(self, *, reference: str, idempotency_key: str) -> None: ...

    def refund_create(
        self, *, payment_reference: str, refund_id: int, idempotency_key: str, amount: Decimal, currency: str
    ) -> RefundResult: ...

    def webhook_parse(self, *, body: bytes, headers) -> ProviderEvent:
        """Verify the signature and timestamp first (SignatureError), then read the event."""
