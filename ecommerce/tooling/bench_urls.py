"""The API's URL map plus /bench/ceiling, the view `make bench` compares every endpoint with."""

from django.http import JsonResponse
from django.urls import path

from ecommerce.urls import handler400, handler403, handler404, handler500
from ecommerce.urls import urlpatterns as api_urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def ceiling(request):
    """The benchmark's ceiling: plain Django, no DRF, no database, the same middleware."""
    return JsonResponse({"status": "ok"})


urlpatterns = [*api_urlpatterns, path("bench/ceiling", ceiling)]
