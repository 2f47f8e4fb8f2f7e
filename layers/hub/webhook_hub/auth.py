"""Authentication of webhook calls, failing closed.

Evolution signs nothing, so a call is authentic when it carries one of our tokens: as the path
segment, as ``Authorization: Bearer <token>``, in a custom header, or as the key of the HS256 JWT
that Evolution's ``jwt_key`` header setting makes it send. Two tokens are live at once (current and
previous) so the token can be rotated without losing events.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from webhook_hub.errors import Unauthorized

JWT_LEEWAY_SECONDS = 30
"""Clock skew allowed between the sender and us, both ways."""
JWT_MAX_LIFETIME_SECONDS = 3_600
"""Evolution issues 10-minute tokens; anything longer-lived was not made by it."""
JWT_ACCEPT_SECONDS = 2_100
"""How long after ``iat`` a token is accepted: Evolution signs once per event and re-sends the same token on all
10 tries (~21 min at the defaults, contract §5.2), so ``exp`` (``iat`` + 600) alone would drop tries 8-10."""
JWT_CLAIMS = {"app": "evolution", "action": "webhook"}
"""Claims Evolution sets; a token that carries one with another value was made for something else."""
GENERIC_REASON = "missing or invalid credentials"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything in a request that may carry a token."""

    path_segments: tuple[str, ...]
    headers: Mapping[str, str]
    """Lower-cased names, as API Gateway HTTP API gives them."""


@dataclass(frozen=True, slots=True)
class Authenticated:
    method: str
    """``path``, ``bearer``, ``header`` or ``jwt``: logged, never the token."""
    suffix: str | None
    """The by-events URL suffix: what is left of the path once the token segment is taken out."""


def _matches(candidate: str, tokens: Sequence[str]) -> bool:
    """Constant-time check against every live token (no early exit on the first match)."""
    given = candidate.encode()
    found = False
    for token in tokens:
        found |= hmac.compare_digest(given, token.encode())
    return found


def _verify_jwt(jwt_text: str, tokens: Sequence[str], now: float, accept_seconds: int) -> bool:
    """Signature (HS256 only), ``app``/``action`` when present, and ``iat`` within the sender's retry horizon.

    ``exp`` is not enforced (the sender re-sends an expired token on its late retries); the lifetime cap still
    refuses tokens that were never Evolution's.
    """
    import jwt  # noqa: PLC0415 - only bearer-JWT senders pay for this import

    # PyJWT would check ``iat`` against the wall clock; ours is the request's time (API Gateway's), checked below.
    for token in tokens:
        try:
            claims = jwt.decode(
                jwt_text,
                token,
                algorithms=["HS256"],
                options={"require": ["iat", "exp"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            continue
        issued_at, expires = claims["iat"], claims["exp"]
        if not isinstance(issued_at, int | float) or not isinstance(expires, int | float):
            return False
        if any(name in claims and claims[name] != value for name, value in JWT_CLAIMS.items()):
            return False
        fresh = now - accept_seconds - JWT_LEEWAY_SECONDS <= issued_at <= now + JWT_LEEWAY_SECONDS
        return fresh and 0 <= expires - issued_at <= JWT_MAX_LIFETIME_SECONDS
    return False


def authenticate(
    credentials: Credentials,
    tokens: Sequence[str],
    header_name: str,
    now: float | None = None,
    jwt_accept_seconds: int = JWT_ACCEPT_SECONDS,
) -> Authenticated:
    """Accept the call if any credential matches a live token; raise ``Unauthorized`` otherwise.

    A path segment that is not a token is the by-events suffix, so ``/webhook/messages-upsert``
    with header authentication and ``/webhook/<token>/messages-upsert`` both work.
    """
    live = [token for token in tokens if token]
    if not live:
        raise Unauthorized(GENERIC_REASON)
    segments = credentials.path_segments
    method: str | None = None
    suffix_segments = segments
    if segments and _matches(segments[0], live):
        method, suffix_segments = "path", segments[1:]
    else:
        custom = credentials.headers.get(header_name)
        bearer = credentials.headers.get("authorization", "")
        scheme, _, value = bearer.partition(" ")
        value = value.strip()
        if custom is not None and _matches(custom.strip(), live):
            method = "header"
        elif scheme.lower() == "bearer" and value:
            if value.count(".") == 2:
                if _verify_jwt(value, live, time.time() if now is None else now, jwt_accept_seconds):
                    method = "jwt"
            elif _matches(value, live):
                method = "bearer"
    if method is None:
        raise Unauthorized(GENERIC_REASON)
    return Authenticated(method=method, suffix="/".join(suffix_segments) or None)
