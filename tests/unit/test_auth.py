"""Authentication decisions, without AWS: which credential matched and what is left as the suffix."""

from __future__ import annotations

import time

import jwt
import pytest

from webhook_hub.auth import Credentials, authenticate
from webhook_hub.errors import Unauthorized

CURRENT, PREVIOUS = "current-token-0123456789abcdef", "previous-token-0123456789abcdef"
TOKENS = (CURRENT, PREVIOUS)


def _auth(segments: tuple[str, ...], headers: dict[str, str] | None = None, tokens: tuple[str, ...] = TOKENS) -> str:
    result = authenticate(Credentials(segments, headers or {}), tokens, "x-webhook-token")
    return f"{result.method}:{result.suffix}"


def test_path_token_and_suffix() -> None:
    assert _auth((CURRENT,)) == "path:None"
    assert _auth((PREVIOUS, "messages-upsert")) == "path:messages-upsert"


def test_header_credentials_leave_the_path_as_suffix() -> None:
    assert _auth(("messages-upsert",), {"x-webhook-token": CURRENT}) == "header:messages-upsert"
    assert _auth((), {"authorization": f"Bearer {PREVIOUS}"}) == "bearer:None"
    assert _auth((), {"authorization": f"bearer  {CURRENT} "}) == "bearer:None"


def test_evolution_jwt_signed_with_either_token() -> None:
    now = int(time.time())
    signed = jwt.encode({"iat": now, "exp": now + 600, "app": "evolution"}, PREVIOUS, algorithm="HS256")

    assert _auth(("call",), {"authorization": f"Bearer {signed}"}) == "jwt:call"


@pytest.mark.parametrize(
    ("segments", "headers", "tokens"),
    [
        ((), {}, TOKENS),
        (("wrong",), {}, TOKENS),
        ((CURRENT[:-1],), {}, TOKENS),
        ((CURRENT.upper(),), {}, TOKENS),
        ((), {"x-webhook-token": CURRENT + " x"}, TOKENS),
        ((), {"authorization": f"Basic {CURRENT}"}, TOKENS),
        ((), {"authorization": "Bearer a.b.c"}, TOKENS),
        ((CURRENT,), {}, ("", "")),  # a secret with no tokens fails closed
        (("",), {}, ("",)),
    ],
)
def test_everything_else_is_unauthorized(
    segments: tuple[str, ...], headers: dict[str, str], tokens: tuple[str, ...]
) -> None:
    with pytest.raises(Unauthorized):
        _auth(segments, headers, tokens)
