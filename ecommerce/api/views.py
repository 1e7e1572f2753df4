"""Health, liveness and the JSON answers for errors raised outside DRF."""

from django.conf import settings
from django.http import JsonResponse
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from ecommerce.api.exceptions import error_body
from ecommerce.stores.health import stores_health

_HealthSerializer = inline_serializer(
    "Health",
    {"status": serializers.ChoiceField(["ok", "degraded"]), "checks": serializers.DictField()},
)


@extend_schema(responses={200: _HealthSerializer, 503: _HealthSerializer}, auth=[])
@api_view(["GET"])
@authentication_classes([])  # probes send no token; a stale one must not make them fail
@permission_classes([AllowAny])
@throttle_classes([])
def health(request):
    """All three stores, each with its engine and latency; 503 when one is down."""
    report = stores_health()
    return Response(report, status=200 if report["status"] == "ok" else 503)


@extend_schema(responses={200: inline_serializer("Live", {"status": serializers.CharField()})}, auth=[])
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def live(request):
    """Liveness: the process answers; touches no database."""
    return Response({"status": "ok"})


def metrics(request):
    """Prometheus metrics for scrapers inside the network. Behind the load balancer a request
    that came through it (it carries X-Forwarded-For) is answered as if there were nothing."""
    if settings.BEHIND_PROXY and "HTTP_X_FORWARDED_FOR" in request.META:
        return not_found(request)
    return ExportToDjangoView(request)


def not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def server_error(request):
    return JsonResponse(error_body("internal_error", "An unexpected error occurred."), status=500)


def bad_request(request, exception=None):
    return JsonResponse(error_body("validation_error", "Bad request."), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)
