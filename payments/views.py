from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from ecommerce.api.idempotency import idempotency_key, idempotency_key_parameter
from ecommerce.api.permissions import IsStaff
from ecommerce.api.schema import error_response
from payments import selectors, services
from payments.serializers import (
    PaymentCreateSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    SimulateSerializer,
    WebhookAckSerializer,
    WebhookEventSerializer,
)

_IDEMPOTENCY_KEY = idempotency_key_parameter(
    "A repeat of the same request answers the same object again and creates nothing."
)
_ORDER_ID = OpenApiParameter("order_id", int, OpenApiParameter.PATH, description="The order's id.")
_PAYMENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The payment's id.")
_PROVIDER = OpenApiParameter("provider", str, OpenApiParameter.PATH, enum=["test", "stripe"])
_SIGNATURE = OpenApiParameter(
    "Payment-Signature",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        'test provider: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with '
        "PAYMENTS_WEBHOOK_SECRET>`, at most 300 s old. Stripe sends `Stripe-Signature` instead."
    ),
)
_PROVIDER_ERROR = error_response("payment_provider_error: the provider refused or could not be reached.")


def _created(outcome: services.Outcome, serializer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return Response(serializer(outcome.obj).data, status=http.HTTP_201_CREATED, headers=headers)


class OrderPaymentViewSet(viewsets.GenericViewSet):
    """An order's payments, at /api/orders/{order_id}/payments."""

    serializer_class = PaymentSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = None

    @extend_schema(parameters=[_ORDER_ID], responses=PaymentSerializer(many=True))
    def list(self, request, order_id: str):
        """The order's payments with their refunds, oldest first (owner or staff)."""
        payments = selectors.payments_for_order(actor=request.user, order_id=int(order_id))
        return Response(PaymentSerializer(payments, many=True).data)

    @extend_schema(
        parameters=[_ORDER_ID, _IDEMPOTENCY_KEY],
        request=PaymentCreateSerializer,
        responses={
            201: PaymentSerializer,
            409: error_response(
                "invalid_transition: the order is not pending; conflict: it has a payment that has not "
                "failed or been cancelled; idempotency_conflict."
            ),
            502: _PROVIDER_ERROR,
        },
    )
    def create(self, request, order_id: str):
        """Open a payment for the order's total with a provider (owner or staff).

        The answer carries the provider's `client_secret` for the client to confirm the payment;
        the provider's webhook then captures it and marks the order paid."""
        body = PaymentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = services.payment_create(
            actor=request.user,
            order_id=int(order_id),
            provider=body.validated_data.get("provider"),
            idempotency_key=idempotency_key(request),
        )
        return _created(outcome, PaymentSerializer)


class PaymentViewSet(viewsets.GenericViewSet):
    """Refunds and simulated provider events of one payment (staff)."""

    serializer_class = PaymentSerializer
    permission_classes = [IsStaff]
    lookup_value_regex = r"\d{1,18}"

    @extend_schema(
        parameters=[_PAYMENT_ID, _IDEMPOTENCY_KEY],
        request=RefundCreateSerializer,
        responses={
            201: RefundSerializer,
            409: error_response(
                "refund_exceeds_captured: the refund would take the refunds past what was captured; "
                "idempotency_conflict."
            ),
            502: _PROVIDER_ERROR,
        },
    )
    @action(detail=True, methods=["post"])
    def refunds(self, request, pk: str):
        """Refund a payment, all that remains or `amount` of it (staff).

        The amount is reserved before the provider is asked, so refunds never exceed what was
        captured, however many run at once. `status` is `succeeded`, or `pending` while the
        provider has not settled it."""
        body = RefundCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = services.refund_create(
            actor=request.user, payment_id=int(pk), idempotency_key=idempotency_key(request), **body.validated_data
        )
        return _created(outcome, RefundSerializer)

    @extend_schema(
        parameters=[_PAYMENT_ID],
        request=SimulateSerializer,
        responses={200: PaymentSerializer, 502: _PROVIDER_ERROR},
    )
    @action(detail=True, methods=["post"])
    def simulate(self, request, pk: str):
        """Make the test provider send its signed webhook for a payment event (staff).

        For `test` payments only (400 otherwise), when the test provider is on: the webhook goes
        through the same handler as a real delivery, and the answer is the payment after it."""
        body = SimulateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment = services.payment_simulate(payment_id=int(pk), event=body.validated_data["event"])
        return Response(PaymentSerializer(selectors.payment_get(payment_id=payment.pk)).data)


class PaymentWebhookViewSet(viewsets.GenericViewSet):
    """Providers' signed events, at /api/payments/webhooks/{provider}."""

    serializer_class = WebhookAckSerializer
    # The signature is the authentication: no token, no rate limit a provider would trip.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(
        parameters=[_PROVIDER, _SIGNATURE],
        request=WebhookEventSerializer,
        responses={
            200: WebhookAckSerializer,
            400: error_response("validation_error: a missing, bad or stale signature, or a body that is no event."),
            404: error_response("not_found: a provider not configured, or a payment or refund unknown (yet)."),
        },
    )
    def create(self, request, provider: str):
        """Receive a provider's signed event (the provider calls this).

        The signature and its timestamp are checked first, on the raw body. An event applies once:
        a repeat answers 200 with `replayed` and changes nothing."""
        outcome = services.webhook_receive(provider=provider, body=request.body, headers=request.headers)
        ack = {"received": True, "event_id": outcome.event_id, "applied": outcome.applied, "replayed": outcome.replayed}
        return Response(ack)
