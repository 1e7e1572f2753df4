"""Test helpers shared by every app: API clients with real JWTs, and a live gunicorn server."""

import os
import subprocess
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


class TcpProxy:
    """A TCP proxy to a store that a test can cut and restore: a database going down and back."""

    def __init__(self, target_host: str, target_port: int):
        import socket
        import threading

        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._open = threading.Event()
        self._open.set()
        self._stopped = threading.Event()
        self._pairs: list = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        import socket

        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                except OSError:
                    pass

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self.cut()
        self._stopped.set()
        self._listener.close()
