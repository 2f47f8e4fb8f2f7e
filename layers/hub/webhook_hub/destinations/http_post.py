"""One signed POST to a destination, through the SSRF guard.

The host is resolved once, every address is checked (``core.url_safety``), and the connection goes to a checked
address with the original host name for ``Host`` and TLS, so a second lookup cannot lead elsewhere. Redirects are
never followed (a 3xx is an answer like any other non-2xx) and at most ``MAX_ANSWER_BYTES`` of the answer is read.
urllib3 comes with botocore in the Lambda runtime.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping, Sequence

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError

from webhook_hub.core.destinations import AttemptResult
from webhook_hub.core.redact import REDACTED
from webhook_hub.core.url_safety import Target, UnsafeUrl, check_addresses, parse_target
from webhook_hub.core.values import printable

MAX_ANSWER_BYTES = 4_096
SNIPPET_CHARS = 200
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
MAX_ADDRESSES_TRIED = 2
"""An IPv4 and an IPv6 address, say: bounds one attempt to 2 x 5 s + 15 s (template.yaml: ForwardFunction)."""
"""Longer than EventBridge API destinations' fixed 5 s: a desktop server behind a tunnel can be slow."""

Resolver = Callable[[str, int], list[str]]

_FAILURES = {
    "NewConnectionError": "cannot connect",
    "ConnectTimeoutError": f"no connection within {CONNECT_TIMEOUT:g} s",
    "ReadTimeoutError": f"no answer within {READ_TIMEOUT:g} s",
    "ProtocolError": "the connection broke",
    "SSLError": "TLS failed (certificate or handshake)",
}


def _failure(error: HTTPError) -> str:
    return _FAILURES.get(type(error).__name__, type(error).__name__)


def resolve(host: str, port: int) -> list[str]:
    """Every address of the host (IPv4 and IPv6)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def safe_addresses(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> tuple[Target, list[str]]:
    """The URL's target and its addresses, or ``UnsafeUrl``; ``OSError`` when the name does not resolve."""
    target = parse_target(url)
    addresses = resolver(target.host, target.port)
    check_addresses(addresses, allow_private=allow_private)
    return target, addresses


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    allow_private: bool,
    resolver: Resolver = resolve,
    scrub: Sequence[str] = (),
) -> AttemptResult:
    """``scrub``: values (credentials) that must not reach the kept part of the answer, should it echo them."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target, addresses = safe_addresses(url, allow_private=allow_private, resolver=resolver)
    except UnsafeUrl as refused:
        return AttemptResult(None, str(refused), refused=True)
    except OSError as error:
        return AttemptResult(None, f"cannot resolve the host: {error.strerror or type(error).__name__}")
    failure = "no address answered"
    for address in addresses[:MAX_ADDRESSES_TRIED]:  # the next address only when this one cannot be connected to
        try:
            return _post_to(address, target, body, headers, elapsed=elapsed, scrub=scrub)
        except (NewConnectionError, ConnectTimeoutError) as error:
            failure = _failure(error)
        except HTTPError as error:
            return AttemptResult(None, _failure(error), elapsed_ms=elapsed())
    return AttemptResult(None, failure, elapsed_ms=elapsed())


def _post_to(
    address: str,
    target: Target,
    body: bytes,
    headers: Mapping[str, str],
    *,
    elapsed: Callable[[], int],
    scrub: Sequence[str],
) -> AttemptResult:
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
    host_header = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    with pool:
        answer = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "host": host_header},
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            head = answer.read(MAX_ANSWER_BYTES)
        finally:
            answer.close()  # the rest is never read; the pool and its connection are closed with it
    text = head.decode("utf-8", "replace")
    for value in scrub:  # on everything read, before it is cut: a value across the cut is still found
        text = text.replace(value, REDACTED)
    snippet = printable(text)[:SNIPPET_CHARS]
    return AttemptResult(answer.status, elapsed_ms=elapsed(), snippet=snippet)
