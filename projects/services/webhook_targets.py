"""Safe webhook targets: where a webhook may be sent, and sending it there.

A URL is https (plain http only with STUDIO_WEBHOOKS_ALLOW_HTTP) to a host
whose every address is public (private, loopback, link-local, multicast and
reserved ones only with STUDIO_WEBHOOKS_ALLOW_PRIVATE). The name is resolved
once per delivery and the connection made to the address that was checked,
with the name in the Host header and TLS's SNI and certificate check, so a
DNS answer that changes between the check and the connection cannot send
the request inside the network. Redirects are never followed, timeouts are
short and only the first kilobyte of an answer is read.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from projects.services.errors import StudioError

# How much of a receiver's answer is read and kept.
RESPONSE_PREFIX_BYTES = 1024


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host name has, as the system's resolver answers."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


# The resolver deliveries and registrations ask: the system's, unless
# replaced (tests point it at answers of their own).
resolve_host: Callable[[str, int], list[str]] = system_resolver


class TargetRefused(StudioError):
    """A URL the studio will not send to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with its query


@dataclass(frozen=True)
class Answer:
    status: int
    body_prefix: str
    latency_ms: int


class SendFailed(Exception):
    """No answer: the connection was refused, timed out or broke."""

    def __init__(self, message: str, *, latency_ms: int):
        super().__init__(message)
        self.message = message
        self.latency_ms = latency_ms


_V4 = r"(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])"
_H16 = r"[0-9A-Fa-f]{1,4}"
_V6 = (
    rf"(?:(?:{_H16}:){{7}}{_H16}|(?:{_H16}:){{1,7}}:|(?:{_H16}:){{1,6}}:{_H16}"
    rf"|(?:{_H16}:){{1,5}}(?::{_H16}){{1,2}}|(?:{_H16}:){{1,4}}(?::{_H16}){{1,3}}"
    rf"|(?:{_H16}:){{1,3}}(?::{_H16}){{1,4}}|(?:{_H16}:){{1,2}}(?::{_H16}){{1,5}}"
    rf"|{_H16}:(?::{_H16}){{1,6}}|:(?:(?::{_H16}){{1,7}}|:)"
    rf"|::(?:ffff(?::0{{1,4}})?:)?{_V4}|(?:{_H16}:){{1,4}}:{_V4})"
)
# A host name (or IPv4 address) or a bracketed IPv6 address.
_HOST = rf"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[{_V6}\])"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
# The path and query in printable ASCII (anything else percent-encoded), no
# #fragment: what an HTTP request line carries as it is.
_REST = r"(?:[/?][\x21\x22\x24-\x7e]*)?"


def url_pattern() -> str:
    """The shape of a URL a webhook may have, as a regular expression: the
    check below and the API's schema both use it."""
    scheme = "https?" if settings.STUDIO_WEBHOOKS_ALLOW_HTTP else "https"
    return f"^{scheme}://{_HOST}{_PORT}{_REST}$"


def target_checked(url: str) -> Target:
    """The URL's parts, or TargetRefused saying what is wrong with it."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise TargetRefused(f"This is not a URL: {error}.", field="url") from error
    allowed = {"https", "http"} if settings.STUDIO_WEBHOOKS_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise TargetRefused("Webhook URLs must start with https://.", field="url")
    if not parts.hostname:
        raise TargetRefused("The URL needs a host name.", field="url")
    if parts.username or parts.password:
        raise TargetRefused("Put no user name or password in the URL.", field="url")
    if parts.fragment:
        raise TargetRefused("A webhook URL has no #fragment.", field="url")
    host = parts.hostname
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise TargetRefused("The URL's host name is not valid.", field="url") from error
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in path + host):
        raise TargetRefused("The URL may not contain spaces or control characters.", field="url")
    if not re.fullmatch(url_pattern(), url):
        raise TargetRefused(
            "Give the URL as https://host[:port]/path, the host a name, an IPv4 address "
            "or an [IPv6] address.",
            field="url",
        )
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


def _refused_address(address: str) -> str:
    """Why the address may not be sent to, or "" when it may."""
    if settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE:
        return ""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "a reserved address"
    return ""


def address_checked(target: Target) -> str:
    """The address to connect to: the host is resolved now, and refused if
    any of its addresses is one the studio does not send to."""
    try:
        addresses = resolve_host(target.host, target.port)
    except (OSError, UnicodeError) as error:
        raise TargetRefused(f"{target.host} could not be resolved: {error}.", field="url") from None
    if not addresses:
        raise TargetRefused(f"{target.host} has no address.", field="url")
    for address in addresses:
        try:
            reason = _refused_address(address)
        except ValueError:
            reason = "not an IP address"
        if reason:
            if address == target.host:
                said = f"{address} is {reason}"
            else:
                said = f"{target.host} resolves to {address}, {reason}"
            raise TargetRefused(f"{said}: webhooks go to public addresses only.", field="url")
    return addresses[0]


def url_checked(url: str) -> str:
    """A URL fit to register (its host resolved and checked now; it is
    checked again at every delivery)."""
    address_checked(target_checked(url))
    return url.strip()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: SNI and the certificate's check use the name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST the body to the URL's checked address. TargetRefused when the URL
    or its address is not allowed, SendFailed when there was no answer."""
    target = target_checked(url)
    address = address_checked(target)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        target.host,
        target.port,
        address=address,
        timeout=settings.STUDIO_WEBHOOKS_TIMEOUT_SECONDS,
    )
    started = time.monotonic()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        prefix = response.read(RESPONSE_PREFIX_BYTES)
    except (OSError, http.client.HTTPException) as error:
        latency = int((time.monotonic() - started) * 1000)
        message = "timed out" if isinstance(error, TimeoutError) else str(error) or repr(error)
        raise SendFailed(f"No answer from {target.host}: {message}.", latency_ms=latency) from None
    finally:
        connection.close()
    return Answer(
        status=response.status,
        body_prefix=prefix.decode("utf-8", errors="replace").replace("\x00", ""),
        latency_ms=int((time.monotonic() - started) * 1000),
    )
