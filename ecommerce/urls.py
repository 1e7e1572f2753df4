from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from ecommerce import views

api = [
    path("", include("users.urls")),
    path("", include("catalog.urls")),
    path("", include("inventory.urls")),
    path("", include("cart.urls")),
    path("", include("orders.urls")),
    path("", include("analytics.urls")),
    path("", include("reviews.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]

urlpatterns = [
    path("api/", include(api)),
    path("health", views.health, name="health"),
    path("health/live", views.live, name="health-live"),
    path("admin/", admin.site.urls),
    path("metrics", views.metrics, name="prometheus-django-metrics"),
]

if settings.BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/ceiling", views.ceiling))

handler400 = "ecommerce.views.bad_request"
handler403 = "ecommerce.views.permission_denied"
handler404 = "ecommerce.views.not_found"
handler500 = "ecommerce.views.server_error"
