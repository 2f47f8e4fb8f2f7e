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


# --- Evolution's jwt_key: one token per event, re-sent unchanged on every retry (contract §5.2) -------------

SIGNED_AT = 1_767_268_800
EVOLUTION_WAITS = (5, 10, 20, 40, 80, 160, 300, 300, 300)
"""2.3.x defaults: ``min(5 * 2 ** (n - 1), 300)`` s between the 10 POSTs (contract §5.4)."""


def _evolution_jwt(key: str = CURRENT, issued_at: int = SIGNED_AT, **claims: object) -> str:
    payload = {"iat": issued_at, "exp": issued_at + 600, "app": "evolution", "action": "webhook", **claims}
    return jwt.encode({name: value for name, value in payload.items() if value is not None}, key, algorithm="HS256")


def _jwt_auth(token: str, at: float) -> str:
    result = authenticate(Credentials((), {"authorization": f"Bearer {token}"}), TOKENS, "x-webhook-token", now=at)
    return result.method


def _try_times(jitter: float, timeout: int) -> list[int]:
    """When each of the 10 tries is sent: a failed try takes up to ``timeout`` s, then the (jittered) wait."""
    times, at = [SIGNED_AT], SIGNED_AT
    for wait in EVOLUTION_WAITS:
        at += timeout + round(wait * jitter)
        times.append(at)
    return times


def test_a_token_signed_1215_s_before_the_try_is_accepted() -> None:
    """Regression: ``exp`` was enforced, so tries 8-10 (615, 915 and 1,215 s after the first) got 401: dropped."""
    assert _jwt_auth(_evolution_jwt(), SIGNED_AT + 1_215) == "jwt"


@pytest.mark.parametrize(("jitter", "timeout"), [(1.0, 0), (1.2, 0), (1.2, 60), (0.8, 30)])
def test_every_try_of_the_retry_schedule_is_accepted(jitter: float, timeout: int) -> None:
    token = _evolution_jwt()
    assert [_jwt_auth(token, at) for at in _try_times(jitter, timeout)] == ["jwt"] * 10


@pytest.mark.parametrize(
    ("token", "at"),
    [
        (_evolution_jwt(), SIGNED_AT + 7_200),  # signed two hours ago
        (_evolution_jwt(), SIGNED_AT + 2_100 + 31),  # past the horizon and the skew
        (_evolution_jwt("another-key-0123456789abcdef"), SIGNED_AT + 1),
        (_evolution_jwt(issued_at=SIGNED_AT + 120), SIGNED_AT),  # signed in the future, past the skew
        (_evolution_jwt(app="chatwoot"), SIGNED_AT + 1),
        (_evolution_jwt(action="login"), SIGNED_AT + 1),
        (_evolution_jwt(exp=SIGNED_AT + 86_400), SIGNED_AT + 1),  # a lifetime Evolution never gives
        (_evolution_jwt(iat=None), SIGNED_AT + 1),
        (jwt.encode({"iat": SIGNED_AT}, CURRENT, algorithm="HS512"), SIGNED_AT + 1),
        (jwt.encode({"iat": SIGNED_AT}, "", algorithm="none"), SIGNED_AT + 1),
    ],
)
def test_tokens_the_sender_did_not_make_for_this_event_are_refused(token: str, at: int) -> None:
    with pytest.raises(Unauthorized):
        _jwt_auth(token, at)


def test_the_horizon_is_a_setting() -> None:
    late = SIGNED_AT + 3_000
    credentials = Credentials((), {"authorization": f"Bearer {_evolution_jwt()}"})
    assert authenticate(credentials, TOKENS, "x-webhook-token", now=late, jwt_accept_seconds=3_600).method == "jwt"
    with pytest.raises(Unauthorized):
        authenticate(credentials, TOKENS, "x-webhook-token", now=late)


def test_claims_beyond_evolutions_are_allowed_and_missing_app_action_too() -> None:
    bare = jwt.encode({"iat": SIGNED_AT, "exp": SIGNED_AT + 600}, CURRENT, algorithm="HS256")
    assert _jwt_auth(bare, SIGNED_AT + 900) == "jwt"
    assert _jwt_auth(_evolution_jwt(extra="x"), SIGNED_AT + 1) == "jwt"
