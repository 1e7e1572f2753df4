"""A webhook receiver of the tests' own on 127.0.0.1, and relays run as real processes."""

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ecommerce.testing.helpers import BASE_DIR, LiveServer


@dataclass
class Received:
    headers: dict
    body: bytes
    at: float

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST. `statuses` answers the first requests in turn (then 200);
    `delay` seconds are slept before answering; `concurrent_repeats` counts requests for an
    event id that arrived while another request for it was still being answered."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    concurrent_repeats: int = 0

    def __post_init__(self):
        self._lock = threading.Lock()
        self._active: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                event_id = self.headers.get("webhook-id", "")
                with receiver._lock:
                    if receiver._active.get(event_id):
                        receiver.concurrent_repeats += 1
                    receiver._active[event_id] = receiver._active.get(event_id, 0) + 1
                    receiver.received.append(Received(dict(self.headers), body, time.monotonic()))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                finally:
                    with receiver._lock:
                        receiver._active[event_id] -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self) -> list[dict]:
        with self._lock:
            return [item.event for item in self.received]

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.events()
            time.sleep(0.05)
        raise AssertionError(f"received {len(self.received)} of {count} deliveries in {timeout}s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


RELAY_ENV = {"WEBHOOKS_ALLOW_PRIVATE": "1", "EVENTS_RETRY_BASE_MS": "300", "LOG_LEVEL": "WARNING"}


class RelayProcess:
    """`manage.py deliver_events` on the test databases, in its own process."""

    def __init__(self, *args: str, **env: str):
        self.args = ["--poll-ms", "50", *args]
        self.env = {**LiveServer().env(), **RELAY_ENV, **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> "RelayProcess":
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "deliver_events", *self.args], cwd=BASE_DIR, env=self.env
        )
        return self

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit status once it stopped."""
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=timeout)


def wait_until(predicate, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not met in {timeout}s")
