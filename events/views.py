from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ecommerce.api.permissions import IsStaff
from ecommerce.api.query import validated_query
from ecommerce.api.schema import error_response
from events import selectors, services
from events.serializers import (
    DeliverySerializer,
    EventFeedQuerySerializer,
    EventFeedSerializer,
    EventSerializer,
    WebhookCreateSerializer,
    WebhookSerializer,
    WebhookUpdateSerializer,
    WebhookWithSecretSerializer,
)

_WEBHOOK_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The webhook's id.")
_ORDER_ID = OpenApiParameter("order_id", int, OpenApiParameter.PATH, description="The order's id.")
_DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH, description="A delivery's id.")
_URL_REFUSED = error_response(
    "validation_error: bad fields, unknown event types, or a URL that is not http(s), does not resolve "
    "or resolves to a loopback, private or link-local address (details.url)."
)


class EventViewSet(viewsets.GenericViewSet):
    """The staff feed of every event, oldest first."""

    permission_classes = [IsStaff]
    serializer_class = EventSerializer
    pagination_class = None

    @extend_schema(parameters=[EventFeedQuerySerializer], responses=EventFeedSerializer)
    def list(self, request):
        """Events after a sequence number, oldest first (page with ?after=)."""
        query = validated_query(EventFeedQuerySerializer, request)
        events = services.events_feed_read(**query)
        next_after = events[-1].sequence if events else query["after"]
        return Response({"results": EventSerializer(events, many=True).data, "next_after": next_after})


class OrderEventViewSet(viewsets.GenericViewSet):
    """An order's timeline."""

    permission_classes = [IsAuthenticated]
    serializer_class = EventSerializer

    @extend_schema(parameters=[_ORDER_ID], responses=EventSerializer(many=True))
    def list(self, request, order_id: str):
        """The order's events, oldest first (its owner or staff)."""
        events = selectors.order_timeline(actor=request.user, order_id=int(order_id))
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class WebhookViewSet(viewsets.GenericViewSet):
    """Webhook subscriptions, their secrets and their deliveries (staff)."""

    permission_classes = [IsStaff]
    serializer_class = WebhookSerializer
    lookup_value_regex = r"\d{1,18}"

    @extend_schema(responses=WebhookSerializer(many=True))
    def list(self, request):
        """Every webhook subscription."""
        page = self.paginate_queryset(selectors.webhook_list())
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(request=WebhookCreateSerializer, responses={201: WebhookWithSecretSerializer, 400: _URL_REFUSED})
    def create(self, request):
        """Subscribe a URL to event types; answers its signing secret, shown only here."""
        body = WebhookCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook, secret = services.webhook_create(**body.validated_data)
        webhook.secret = secret
        return Response(WebhookWithSecretSerializer(webhook).data, status=http.HTTP_201_CREATED)

    @extend_schema(parameters=[_WEBHOOK_ID])
    def retrieve(self, request, pk: str):
        """One webhook subscription (never its secret)."""
        return Response(WebhookSerializer(selectors.webhook_get(webhook_id=int(pk))).data)

    @extend_schema(
        parameters=[_WEBHOOK_ID],
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer, 400: _URL_REFUSED},
    )
    def partial_update(self, request, pk: str):
        """Change a webhook's url, events, is_active or description (only the fields sent)."""
        body = WebhookUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = services.webhook_update(webhook_id=int(pk), data=body.validated_data)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(
        parameters=[_WEBHOOK_ID],
        request=WebhookUpdateSerializer,
        responses={200: WebhookSerializer, 400: _URL_REFUSED},
    )
    def update(self, request, pk: str):
        """Change a webhook (partial, as PATCH)."""
        return self.partial_update(request, pk)

    @extend_schema(parameters=[_WEBHOOK_ID], responses={204: None})
    def destroy(self, request, pk: str):
        """Remove a webhook and its deliveries log."""
        services.webhook_delete(webhook_id=int(pk))
        return Response(status=http.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[_WEBHOOK_ID], request=None, responses=WebhookWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk: str):
        """A new signing secret; the old one keeps signing beside it for 24 hours."""
        webhook, secret = services.webhook_rotate_secret(webhook_id=int(pk))
        webhook.secret = secret
        return Response(WebhookWithSecretSerializer(webhook).data)

    @extend_schema(parameters=[_WEBHOOK_ID], responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk: str):
        """The webhook's deliveries log, one row per attempt, newest first."""
        page = self.paginate_queryset(selectors.delivery_list(webhook_id=int(pk)))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(parameters=[_WEBHOOK_ID, _DELIVERY_ID], request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>\d{1,18})/redeliver")
    def redeliver(self, request, pk: str, delivery_id: str):
        """Send a delivery's event again (the same event id), from attempt 1, now."""
        delivery = services.delivery_redeliver(webhook_id=int(pk), delivery_id=int(delivery_id))
        return Response(DeliverySerializer(delivery).data, status=http.HTTP_202_ACCEPTED)
