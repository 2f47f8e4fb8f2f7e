"""Which URLs and addresses a destination may reach (the server-side request forgery guard).

Pure: the caller resolves the host and passes every address, and then connects to one of those addresses, so a
name that resolves differently on the second lookup cannot slip past the check.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, EC2/ECS/Lambda metadata and credentials (169.254.169.254)
    ipaddress.ip_network("fd00:ec2::254/128"),  # EC2 metadata over IPv6
    ipaddress.ip_network("fe80::/10"),  # IPv6 link-local
    ipaddress.ip_network("0.0.0.0/8"),
    ipaddress.ip_network("::/128"),
)


class UnsafeUrl(ValueError):
    """The URL or one of its addresses is not one a destination may reach."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    """Path and query, as sent in the request line."""


def parse_target(url: str) -> Target:
    """Only ``http`` and ``https`` with a host; no credentials in the URL (they belong in a header)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"not a valid URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl(f"only http and https URLs are allowed, not {scheme or 'none'}")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL are not allowed; use a header")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def check_addresses(addresses: Iterable[str], *, allow_private: bool) -> None:
    """Refuse if any address is link-local or metadata, or (unless ``allow_private``) not a public address.

    Every address is checked, not only the first: the connection may go to any of them.
    """
    found = list(addresses)
    if not found:
        raise UnsafeUrl("the host has no address")
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in ALWAYS_REFUSED):
            raise UnsafeUrl(f"{address} is a link-local or metadata address")
        if address.is_multicast:
            raise UnsafeUrl(f"{address} is a multicast address")
        if not allow_private and not address.is_global:
            raise UnsafeUrl(f"{address} is a private address; mark the destination internal to allow it")
