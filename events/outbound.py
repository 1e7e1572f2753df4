"""Outbound HTTP for webhooks, safe against the receiver and against SSRF.

- Only http/https URLs; the host is resolved and every address it resolves to is checked:
  loopback, private, link-local, multicast, reserved and unspecified addresses are refused
  (unless WEBHOOKS_ALLOW_PRIVATE, for local development and the tests). The check runs when
  a webhook is saved and again at every delivery (DNS can change), and the connection goes
  to the very address that was checked, so a name cannot re-resolve in between (rebinding).
- One deadline (10 s) for connecting, sending and reading; redirects are not followed (a
  3xx is a failed attempt); at most RESPONSE_LIMIT bytes of the answer are read.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from events.exceptions import WebhookUrlRefused

RESPONSE_LIMIT = 4096
USER_AGENT = "ecommerce-webhooks/1.0"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    error: str
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(url: str, *, allow_private: bool | None = None) -> Target:
    """Check `url` and pick the address to connect to; WebhookUrlRefused says why not."""
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE if allow_private is None else allow_private
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlRefused("Only http and https URLs are accepted.")
    if not parts.hostname:
        raise WebhookUrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise WebhookUrlRefused("Credentials in the URL are not accepted.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookUrlRefused("The URL's port is not valid.") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise WebhookUrlRefused("The URL's host does not resolve.") from None
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise WebhookUrlRefused("The URL's host does not resolve.")
    # Every address, not just the first: a name answering one public and one private
    # address could otherwise be steered to the private one.
    if not allow_private and any(_forbidden(address) for address in addresses):
        raise WebhookUrlRefused("The URL's host resolves to a loopback, private or link-local address.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the URL's host name, not the pinned address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Outcome:
    """POST `body` to `url`; never raises for what the receiver or the network does."""
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS if timeout is None else timeout
    started = time.monotonic()
    deadline = started + timeout

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = resolve(url)
    except WebhookUrlRefused as exc:
        return Outcome(None, elapsed_ms(), f"refused: {exc.message}")
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = cls(target, timeout)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
            },
        )
        # Kept: with Connection: close, getresponse() hands the socket over to the response.
        sock = connection.sock
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        response = connection.getresponse()
        received = b""
        # Read at most RESPONSE_LIMIT bytes, each read bounded by what is left of the deadline.
        while len(received) < RESPONSE_LIMIT:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError()
            sock.settimeout(remaining)
            chunk = response.read1(RESPONSE_LIMIT - len(received))
            if not chunk:
                break
            received += chunk
        status = response.status
        if 300 <= status < 400:
            return Outcome(status, elapsed_ms(), "redirect not followed", received)
        return Outcome(status, elapsed_ms(), "" if 200 <= status < 300 else f"HTTP {status}", received)
    except TimeoutError:
        return Outcome(None, elapsed_ms(), f"timeout after {timeout:g} s")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        return Outcome(None, elapsed_ms(), f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
