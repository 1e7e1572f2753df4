"""The Django admin: its login under the same per-address limit as the API's login, and
the read-only base the apps use for what only orders may change."""

import functools

from django.contrib import admin
from django.http import HttpResponse

from users.throttles import LoginIpThrottle


def _throttled(login_view):
    @functools.wraps(login_view)
    def login(request, extra_context=None):
        throttle = LoginIpThrottle()
        if request.method == "POST" and not throttle.allow_request(request, None):
            wait = max(1, int((throttle.wait() or 1) + 0.999))
            response = HttpResponse("Too many login attempts; try again later.", status=429)
            response["Retry-After"] = str(wait)
            return response
        return login_view(request, extra_context)

    return login


admin.site.login = _throttled(admin.site.login)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff read these rows here; nobody adds, edits or deletes them by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
