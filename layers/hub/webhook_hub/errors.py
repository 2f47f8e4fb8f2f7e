"""Every way a request can fail, and the one table that turns each into an HTTP answer.

The sender drops an event on 400/401/403/404/422 and retries 413/429/5xx, so each status here is
chosen for what we want the sender to do next, not for REST purity.
"""

from __future__ import annotations

from typing import ClassVar


class HubError(Exception):
    """A request the hub answers with something other than 2xx."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal"
    retry_after: ClassVar[int | None] = None

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthorized(HubError):
    """No credential matched: the sender must not retry (it would fail again)."""

    status = 401
    code = "unauthorized"


class ForbiddenInstance(HubError):
    """Authenticated, but the instance is not on the allow-list."""

    status = 403
    code = "instance_not_allowed"


class BadBody(HubError):
    """Not JSON, not an object, or no ``event``: retrying the same bytes cannot help."""

    status = 400

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code  # type: ignore[misc]


class BodyTooLarge(HubError):
    status = 413
    code = "body_too_large"


class Unavailable(HubError):
    """A dependency failed; the sender must retry, and the retry will find whatever committed."""

    status = 503
    code = "unavailable"
    retry_after = 5


class StoreUnavailable(Unavailable):
    code = "store_unavailable"


class PublishFailed(Unavailable):
    """SNS failed after the event was stored: the retry publishes it."""

    code = "publish_failed"


class TokenMisconfigured(Unavailable):
    """The token secret cannot be read or holds no usable token: our misconfiguration, never the caller's.

    A 401 here would make the sender drop every event until someone noticed; a 503 keeps them coming back
    (~20 minutes of retries) while the alarm on this metric asks for the secret to be fixed.
    """

    code = "token_misconfigured"
    retry_after = 30


def error_body(error: HubError) -> dict[str, str]:
    return {"error": error.code, "reason": error.reason}
