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


class _NoAnswer(Exception):
    """A cache that swallows its errors (django-redis's IGNORE_EXCEPTIONS) answered None to an increment."""


# django-redis raises either, depending on where the failure happened.
_UNREACHABLE = (ConnectionInterrupted, RedisError, _NoAnswer)
# One per process: what the counters hold while the shared cache is unreachable.
_local = LocMemCache("throttle-fallback", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 100_000}})


def _shared():
    # A configuration without the alias (a test's own CACHES) counts in its default cache.
    return caches["throttle" if "throttle" in settings.CACHES else "default"]


class _CounterCache:
    """The cache operations the throttles need: on the shared cache, else on the local one."""

    def _run(self, operation):
        skipped = redis_skipped()
        try:
            return operation(_shared())
        except _UNREACHABLE:
            if not skipped:  # once per outage and process, not once per request
                logger.warning("Rate-limit counters unreachable: counting in this process for now.")
            return operation(_local)

    def get(self, key, default=None):
        return self._run(lambda cache: cache.get(key, default))

    def set(self, key, value, timeout):
        self._run(lambda cache: cache.set(key, value, timeout))

    def add_to(self, key, delta: int, timeout: float) -> int:
        """Atomically add `delta` to the counter `key` (made with `timeout` if missing); the new value."""

        def add(cache):
            if delta > 0:
                cache.add(key, 0, timeout)
            try:
                value = cache.incr(key, delta)
            except ValueError:  # expired between the two calls, or nothing left to take back
                if delta < 0:
                    return 0
                cache.add(key, 0, timeout)
                value = cache.incr(key, delta)
            if not isinstance(value, int):
                raise _NoAnswer(key)
            return value

        return self._run(add)


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
    """Counts failed attempts, in fixed windows of the rate's duration. An attempt takes a slot
    before it runs, atomically, so parallel guesses cannot all pass the check at once; the
    view gives the slot back (`release`) when the attempt succeeded, was not an attempt (a
    400, a 405), or another limit refused it. Only failures stay counted; a refused request
    never counts."""

    slot: str | None = None

    def allow_request(self, request, view):
        self.slot = None
        if not settings.THROTTLE_ENABLED:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{key}:{window}"
        if self.cache.add_to(key, 1, self.duration) > self.num_requests:
            self.cache.add_to(key, -1, self.duration)
            return False
        self.slot = key
        return True

    def wait(self):
        return self.window_ends - self.now

    def release(self) -> None:
        """Give the attempt's slot back (idempotent)."""
        if self.slot is not None:
            self.cache.add_to(self.slot, -1, self.duration)
            self.slot = None
