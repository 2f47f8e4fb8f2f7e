"""The live webhook tokens, from the stack's Secrets Manager secret, cached for five minutes per container.

One ``GetSecretValue`` and a dict, rather than Powertools' parameters utility: importing that utility imports
boto3 and every parameter provider, a cold-start cost (bench/, docs/performance.md) for one call. A failed read
is not cached and raises botocore's own error, which the ingest path answers with 503 so the sender retries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from webhook_hub.aws import clients

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CACHE_SECONDS = 300
"""A rotated token is picked up within five minutes; the previous one stays valid meanwhile."""


class SecretCache:
    """Each secret's parsed JSON, kept for ``CACHE_SECONDS`` after it was read.

    ``client`` makes the Secrets Manager client on the first read (the stack's shared one by default).
    """

    def __init__(self, client: Callable[[], SecretsManagerClient] = clients.secretsmanager) -> None:
        self._client = client
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, secret_id: str) -> Any:
        now = time.monotonic()
        entry = self._entries.get(secret_id)
        if entry is not None and now < entry[0]:
            return entry[1]
        answer = self._client().get_secret_value(SecretId=secret_id)
        text = answer["SecretString"] if "SecretString" in answer else answer["SecretBinary"].decode()
        value = json.loads(text)
        if value is not None:
            self._entries[secret_id] = (now + CACHE_SECONDS, value)
        return value


@cache
def _provider() -> SecretCache:
    return SecretCache()


def live_tokens(secret_id: str) -> tuple[str, ...]:
    """``current`` and ``previous`` from the secret's JSON; empty ones are not tokens.

    Raises ``ValueError`` when the secret is not JSON; returns ``()`` when it holds no token (a rotation typo, a
    renamed key): the caller answers both as our misconfiguration.
    """
    value: Any = _provider().get(secret_id)
    if not isinstance(value, dict):
        return ()
    return tuple(value[name] for name in ("current", "previous") if isinstance(value.get(name), str) and value[name])
