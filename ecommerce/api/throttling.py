"""Rate limits that hold while Redis is away.

Counters live in the `throttle` cache: Redis shared by every replica when REDIS_URL is set
(without django-redis's IGNORE_EXCEPTIONS, so a failure is seen, not read as "no attempts
yet"), this process's memory otherwise. When Redis does not answer, counting goes on in a
local per-process counter until it does (ecommerce.stores.redis keeps the failed attempts
cheap): the limits get looser by the number of workers, never switched off.
Every app's throttle subclasses RateThrottle; THROTTLE_ENABLED=0 turns them all off.
"""

import logging

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from ecommerce.stores.redis import redis_skipped

logger = logging.getLogger(__name__)

# django-redis raises either, depending on where the failure happened.
_UNREACHABLE = (ConnectionInterrupted, RedisError)
# One per process: what the counters hold while the shared cache is unreachable.
_local = LocMemCache("throttle-fallback", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 100_000}})


def _shared():
    # A configuration without the alias (a test's own CACHES) counts in its default cache.
    return caches["throttle" if "throttle" in settings.CACHES else "default"]


class _CounterCache:
    """The get/set SimpleRateThrottle needs: the shared cache, else the local one."""

    def get(self, key, default=None):
        skipped = redis_skipped()
        try:
            return _shared().get(key, default)
        except _UNREACHABLE:
            if not skipped:  # once per outage and process, not once per request
                logger.warning("Rate-limit counters unreachable: counting in this process for now.")
            return _local.get(key, default)

    def set(self, key, value, timeout):
        try:
            _shared().set(key, value, timeout)
        except _UNREACHABLE:
            _local.set(key, value, timeout)


counters = _CounterCache()


def clear_local_counters() -> None:
    """Forget the fallback counts (tests)."""
    _local.clear()


class RateThrottle(SimpleRateThrottle):
    """DRF's sliding-window throttle on the resilient counters; off with THROTTLE_ENABLED=0."""

    cache = counters

    def allow_request(self, request, view):
        if not settings.THROTTLE_ENABLED:
            return True
        return super().allow_request(request, view)


class FailureThrottle(RateThrottle):
    """Counts failures, not requests: `allow_request` only checks the budget, and the view
    calls `record_failure` when the attempt failed. A request the limit refused is not an
    attempt, so it never counts."""

    def allow_request(self, request, view):
        if not settings.THROTTLE_ENABLED:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) < self.num_requests

    def record_failure(self) -> None:
        if not settings.THROTTLE_ENABLED or getattr(self, "key", None) is None:
            return
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
