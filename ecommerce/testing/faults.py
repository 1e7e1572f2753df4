"""A TCP proxy on 127.0.0.1 in front of a store, for every suite that makes a store fail:
refused, frozen, cut, or losing a commit's answer.

Armed with the SQL a transaction sends (say `INSERT INTO "orders_order"`), the proxy acts on
the COMMIT of the next transaction that sent it, on any of its connections, once:

- `LOSE_ANSWER`: the COMMIT is forwarded, then the connection is cut before the server's
  answer reaches the client: the write lands, the client cannot know it did;
- `DROP_COMMIT`: the connection is cut instead of forwarding the COMMIT: nothing lands, and
  the client sees the same error.

`refuse()` makes the store unreachable (new connections refused, open ones dropped) until
`restore()`; `then_refuse` does it right after a fault fires, so the client cannot ask the
store what happened. `freeze()` keeps connections open but forwards nothing either way until
`thaw()` (a hung server, a black-holed link); a proxy without a target is frozen for good.
The proxy reads PostgreSQL's and MySQL's wire protocols only as far as finding statement
text in what the client sends: statements are small and sent whole.
"""

import re
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlparse

from ecommerce.tooling.embedded import free_port

LOSE_ANSWER = "lose_answer"
DROP_COMMIT = "drop_commit"

# COMMIT as a statement of its own: not `autocommit`, not the word `committed` in a value.
_COMMIT = re.compile(rb"(?<![A-Za-z_'])COMMIT(?![A-Za-z_'])", re.IGNORECASE)
_ROLLBACK = re.compile(rb"(?<![A-Za-z_'])ROLLBACK(?![A-Za-z_' ])", re.IGNORECASE)


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass


class _Link:
    """One client connection and its upstream, with what its open transaction has sent."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.marked = False  # the open transaction sent the armed statement
        self.silenced = False  # the server's answers no longer reach the client


# The setting that points the server at each store.
STORE_SETTINGS = {"postgres": "DATABASE_URL", "mysql": "MYSQL_URL", "mongodb": "MONGO_URL"}


@contextmanager
def server_behind_proxies(live_server_factory, urls: dict[str, str], *, workers: int, **env: str):
    """A live gunicorn that reaches each store of `urls` ({"postgres": its URL, ...}) through a
    FaultProxy of its own; yields (server, {store: proxy}), and stops them all after."""
    proxies = {}
    for store, url in urls.items():
        target = urlparse(url)
        proxies[store] = FaultProxy(target.hostname, target.port)
    proxied = {STORE_SETTINGS[store]: proxied_url(url, proxies[store]) for store, url in urls.items()}
    server = live_server_factory(workers=workers, extra_env=proxied | env)
    try:
        yield server, proxies
    finally:
        server.stop()
        for proxy in proxies.values():
            proxy.close()


def restore_all(proxies: dict[str, "FaultProxy"]) -> None:
    """Every store reachable again, nothing armed: what each test of a shared server starts from."""
    for proxy in proxies.values():
        proxy.restore()


def proxied_url(url: str, proxy: "FaultProxy") -> str:
    """A database URL with its host and port replaced by the proxy's."""
    parsed = urlparse(url)
    auth = parsed.netloc.rpartition("@")[0]
    return parsed._replace(netloc=f"{auth + '@' if auth else ''}127.0.0.1:{proxy.port}").geturl()


class FaultProxy:
    def __init__(self, target_host: str | None = None, target_port: int | None = None):
        self.target = (target_host, target_port) if target_host is not None else None
        self.accepted = 0  # connections taken
        self._thawed = threading.Event()
        self._thawed.set()
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._refusing = False
        self._stopped = threading.Event()
        self._armed: tuple[bytes, str, bool] | None = None
        self.fired = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    # --- the test's controls ---------------------------------------------------------

    def arm(self, *, after: bytes, fault: str, then_refuse: bool = False) -> None:
        """Act on the COMMIT of the next transaction that sends `after` (once)."""
        assert fault in (LOSE_ANSWER, DROP_COMMIT)
        with self._lock:
            self.fired.clear()
            self._armed = (after, fault, then_refuse)
            for link in self._links:
                link.marked = False

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def refuse(self) -> None:
        """The store goes away: new connections refused, open ones dropped."""
        with self._lock:
            self._refusing = True
            links, self._links = self._links, []
        for link in links:
            _close(link.client, link.upstream)

    def restore(self) -> None:
        with self._lock:
            self._refusing = False
            self._armed = None

    def freeze(self) -> None:
        """Forward nothing, either way, until thaw(); connections are still accepted."""
        self._thawed.clear()

    def thaw(self) -> None:
        self._thawed.set()

    def cut_all(self) -> None:
        """Drop every open connection (the store stays reachable for new ones)."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            _close(link.client, link.upstream)

    def close(self) -> None:
        self.refuse()
        _close(*self._held)
        self._thawed.set()
        self._stopped.set()
        self._listener.close()

    # --- the proxy ---------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                _close(client)
                continue
            self.accepted += 1
            if self.target is None:
                self._held.append(client)  # held open, never answered
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._from_client, args=(link,), daemon=True).start()
            threading.Thread(target=self._from_server, args=(link,), daemon=True).start()

    def _fault_for(self, link: _Link, chunk: bytes) -> tuple[str, bool] | None:
        """Decide, under the lock, whether this chunk is the COMMIT to act on."""
        with self._lock:
            if self._armed is None:
                return None
            after, fault, then_refuse = self._armed
            if after in chunk:
                link.marked = True
                return None
            if link.marked and _ROLLBACK.search(chunk):
                link.marked = False
                return None
            if link.marked and _COMMIT.search(chunk):
                self._armed = None
                link.marked = False
                return fault, then_refuse
        return None

    def _from_client(self, link: _Link) -> None:
        try:
            while chunk := link.client.recv(65536):
                self._thawed.wait()
                action = self._fault_for(link, chunk)
                if action is None:
                    link.upstream.sendall(chunk)
                    continue
                fault, then_refuse = action
                link.silenced = True
                if then_refuse:
                    # Before the client can open a new connection to ask what happened.
                    with self._lock:
                        self._refusing = True
                        others = [other for other in self._links if other is not link]
                    for other in others:
                        _close(other.client, other.upstream)
                self.fired.set()
                if fault == LOSE_ANSWER:
                    link.upstream.sendall(chunk)
                    # The client loses the answer; the server, which has the COMMIT, sees the
                    # connection end only after it had time to process it.
                    _close(link.client)
                    time.sleep(0.3)
                _close(link.client, link.upstream)
                return
        except OSError:
            pass
        finally:
            self._drop(link)

    def _from_server(self, link: _Link) -> None:
        try:
            while chunk := link.upstream.recv(65536):
                self._thawed.wait()
                if link.silenced:
                    continue
                link.client.sendall(chunk)
        except OSError:
            pass
        finally:
            self._drop(link)

    def _drop(self, link: _Link) -> None:
        _close(link.client, link.upstream)
        with self._lock:
            if link in self._links:
                self._links.remove(link)
