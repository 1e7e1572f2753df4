"""The staff back office: Django's admin site, with

- a dashboard on its index (today's orders and revenue, stock running low, orders waiting to
  be shipped), each figure from the apps' selectors and linked to the list it counts;
- "View site" leading to the API's documentation;
- its login under the same per-address limit as the API's login (in the shared cache, so
  every worker counts the same attempts).

This module is wiring, like urls.py: it may read every app; the apps' admin modules never
import it (their shared pieces are in ecommerce.admin_kit).
"""

import functools
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from analytics import selectors as analytics_selectors
from inventory import selectors as inventory_selectors
from orders import selectors as order_selectors
from users.throttles import LoginIpThrottle

admin.site.site_header = "Shop back office"
admin.site.site_title = "Shop back office"
admin.site.index_title = "Dashboard"
admin.site.site_url = "/api/docs"
admin.site.index_template = "admin/shop/index.html"


def _throttled(login_view):
    @functools.wraps(login_view)
    def login(request, extra_context=None):
        throttle = LoginIpThrottle()
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
