"""Where a running local hub tells the other commands how to reach it (URL, emulator, table)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

ALIVE_TIMEOUT_SECONDS = 5


def state_path() -> Path:
    override = os.environ.get("WEBHOOK_HUB_STATE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "webhook-hub" / "local.json"


def answers(webhook_url: str) -> bool:
    """Whether a hub answers at that URL: portable, and immune to a reused process id.

    It asks for ``/``, which the local gateway answers itself (``/health`` would wait for a container to start).
    """
    parts = urlsplit(webhook_url)
    try:
        with urllib.request.urlopen(  # noqa: S310 - our own URL, http on this machine
            f"{parts.scheme}://{parts.netloc}/", timeout=ALIVE_TIMEOUT_SECONDS
        ) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@dataclass(frozen=True)
class LocalHubState:
    webhook_url: str
    endpoint_url: str
    table_name: str
    pid: int
    topic_arn_prefix: str = ""
    """ARN of every event topic up to its key, for ``replay``."""

    def save(self) -> None:
        """Holds the webhook URL, token included: in the user's own folder (POSIX: readable by them only)."""
        path = state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)  # Windows ignores the mode; the profile folder is the user's
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")

    @staticmethod
    def load() -> LocalHubState | None:
        """The running hub's state, or ``None`` when no hub answers at its URL."""
        path = state_path()
        try:
            state = LocalHubState(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        return state if answers(state.webhook_url) else None

    @staticmethod
    def clear() -> None:
        state_path().unlink(missing_ok=True)
