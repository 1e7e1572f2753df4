"""Login, refresh and registration limits; off with THROTTLE_ENABLED=0.

API logins count failures, per client address and per (account, address): a stranger's
wrong guesses, from wherever, never lock the owner out from their own address, and a guess
a limit refused is not counted (FailureThrottle, which also holds under parallel guesses).
Guessing one password from many addresses is slowed by each address's budget and by
Argon2, not by locking the account.
"""

import hashlib

from ecommerce.api.throttling import FailureThrottle, RateThrottle
from users.models import normalize_email


def _account_at(request, address: str) -> str | None:
    email = request.data.get("email") if hasattr(request.data, "get") else None
    if not isinstance(email, str) or not email:
        return None
    # Hashed: a fixed-length cache key whatever the client sends, and no email in the cache.
    pair = f"{normalize_email(email)}\0{address}"
    return hashlib.sha256(pair.encode(errors="surrogatepass")).hexdigest()


class LoginIpThrottle(RateThrottle):
    """Every login attempt from one address: the admin's login form (at the same rate as,
    but counted apart from, the API's failures)."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginFailuresPerAddress(FailureThrottle):
    """Failed API logins from one address, whatever the account."""

    scope = "login_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginFailuresPerAccountAddress(FailureThrottle):
    """Failed logins to one account from one address."""

    scope = "login_account"

    def get_cache_key(self, request, view):
        ident = _account_at(request, self.get_ident(request))
        if ident is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class RefreshIpThrottle(LoginIpThrottle):
    """Refreshing is not guessing a password: its own, wider budget per address."""

    scope = "refresh_ip"


class RegisterIpThrottle(RateThrottle):
    scope = "register_ip"

    def get_cache_key(self, request, view):
        if request.method != "POST":
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
