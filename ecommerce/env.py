"""Reading configuration from the environment, failing fast on bad values."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# The stores' URLs: with none of them set, the embedded default runs everything under DATA_DIR.
STORE_URLS = ("DATABASE_URL", "MYSQL_URL", "MONGO_URL")


def embedded() -> bool:
    """The embedded default: no store configured (settings.EMBEDDED, tooling.serve)."""
    return not any(env_str(name) for name in STORE_URLS)


def data_dir() -> Path:
    """DATA_DIR, by default `var/` in the project: the embedded default's files, the lock of
    the server that serves them, the generated secret key."""
    return Path(env_str("DATA_DIR", str(Path(__file__).resolve().parent.parent / "var"))).resolve()
