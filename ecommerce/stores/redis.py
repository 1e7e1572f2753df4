"""Redis as the replicas' shared cache, and nothing more: a Redis that is down or frozen must
cost a request tens of milliseconds at most, once, not seconds on every cache call.

Every connection of this process goes through one breaker: after a connect, send or read
fails (refused, reset, or timed out after REDIS_TIMEOUT_MS), Redis is skipped for
REDIS_RETRY_SECONDS: commands fail at once without touching the network, which the caches
treat as a miss (catalog) or answer from a local counter (rate limits,
ecommerce.api.throttling). The first command after the pause tries Redis again.
"""

import threading
import time

from django.conf import settings
from django_redis.pool import ConnectionFactory
from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_lock = threading.Lock()
_skip_until = 0.0


def redis_skipped() -> bool:
    """True while the breaker keeps this process away from Redis."""
    return time.monotonic() < _skip_until


def _trip() -> None:
    global _skip_until
    with _lock:
        _skip_until = time.monotonic() + settings.REDIS_RETRY_SECONDS


def reset_breaker() -> None:
    """Close the breaker (tests, or once Redis is known to be back)."""
    global _skip_until
    with _lock:
        _skip_until = 0.0


class _Breaker:
    """A redis-py connection that fails fast while the breaker is open and trips it on failure."""

    def connect_check_health(self, *args, **kwargs):
        if redis_skipped():
            raise RedisConnectionError("Redis skipped for a moment after a failure.")
        try:
            return super().connect_check_health(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            _trip()
            raise

    def send_packed_command(self, *args, **kwargs):
        try:
            return super().send_packed_command(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            _trip()
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError):
            _trip()
            raise


class BreakerConnection(_Breaker, Connection):
    pass


class BreakerSSLConnection(_Breaker, SSLConnection):
    pass


class BreakerUnixConnection(_Breaker, UnixDomainSocketConnection):
    pass


_BY_SCHEME = {"rediss": BreakerSSLConnection, "unix": BreakerUnixConnection}


class BreakerConnectionFactory(ConnectionFactory):
    """django-redis's factory, with pools of breaker connections (OPTIONS["CONNECTION_FACTORY"])."""

    def get_connection_pool(self, params):
        scheme = params["url"].split(":", 1)[0].lower()
        connection_class = _BY_SCHEME.get(scheme, BreakerConnection)
        return super().get_connection_pool({**params, "connection_class": connection_class})
