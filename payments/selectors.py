"""Reads on payments, and the check that the money balances."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from orders import selectors as order_selectors
from payments.exceptions import PaymentNotFound
from payments.models import Payment, Refund

ZERO = Decimal("0.00")
# Order statuses that mean "the shop keeps the money" (orders.models.Order.Status values).
PAID_STATUSES = ("paid", "shipped", "delivered")


def _with_refunds(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    return payments.prefetch_related(Prefetch("refunds", queryset=Refund.objects.order_by("id")))


def payments_of_order(*, order_id: int) -> list[Payment]:
    """An order's payments with their refunds, oldest first (two queries), whoever asks:
    for staff screens such as the order's admin page."""
    return list(_with_refunds(Payment.objects.filter(order_id=order_id).order_by("id")))


def payments_for_order(*, actor, order_id: int) -> list[Payment]:
    """The order's payments as `actor` may see them: the owner's or any for staff; else 404."""
    order_selectors.order_get_for(actor=actor, order_id=order_id)
    return payments_of_order(order_id=order_id)


def payment_get(*, payment_id: int) -> Payment:
    payment = _with_refunds(Payment.objects.filter(pk=payment_id)).first()
    if payment is None:
        raise PaymentNotFound()
    return payment


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def money_check(*, pending_refund_grace_seconds: int = 300) -> list[dict]:
    """What does not balance, as a list of mismatches (empty when the money balances). With
    `kept` = captured − refunds (succeeded or pending) summed over an order's payments:

    - `ledger`: a payment's refunded / reserved amounts differ from the sum of its refunds,
      or a refund goes beyond what was captured;
    - `capture_without_order`: money captured for an order that does not exist;
    - `order_money`: a pending or cancelled order keeps money (kept ≠ 0: a capture that did
      not mark it paid, a cancellation not refunded), or a paid, shipped or delivered order
      keeps more than its total (a double capture);
    - `refund_pending`: a refund asked for longer than the grace period ago and never
      settled (reconcile_payments asks the provider again).

    Payments being captured or refunded right now may be between two steps: check a quiet
    system, or after reconcile_payments."""
    mismatches = []
    refund_sums = {
        row["payment_id"]: row
        for row in Refund.objects.values("payment_id").annotate(
            succeeded=Sum("amount", filter=Q(status=Refund.Status.SUCCEEDED)),
            reserved=Sum("amount", filter=Q(status__in=[Refund.Status.PENDING, Refund.Status.SUCCEEDED])),
        )
    }
    kept_by_order: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for payment in Payment.objects.only("pk", "order_id", "amount", "captured", "refund_reserved", "refunded"):
        sums = refund_sums.get(payment.pk, {})
        succeeded, reserved = sums.get("succeeded") or ZERO, sums.get("reserved") or ZERO
        if (
            succeeded != payment.refunded
            or reserved != payment.refund_reserved
            or not payment.refunded <= payment.refund_reserved <= payment.captured <= payment.amount
        ):
            mismatches.append(
                {
                    "kind": "ledger",
                    "payment_id": payment.pk,
                    "amount": str(payment.amount),
                    "captured": str(payment.captured),
                    "refunded": str(payment.refunded),
                    "refund_reserved": str(payment.refund_reserved),
                    "refunds_succeeded": str(succeeded),
                    "refunds_reserved": str(reserved),
                }
            )
        kept_by_order[payment.order_id] += payment.captured - payment.refund_reserved

    order_ids = sorted(kept_by_order)
    for chunk in _chunks(order_ids):
        orders = {
            pk: (status, total)
            for pk, status, total in order_selectors.order_list()
            .prefetch_related(None)
            .filter(pk__in=chunk)
            .values_list("pk", "status", "total")
        }
        for order_id in chunk:
            kept = kept_by_order[order_id]
            if order_id not in orders:
                if kept:
                    mismatches.append({"kind": "capture_without_order", "order_id": order_id, "kept": str(kept)})
                continue
            status, total = orders[order_id]
            wrong = kept > total if status in PAID_STATUSES else kept != 0
            if wrong:
                mismatches.append(
                    {
                        "kind": "order_money",
                        "order_id": order_id,
                        "status": status,
                        "total": str(total),
                        "kept": str(kept),
                    }
                )

    cutoff = timezone.now() - timedelta(seconds=pending_refund_grace_seconds)
    for refund_id, payment_id in Refund.objects.filter(status=Refund.Status.PENDING, created_at__lt=cutoff).values_list(
        "pk", "payment_id"
    ):
        mismatches.append({"kind": "refund_pending", "refund_id": refund_id, "payment_id": payment_id})
    return mismatches
