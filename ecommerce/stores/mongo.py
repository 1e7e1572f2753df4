"""The MongoDB client: one per process, created lazily (so after gunicorn forks).

Only this module and each MongoDB app's repository.py read or write documents (health,
the error handler and the embedded server only ping or classify errors).
"""

import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bson import ObjectId
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pymongo import MongoClient, uri_parser
from pymongo.database import Database

from ecommerce.api.exceptions import NotFoundError

_lock = threading.Lock()
_client: MongoClient | None = None
_client_pid: int | None = None
_database: str | None = None
_engine: str | None = None
_index_builders: list[Callable[[Database], None]] = []

_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")


def embedded_url_file():
    return settings.DATA_DIR / "mongo.url"


def mongo_url() -> str:
    """MONGO_URL, or the URL of the embedded nx-27017 that `make run` started."""
    if settings.MONGO_URL:
        return settings.MONGO_URL
    url_file = embedded_url_file()
    if url_file.exists():
        return url_file.read_text().strip()
    raise ImproperlyConfigured(
        "MongoDB is not configured: set MONGO_URL, or start the embedded default with `make run`."
    )


def get_client() -> MongoClient:
    global _client, _client_pid, _database, _engine
    pid = os.getpid()
    if _client is None or _client_pid != pid:
        with _lock:
            if _client is None or _client_pid != pid:
                # A client inherited through fork() is unusable: build a new one.
                timeout = settings.MONGO_TIMEOUT_MS
                url = mongo_url()
                # Parsed once: a mongodb+srv:// URL costs DNS look-ups on every parse.
                _database = uri_parser.parse_uri(url).get("database") or settings.MONGO_DEFAULT_DB
                _engine = None
                _client = MongoClient(
                    url,
                    tz_aware=True,
                    connect=False,
                    serverSelectionTimeoutMS=timeout,
                    connectTimeoutMS=timeout,
                    socketTimeoutMS=timeout * 3,
                    appname="ecommerce-api",
                )
                _client_pid = pid
    return _client


def get_db() -> Database:
    client = get_client()
    return client[_database]


def server_engine() -> str:
    """What serves MongoDB here: `mongodb`, or `nx-27017` (the embedded default, the tests).
    Asked once per client."""
    global _engine
    if _engine is None:
        info = get_client().admin.command("buildInfo")
        _engine = "nx-27017" if info.get("process") == "nx_27017" else "mongodb"
    return _engine


def reset_client() -> None:
    """Drop the client (tests that point MONGO_URL elsewhere, shutdown)."""
    global _client, _client_pid, _engine
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
        _client_pid = None
        _engine = None


def register_indexes(builder: Callable[[Database], None]) -> Callable[[Database], None]:
    """Register a function that creates one app's indexes; `ensure_indexes` runs them all."""
    if builder not in _index_builders:
        _index_builders.append(builder)
    return builder


def ensure_indexes() -> None:
    """Create every registered index. Idempotent: create_index keeps existing ones."""
    db = get_db()
    for builder in _index_builders:
        builder(db)


def now_ms() -> datetime:
    """UTC now at MongoDB's millisecond precision, so a document written with it reads back equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def is_object_id(value: object) -> bool:
    """The one id check of every route and field: fullmatch, since `$` also matches before a
    trailing newline, and bson would then refuse "<24 hex>\\n" with a 500."""
    return isinstance(value, str) and bool(_OBJECT_ID.fullmatch(value))


def object_id_or_404(value: str, what: str = "Object") -> ObjectId:
    """A path id: a malformed ObjectId is an unknown object, so 404, never a 500."""
    if not is_object_id(value):
        raise NotFoundError(f"{what} not found.")
    return ObjectId(value)
