"""The URL map of the whole API, read top to bottom: every prefix is here, and each app's
viewset answers under it. Routes take no trailing slash (the contract's paths)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularJSONAPIView,
    SpectacularSwaggerView,
    SpectacularYAMLAPIView,
)
from rest_framework.routers import SimpleRouter

from analytics.views import AnalyticsViewSet
from cart.views import CartViewSet
from catalog.views import CategoryViewSet, ProductViewSet
from ecommerce.api import views
from events.views import EventViewSet, OrderEventViewSet, WebhookViewSet
from inventory.views import InventoryViewSet
from orders.views import OrderViewSet, UserOrderViewSet
from payments.views import OrderPaymentViewSet, PaymentViewSet, PaymentWebhookViewSet
from reviews.views import ReviewViewSet, WishlistViewSet
from users.views import TokenObtainView, TokenRefreshView, UserViewSet

router = SimpleRouter(trailing_slash=False)
router.register("users", UserViewSet, basename="user")
router.register(r"users/(?P<id>\d{1,18})/orders", UserOrderViewSet, basename="user-order")
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")  # products/search, products/category/{c}
router.register("inventory", InventoryViewSet, basename="inventory")
router.register("cart", CartViewSet, basename="cart")
router.register("orders", OrderViewSet, basename="order")
router.register(r"orders/(?P<order_id>\d{1,18})/events", OrderEventViewSet, basename="order-event")
router.register(r"orders/(?P<order_id>\d{1,18})/payments", OrderPaymentViewSet, basename="order-payment")
router.register(r"payments/webhooks/(?P<provider>[a-z]{1,16})", PaymentWebhookViewSet, basename="payment-webhook")
router.register("payments", PaymentViewSet, basename="payment")  # payments/{id}/refunds, payments/{id}/simulate
router.register("analytics", AnalyticsViewSet, basename="analytics")
router.register("reviews", ReviewViewSet, basename="review")
router.register("wishlist", WishlistViewSet, basename="wishlist")
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")  # rotate-secret, deliveries, redeliver

api = [
    path("auth/token", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh", TokenRefreshView.as_view(), name="token-refresh"),
    *router.urls,
    # YAML unless asked for JSON (?format=json or Accept: application/json); or by extension.
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("schema.json", SpectacularJSONAPIView.as_view(), name="schema-json"),
    path("schema.yaml", SpectacularYAMLAPIView.as_view(), name="schema-yaml"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="docs"), name="home"),  # the API's entry points
    path("api/", include(api)),
    path("health", views.health, name="health"),
    path("health/live", views.live, name="health-live"),
    path("admin/", admin.site.urls),
    path("metrics", views.metrics, name="prometheus-django-metrics"),
]

handler400 = "ecommerce.api.views.bad_request"
handler403 = "ecommerce.api.views.permission_denied"
handler404 = "ecommerce.api.views.not_found"
handler500 = "ecommerce.api.views.server_error"
