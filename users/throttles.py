"""Login and registration limits, per client IP and per account; off with THROTTLE_ENABLED=0."""

import hashlib

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from users.models import normalize_email


class _Switchable(SimpleRateThrottle):
    def allow_request(self, request, view):
        if not settings.THROTTLE_ENABLED:
            return True
        return super().allow_request(request, view)


class LoginIpThrottle(_Switchable):
    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class RefreshIpThrottle(LoginIpThrottle):
    """Refreshing is not guessing a password: its own, wider budget per address."""

    scope = "refresh_ip"


class LoginAccountThrottle(_Switchable):
    """Slows guessing one account's password from many addresses."""

    scope = "login_account"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email:
            return None
        # Hashed: a fixed-length cache key whatever the client sends, and no email in the cache.
        ident = hashlib.sha256(normalize_email(email).encode(errors="surrogatepass")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RegisterIpThrottle(_Switchable):
    scope = "register_ip"

    def get_cache_key(self, request, view):
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
