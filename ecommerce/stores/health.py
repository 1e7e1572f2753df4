"""Health of the three stores, for /health and the readiness probe."""

import logging
import time

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections
from pymongo.errors import PyMongoError

from ecommerce.api.exceptions import STORE_NAMES
from ecommerce.stores import mongo

logger = logging.getLogger(__name__)


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        engine = check()
    except (DatabaseError, PyMongoError, ImproperlyConfigured) as exc:
        # The full message names hosts and users: it goes to the log, not to anonymous callers.
        logger.warning("Health check failed: %s", exc)
        return {"status": "error", "error": exc.__class__.__name__}
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return {"status": "ok", "engine": engine, "latency_ms": latency_ms}


def _sql_check(alias: str):
    def check() -> str:
        connection = connections[alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError:
            # Drop the broken connection so the next request reconnects.
            connection.close()
            raise
        return connection.vendor

    return check


def _mongo_check() -> str:
    mongo.get_client().admin.command("ping")
    return mongo.server_engine()


def stores_health() -> dict:
    """{"status": "ok"|"degraded", "checks": {store: {...}}}."""
    checks = {STORE_NAMES[alias]: _timed(_sql_check(alias)) for alias in ("default", "mysql")}
    checks["mongodb"] = _timed(_mongo_check)
    healthy = all(check["status"] == "ok" for check in checks.values())
    return {"status": "ok" if healthy else "degraded", "checks": checks}
