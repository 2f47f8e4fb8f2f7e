"""Where a running local hub tells the other commands how to reach it (URL, emulator, table)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


def state_path() -> Path:
    override = os.environ.get("WEBHOOK_HUB_STATE")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "webhook-hub" / "local.json"


@dataclass(frozen=True)
class LocalHubState:
    webhook_url: str
    endpoint_url: str
    table_name: str
    pid: int
    topic_arn_prefix: str = ""
    """ARN of every event topic up to its key, for ``replay``."""

    def save(self) -> None:
        path = state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")
        path.chmod(0o600)  # holds the webhook URL, token included

    @staticmethod
    def load() -> LocalHubState | None:
        """The running hub's state, or ``None`` when no hub runs (its process is gone)."""
        path = state_path()
        try:
            state = LocalHubState(**json.loads(path.read_text(encoding="utf-8")))
            os.kill(state.pid, 0)
        except (OSError, ValueError, TypeError):
            return None
        return state

    @staticmethod
    def clear() -> None:
        state_path().unlink(missing_ok=True)
