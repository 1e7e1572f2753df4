"""Test helpers shared by every app: API clients with real JWTs, a live gunicorn server, and
`make run`'s own server on the embedded default."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from ecommerce.tooling.embedded import free_port
from ecommerce.tooling.serve import gunicorn_command

BASE_DIR = Path(__file__).resolve().parents[2]
TEST_PASSWORD = "Str0ng-Passw0rd!"


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def make_user(email: str, *, staff: bool = False, password: str = TEST_PASSWORD, **fields):
    from users.models import User

    return User.objects.create_user(email, password, is_staff=staff, **fields)


def throttle_window_with_time_left(seconds: float, *, window: float = 60.0) -> None:
    """Sleep into the next fixed throttle window unless `seconds` are left in this one.

    Failed logins are counted in fixed windows (ecommerce.api.throttling.FailureThrottle):
    a burst against a live server that crossed into the next window would be counted
    afresh there, and a test of "the limit's worth, then 429" would fail by the clock."""
    left = window - time.time() % window
    if left < seconds:
        time.sleep(left + 0.1)


def database_url(alias: str) -> str:
    """A URL for the (test) database behind `alias`, for a server in another process."""
    s = connections[alias].settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    scheme = {"django.db.backends.postgresql": "postgres", "django.db.backends.mysql": "mysql"}[s["ENGINE"]]
    auth = quote(s["USER"] or "")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"])
    return f"{scheme}://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT']}/{s['NAME']}"


class LiveServer:
    """The API under gunicorn in its own processes, on the test databases: what a pod is."""

    def __init__(self, *, workers: int = 3, extra_env: dict | None = None):
        self.port = free_port()
        self.workers = workers
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="ecommerce.testing.settings",
            DATABASE_URL=database_url("default"),
            MYSQL_URL=database_url("mysql"),
            MONGO_URL=settings.MONGO_URL,
            PORT=str(self.port),
            HOST_BIND="127.0.0.1",
            WEB_CONCURRENCY=str(self.workers),
            THROTTLE_ENABLED="0",
            ACCESS_LOG="0",
            LOG_LEVEL="WARNING",
            DB_CONN_MAX_AGE="60",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60) -> "LiveServer":
        self.process = subprocess.Popen(gunicorn_command(), cwd=BASE_DIR, env=self.env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                # bandit B310 (file:// or custom schemes): the URL is always http://127.0.0.1, our server.
                with urllib.request.urlopen(f"{self.url}/health/live", timeout=2) as response:  # nosec B310
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer on {self.url} in {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def embedded_serve(data_dir: Path, port: int, *, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """`make run` with nothing configured (`python -m ecommerce.tooling.serve`): SQLite and an
    nx-27017 of its own, its files under `data_dir`, serving on 127.0.0.1:`port`."""
    configured = {"DATABASE_URL", "MYSQL_URL", "MONGO_URL", "SECRET_KEY"}
    environment = {k: v for k, v in os.environ.items() if k not in configured} | {
        "DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(data_dir.parent / "static"),
        "PORT": str(port),
        "HOST_BIND": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "DJANGO_SETTINGS_MODULE": "ecommerce.settings",
    }
    command = [sys.executable, "-m", "ecommerce.tooling.serve"]
    return subprocess.Popen(command, cwd=BASE_DIR, env=environment | (env or {}), **popen)


def wait_healthy(server: subprocess.Popen, port: int, timeout: float = 240) -> str:
    """Wait until the server's /health answers 200; its base URL. A server that exits first,
    or answers nothing healthy in `timeout` seconds, fails the test."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited with {server.returncode}"
        try:
            # A worker still importing the app under load can take more than a few seconds.
            if urllib.request.urlopen(f"{base}/health", timeout=30).status == 200:  # noqa: S310  # nosec B310
                return base
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing healthy served on port {port} in {timeout} s")
