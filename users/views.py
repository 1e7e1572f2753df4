from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from ecommerce.api.permissions import IsStaff
from ecommerce.api.schema import error_response
from orders import selectors as order_selectors
from orders.serializers import OrderSerializer
from users import selectors, services
from users.serializers import (
    ActiveTokenRefreshSerializer,
    BoundedTokenObtainSerializer,
    TokenPairSerializer,
    TokenRequestSerializer,
    UserCreateSerializer,
    UserListQuerySerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from users.throttles import LoginAccountThrottle, LoginIpThrottle, RefreshIpThrottle, RegisterIpThrottle

_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The user's id.")
_UPDATE_RESPONSES = {
    200: UserSerializer,
    403: error_response("permission_denied: only staff may change is_staff."),
    409: error_response("conflict: the email is taken."),
}


class UserViewSet(viewsets.GenericViewSet):
    serializer_class = UserSerializer
    lookup_value_regex = r"\d+"

    def get_permissions(self):
        if self.action == "create":
            return [AllowAny()]
        if self.action == "list":
            return [IsStaff()]
        return [IsAuthenticated()]

    def get_throttles(self):
        return [RegisterIpThrottle()] if self.action == "create" else []

    @extend_schema(parameters=[UserListQuerySerializer])
    def list(self, request):
        query = UserListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        users = selectors.user_list(search=query.validated_data.get("search"))
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(
        request=UserCreateSerializer,
        responses={201: UserSerializer, 409: error_response("conflict: the email is taken.")},
        auth=[],
    )
    def create(self, request):
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["get"])
    def me(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(parameters=[_ID])
    def retrieve(self, request, pk: str):
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        return Response(UserSerializer(user).data)

    @extend_schema(parameters=[_ID], request=UserUpdateSerializer, responses=_UPDATE_RESPONSES)
    def update(self, request, pk: str):
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=user, actor=request.user, data=serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(parameters=[_ID], request=UserUpdateSerializer, responses=_UPDATE_RESPONSES)
    def partial_update(self, request, pk: str):
        return self.update(request, pk)

    @extend_schema(parameters=[_ID], responses=OrderSerializer(many=True))
    @action(detail=True, methods=["get"])
    def orders(self, request, pk: str):
        """The user's orders, newest first (self or staff)."""
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        page = self.paginate_queryset(order_selectors.order_list(user_id=user.pk))
        return self.get_paginated_response(OrderSerializer(page, many=True).data)

    @extend_schema(parameters=[_ID], responses={204: None})
    def destroy(self, request, pk: str):
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        services.user_delete(user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenObtainView(jwt_views.TokenObtainPairView):
    """Email and password in, an access and a refresh JWT out."""

    serializer_class = BoundedTokenObtainSerializer
    throttle_classes = [LoginIpThrottle, LoginAccountThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenPairSerializer, 401: error_response("authentication_failed: wrong email or password.")},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefreshView(jwt_views.TokenRefreshView):
    serializer_class = ActiveTokenRefreshSerializer
    throttle_classes = [RefreshIpThrottle]

    @extend_schema(
        responses={
            200: TokenRefreshSerializer,
            401: error_response("authentication_failed: the refresh token is invalid or expired."),
        }
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
