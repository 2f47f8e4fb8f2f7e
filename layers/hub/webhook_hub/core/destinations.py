"""HTTP destinations (the users' own servers): filters, the retry schedule, the next step after an attempt, and
the Standard Webhooks signature.

Pure, and the whole policy of forwarding: the AWS side (``webhook_hub.destinations``) only carries out what
``next_step`` decides, so the schedule is tested here on simulated time. Not to be confused with
``webhook_hub.delivery``, which publishes an event to its SNS topic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FORMAT_EVOLUTION = "evolution"
"""The body as the sender posted it, redacted: what an existing Evolution receiver already parses."""
FORMAT_NOTIFICATION = "notification"
"""The hub's notification document (docs/notification.schema.json)."""
FORMATS = (FORMAT_EVOLUTION, FORMAT_NOTIFICATION)

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
"""Standard Webhooks' spelling of a signing secret: this prefix, then the key in base64."""

SQS_MAX_DELAY_SECONDS = 43_200
"""A message's visibility can be pushed at most 12 hours ahead."""

DAY = 86_400


@dataclass(frozen=True, slots=True)
class DestinationFilter:
    """Which events a destination gets; an empty set means any. Values are the SNS attributes' words."""

    event_types: frozenset[str] = frozenset()
    """Event types (``messages.upsert``) or topic keys (``MessagesUpsert``)."""
    instances: frozenset[str] = frozenset()
    directions: frozenset[str] = frozenset()
    chat_types: frozenset[str] = frozenset()
    message_kinds: frozenset[str] = frozenset()

    def matches(self, notification: Mapping[str, Any]) -> bool:
        summary = notification.get("summary") or {}
        wanted: tuple[tuple[frozenset[str], Iterable[Any]], ...] = (
            (self.event_types, (notification.get("event_type"), notification.get("topic_key"))),
            (self.instances, (notification.get("instance"),)),
            (self.directions, (summary.get("direction"),)),
            (self.chat_types, (summary.get("chat_type"),)),
            (self.message_kinds, (summary.get("message_kind"),)),
        )
        return all(not allowed or any(value in allowed for value in values) for allowed, values in wanted)

    def as_lists(self) -> dict[str, list[str]]:
        """Each non-empty set, sorted: how items and listings show it."""
        return {name: sorted(values) for name, values in self._fields().items() if values}

    @classmethod
    def from_lists(cls, lists: Mapping[str, Iterable[str]]) -> DestinationFilter:
        return cls(**{name: frozenset(lists.get(name, ())) for name in cls._names()})

    def _fields(self) -> dict[str, frozenset[str]]:
        return {name: getattr(self, name) for name in self._names()}

    @staticmethod
    def _names() -> tuple[str, ...]:
        return ("event_types", "instances", "directions", "chat_types", "message_kinds")


ANY_EVENT = DestinationFilter()


@dataclass(frozen=True, slots=True)
class Destination:
    destination_id: str
    url: str
    secret_id: str
    """Where the signing secret is (a Secrets Manager id); never the secret itself."""
    filter: DestinationFilter = ANY_EVENT
    header_names: tuple[str, ...] = ()
    """The static headers' names; their values may be credentials, so they live in the secret with the key."""
    body_format: str = FORMAT_EVOLUTION
    enabled: bool = True
    internal: bool = False
    """May resolve to a private address on AWS (a server in the user's VPC)."""
    disabled_reason: str | None = None


@dataclass(frozen=True, slots=True)
class DestinationSecret:
    """What a destination's Secrets Manager secret holds (as JSON)."""

    signing_secret: str
    headers: Mapping[str, str]


def message_group(destination_id: str, notification: Mapping[str, Any]) -> str:
    """The FIFO group of a forwarding task: one per destination and chat, so order holds per chat and a slow chat
    or destination blocks only itself. Events without a chat are grouped by instance."""
    summary = notification.get("summary") or {}
    chat = f"{notification.get('instance') or ''}\n{summary.get('chat_jid') or ''}"
    return f"{destination_id}#{hashlib.sha256(chat.encode()).hexdigest()[:32]}"


def deduplication_id(event_id: str, destination_id: str, occasion: str = "") -> str:
    """One task per event and destination (``occasion`` names a deliberate resend, such as a redrive)."""
    return hashlib.sha256(f"{event_id}\n{destination_id}\n{occasion}".encode()).hexdigest()


# --- the retry schedule -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    window_seconds: int = 4 * DAY
    """From the first attempt; then the task is parked."""
    base_seconds: int = 30
    cap_seconds: int = 3_600
    """A server back after a night waits at most an hour for its next event."""

    def backoff(self, attempt: int, random: Callable[[], float]) -> int:
        """Exponential with equal jitter: half the step plus a random part of the other half."""
        step = min(self.cap_seconds, self.base_seconds * 2 ** min(max(attempt - 1, 0), 30))
        return max(1, int(step / 2 + random() * step / 2))


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status: int | None
    """The HTTP status, or ``None`` when no answer came (``error`` says why)."""
    error: str | None = None
    refused: bool = False
    """The URL was refused before any connection (scheme, or an address the policy forbids)."""
    elapsed_ms: int = 0
    snippet: str = ""
    """The first characters of the answer, for the parked reason; never the whole body."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def reason(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        text = f"HTTP {self.status}"
        return f"{text}: {self.snippet}" if self.snippet else text


STEP_DONE = "done"
STEP_RETRY = "retry"
STEP_PARK = "park"
STEP_DISABLE = "disable"
"""410 Gone: the destination is disabled (and alerted), the task parked."""


@dataclass(frozen=True, slots=True)
class Step:
    action: str
    delay_seconds: int = 0
    reason: str = ""


def next_step(
    result: AttemptResult,
    *,
    attempt: int,
    first_attempt_at: float,
    now: float,
    policy: RetryPolicy,
    random: Callable[[], float],
) -> Step:
    """What follows an attempt: 2xx is done; 410 disables; a refused URL parks at once; anything else is retried
    with backoff until the window since the first attempt has passed, the last retry falling on its end."""
    if result.ok:
        return Step(STEP_DONE)
    if result.status == 410:
        return Step(STEP_DISABLE, reason=f"410 Gone: {result.reason()}")
    if result.refused:
        return Step(STEP_PARK, reason=f"refused: {result.reason()}")
    left = first_attempt_at + policy.window_seconds - now
    if left <= 0:
        return Step(STEP_PARK, reason=f"retry window ended after {attempt} attempts; last: {result.reason()}")
    delay = min(policy.backoff(attempt, random), SQS_MAX_DELAY_SECONDS, max(1, int(left + 0.999)))
    return Step(STEP_RETRY, delay, result.reason())


# --- Standard Webhooks (https://www.standardwebhooks.com) -------------------------------------------------------


def new_secret(random_bytes: bytes) -> str:
    if len(random_bytes) < 24:
        raise ValueError("a signing key needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
    ``id.timestamp.body`` under the secret's key)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    signature = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{signature}"}
