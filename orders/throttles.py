"""The limit on orders per customer: place-and-cancel cycles cost the shop (reservations,
sales figures, events), so one account may place THROTTLE_ORDER_RATE orders (30 a minute
by default); past it, 429 `rate_limited` with Retry-After. Counted on the shared counters
that keep counting while Redis is away (ecommerce.api.throttling); off with THROTTLE_ENABLED=0."""

from django.conf import settings

from ecommerce.api.throttling import RateThrottle


class OrderPlaceThrottle(RateThrottle):
    scope = "order_place"

    def get_rate(self) -> str:
        return settings.THROTTLE_ORDER_RATE

    def get_cache_key(self, request, view):
        # Per account (a customer behind many addresses is one customer); anonymous callers
        # are refused by authentication before any order is placed.
        if request.method != "POST" or not request.user or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
