from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ecommerce.api.idempotency import idempotency_key, idempotency_key_parameter
from ecommerce.api.permissions import IsStaff
from ecommerce.api.query import validated_query
from ecommerce.api.schema import error_response
from orders import selectors, services
from orders.exceptions import IdempotencyInProgress
from orders.serializers import (
    OrderListQuerySerializer,
    OrderPlaceSerializer,
    OrderSerializer,
    OrderStatusSerializer,
)
from orders.throttles import OrderPlaceThrottle
from users import selectors as user_selectors

_IDEMPOTENCY_KEY = idempotency_key_parameter(
    "A repeat of the same request answers the first definite answer again (201, or a 4xx); while "
    "the first is still being processed, 409 idempotency_conflict with Retry-After; a repeat after "
    "a 503 settles what the first attempt did and completes it or starts afresh."
)
_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The order's id.")
_TRANSITION = error_response("invalid_transition: the order cannot move from its status to that one.")


class OrderViewSet(viewsets.GenericViewSet):
    """Orders: customers place, see and cancel their own; staff see all and move them along."""

    serializer_class = OrderSerializer
    lookup_value_regex = r"\d{1,18}"

    def get_permissions(self):
        if self.action == "status":
            return [IsStaff()]
        return [IsAuthenticated()]

    def get_throttles(self):
        if self.action == "create":
            return [OrderPlaceThrottle()]
        return []

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, IdempotencyInProgress):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @extend_schema(parameters=[OrderListQuerySerializer], responses=OrderSerializer(many=True))
    def list(self, request):
        """Orders, newest first: a customer's own, or every order for staff."""
        query = validated_query(OrderListQuerySerializer, request)
        orders = selectors.order_list(actor=request.user, status=query.get("status"))
        page = self.paginate_queryset(orders)
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(
        parameters=[_IDEMPOTENCY_KEY],
        request=OrderPlaceSerializer,
        responses={
            201: OrderSerializer,
            400: error_response("validation_error: bad fields, unknown or inactive products, an empty cart."),
            403: error_response("permission_denied: only staff may order for another user."),
            409: error_response(
                "out_of_stock (details.items: [{product_id, requested, available}]); conflict (another "
                "checkout of the same cart took its lines: nothing ordered); idempotency_conflict (the key "
                "was used with another request, or its first request is still being processed: Retry-After)."
            ),
            429: error_response("rate_limited: too many orders from this account (Retry-After)."),
            503: error_response(
                "service_unavailable (details.database names the store). Retry with the same "
                "Idempotency-Key: the retry settles what this attempt did."
            ),
        },
    )
    def create(self, request):
        """Place an order from `items` or the caller's cart, stock reserved (Idempotency-Key honoured)."""
        body = OrderPlaceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        placed = services.order_place(
            user=request.user, idempotency_key=idempotency_key(request), **body.validated_data
        )
        headers = {"Idempotent-Replayed": "true"} if placed.replayed else {}
        return Response(placed.body, status=placed.status_code, headers=headers)

    @extend_schema(parameters=[_ID])
    def retrieve(self, request, pk: str):
        """One order: the owner's, or any for staff (another customer's is a 404)."""
        return Response(OrderSerializer(selectors.order_get_for(actor=request.user, order_id=int(pk))).data)

    @extend_schema(parameters=[_ID], request=OrderStatusSerializer, responses={200: OrderSerializer, 409: _TRANSITION})
    @action(detail=True, methods=["patch"])
    def status(self, request, pk: str):
        """Move an order to its next status (staff); the stock follows (shipped: sold, cancelled: returned)."""
        body = OrderStatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = selectors.order_get(order_id=int(pk))
        order = services.order_status_change(order=order, status=body.validated_data["status"], actor=request.user)
        return Response(OrderSerializer(order).data)

    @extend_schema(parameters=[_ID], request=None, responses={200: OrderSerializer, 409: _TRANSITION})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk: str):
        """Cancel a pending or paid order; its stock returns exactly once."""
        order = selectors.order_get_for(actor=request.user, order_id=int(pk))
        order = services.order_cancel(order=order, actor=request.user)
        return Response(OrderSerializer(order).data, status=http.HTTP_200_OK)


class UserOrderViewSet(viewsets.GenericViewSet):
    """One user's orders, at /api/users/{id}/orders."""

    serializer_class = OrderSerializer

    @extend_schema(
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The user's id.")],
        responses=OrderSerializer(many=True),
    )
    def list(self, request, id: str):
        """The user's orders, newest first (self or staff; another customer's id is a 404)."""
        user = user_selectors.user_get_for(actor=request.user, user_id=int(id))
        page = self.paginate_queryset(selectors.order_list(user_id=user.pk))
        return self.get_paginated_response(OrderSerializer(page, many=True).data)
