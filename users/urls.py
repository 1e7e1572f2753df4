from django.urls import path
from rest_framework.routers import SimpleRouter

from users.views import TokenObtainView, TokenRefreshView, UserViewSet

router = SimpleRouter(trailing_slash=False)
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("auth/token", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh", TokenRefreshView.as_view(), name="token-refresh"),
    *router.urls,
]
