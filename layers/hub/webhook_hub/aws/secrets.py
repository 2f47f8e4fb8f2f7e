"""The live webhook tokens, from the stack's Secrets Manager secret (cached by Powertools)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from webhook_hub.aws import clients

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

CACHE_SECONDS = 300
"""A rotated token is picked up within five minutes; the previous one stays valid meanwhile."""


@cache
def _provider() -> SecretsProvider:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

    return SecretsProvider(boto3_client=clients.secretsmanager())


def live_tokens(secret_id: str) -> tuple[str, ...]:
    """``current`` and ``previous`` from the secret's JSON; empty ones are not tokens."""
    value: Any = _provider().get(secret_id, max_age=CACHE_SECONDS, transform="json")
    if not isinstance(value, dict):
        return ()
    return tuple(value[name] for name in ("current", "previous") if isinstance(value.get(name), str) and value[name])
