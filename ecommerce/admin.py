"""The staff back office: Django's admin site, with

- a dashboard on its index (today's orders and revenue, stock running low, orders waiting to
  be shipped), each figure from the apps' selectors and linked to the list it counts;
- "View site" leading to the API's documentation;
- its login under the per-address limit of the API's login (THROTTLE_LOGIN_IP_RATE), counted
  where every worker of the server sees the same attempts, Redis or not.

This module is wiring, like urls.py: it may read every app; the apps' admin modules never
import it (their shared pieces are in ecommerce.backoffice.kit).
"""

import functools
import logging
from datetime import datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.cache.backends.filebased import FileBasedCache
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from analytics import selectors as analytics_selectors
from inventory import selectors as inventory_selectors
from orders import selectors as order_selectors
from users.throttles import LoginIpThrottle

logger = logging.getLogger(__name__)

admin.site.site_header = "Shop back office"
admin.site.site_title = "Shop back office"
admin.site.index_title = "Dashboard"
admin.site.site_url = "/api/docs"
admin.site.index_template = "admin/shop/index.html"


class _SharedCounters:
    """Login attempts counted across the workers of one gunicorn server.

    With REDIS_URL the throttle's own cache is shared by every replica already. Without it,
    that cache lives in each worker's memory, so N workers would allow N times the limit:
    the counts go to files under DATA_DIR (one server per DATA_DIR), which every worker of
    the server reads. Two attempts landing at the same instant may count once (read, then
    write); guessing one after another is counted in full. Where DATA_DIR cannot be written
    (a read-only container, which runs with Redis), counting falls back to the worker's own."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.files = FileBasedCache(str(Path(settings.DATA_DIR) / "admin-login-attempts"), {})

    def get(self, key, default=None):
        try:
            return self.files.get(key, default)
        except OSError:
            return self.fallback.get(key, default)

    def set(self, key, value, timeout):
        try:
            self.files.set(key, value, timeout)
        except OSError:
            logger.warning("Admin login attempts cannot be kept in %s; counting per worker.", settings.DATA_DIR)
            self.fallback.set(key, value, timeout)


class AdminLoginThrottle(LoginIpThrottle):
    """Every POST to the admin's login form, per client address (THROTTLE_LOGIN_IP_RATE)."""

    def allow_request(self, request, view):
        # Only gunicorn runs several workers; a single process (runserver, the tests' own
        # client) counts in its memory like every other limit.
        if not settings.REDIS_URL and request.META.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
            self.cache = _SharedCounters(fallback=self.cache)
        return super().allow_request(request, view)


def _throttled(login_view):
    @functools.wraps(login_view)
    def login(request, extra_context=None):
        throttle = AdminLoginThrottle()
        if request.method == "POST" and not throttle.allow_request(request, None):
            wait = max(1, int((throttle.wait() or 1) + 0.999))
            response = HttpResponse("Too many login attempts; try again later.", status=429, content_type="text/plain")
            response["Retry-After"] = str(wait)
            return response
        return login_view(request, extra_context)

    return login


def _link(name: str, **params) -> str:
    url = reverse(name)
    return f"{url}?{urlencode(params)}" if params else url


def dashboard(request) -> list[dict]:
    """The index's figures, each shown only to staff who may open the list it links to."""
    user = request.user
    today = timezone.localdate()
    tiles = []
    if user.has_perm("orders.view_order"):
        start = timezone.make_aware(datetime.combine(today, time.min))
        placed_today = order_selectors.order_list().filter(
            created_at__gte=start, created_at__lt=start + timedelta(days=1)
        )
        tiles.append(
            {
                "label": "Orders today",
                "value": placed_today.count(),
                "url": _link(
                    "admin:orders_order_changelist",
                    created_at__day=today.day,
                    created_at__month=today.month,
                    created_at__year=today.year,
                ),
            }
        )
        tiles.append(
            {
                "label": "Paid, waiting to be shipped",
                "value": order_selectors.order_list(status="paid").count(),
                "url": _link("admin:orders_order_changelist", status__exact="paid"),
            }
        )
    if user.has_perm("analytics.view_dailysales"):
        summary = analytics_selectors.revenue_summary(date_from=today, date_to=today)
        tiles.append(
            {
                "label": "Net revenue today",
                "value": f"{summary['net']}",
                "detail": f"{summary['gross']} gross, {summary['cancelled']} cancelled",
                "url": _link(
                    "admin:analytics_dailysales_changelist",
                    date__day=today.day,
                    date__month=today.month,
                    date__year=today.year,
                ),
            }
        )
    if user.has_perm("inventory.view_inventory"):
        tiles.append(
            {
                "label": "Products low on stock",
                "value": inventory_selectors.inventory_low_stock().count(),
                "url": _link("admin:inventory_inventory_changelist", stock="low"),
            }
        )
    return tiles


def _with_dashboard(index_view):
    @functools.wraps(index_view)
    def index(request, extra_context=None):
        return index_view(request, {"dashboard": dashboard(request), **(extra_context or {})})

    return index


admin.site.login = _throttled(admin.site.login)
admin.site.index = _with_dashboard(admin.site.index)
