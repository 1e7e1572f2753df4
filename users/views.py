from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from ecommerce.api.permissions import IsStaff
from ecommerce.api.query import validated_query
from ecommerce.api.schema import error_response
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
from users.throttles import (
    LoginFailuresPerAccountAddress,
    LoginFailuresPerAddress,
    RefreshIpThrottle,
    RegisterIpThrottle,
)

_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The user's id.")
_UPDATE_RESPONSES = {
    200: UserSerializer,
    403: error_response("permission_denied: only staff may change is_staff."),
    409: error_response("conflict: the email is taken."),
}
_DELETE_RESPONSES = {204: None, 403: error_response("permission_denied: only a superuser may delete a superuser.")}


class UserViewSet(viewsets.GenericViewSet):
    """Accounts: anyone registers; customers see and change their own; staff all (a
    superuser's account only by a superuser). A user's orders are under orders' views."""

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
        """Every user, searchable by email and names (staff)."""
        query = validated_query(UserListQuerySerializer, request)
        users = selectors.user_list(search=query.get("search"))
        page = self.paginate_queryset(users)
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(
        request=UserCreateSerializer,
        responses={201: UserSerializer, 409: error_response("conflict: the email is taken.")},
        auth=[],
    )
    def create(self, request):
        """Register a customer account."""
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["get"])
    def me(self, request):
        """The caller's own account."""
        return Response(UserSerializer(request.user).data)

    @extend_schema(parameters=[_ID])
    def retrieve(self, request, pk: str):
        """One user (self or staff; another customer's id is a 404)."""
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        return Response(UserSerializer(user).data)

    @extend_schema(parameters=[_ID], request=UserUpdateSerializer, responses=_UPDATE_RESPONSES)
    def update(self, request, pk: str):
        """Change an account; only the fields sent (a password change signs out everywhere)."""
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=user, actor=request.user, data=serializer.validated_data)
        return Response(UserSerializer(user).data)

    @extend_schema(parameters=[_ID], request=UserUpdateSerializer, responses=_UPDATE_RESPONSES)
    def partial_update(self, request, pk: str):
        """Change an account; only the fields sent (as PUT)."""
        return self.update(request, pk)

    @extend_schema(parameters=[_ID], responses=_DELETE_RESPONSES)
    def destroy(self, request, pk: str):
        """Delete an account (self or staff); its tokens end with it."""
        user = selectors.user_get_for(actor=request.user, user_id=int(pk))
        services.user_delete(actor=request.user, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenObtainView(jwt_views.TokenObtainPairView):
    """Email and password in, an access and a refresh JWT out."""

    serializer_class = BoundedTokenObtainSerializer
    # Failure counters (users.throttles): a slot taken before the password is checked, kept if it was wrong.
    throttle_classes = [LoginFailuresPerAddress, LoginFailuresPerAccountAddress]

    def check_throttles(self, request):
        self._login_throttles = self.get_throttles()
        refused = [throttle.wait() for throttle in self._login_throttles if not throttle.allow_request(request, self)]
        if refused:
            self._release_login_slots()
            self.throttled(request, max(refused))

    def finalize_response(self, request, response, *args, **kwargs):
        # Only a failed sign-in (401) keeps its slots: a success, a 400, a 405 or a refusal gives them back.
        if response.status_code != status.HTTP_401_UNAUTHORIZED:
            self._release_login_slots()
        return super().finalize_response(request, response, *args, **kwargs)

    def _release_login_slots(self) -> None:
        for throttle in getattr(self, "_login_throttles", ()):
            throttle.release()

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: TokenPairSerializer, 401: error_response("authentication_failed: wrong email or password.")},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        """Sign in: email and password in, an access and a refresh token out."""
        return super().post(request, *args, **kwargs)


class TokenRefreshView(jwt_views.TokenRefreshView):
    """A refresh token in, a new access token out."""

    serializer_class = ActiveTokenRefreshSerializer
    throttle_classes = [RefreshIpThrottle]

    @extend_schema(
        responses={
            200: TokenRefreshSerializer,
            401: error_response("authentication_failed: the refresh token is invalid, expired or revoked."),
        }
    )
    def post(self, request, *args, **kwargs):
        """A new access token for a valid refresh token."""
        return super().post(request, *args, **kwargs)
