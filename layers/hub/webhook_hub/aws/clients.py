"""AWS clients (botocore), created once per container on first use.

The time budget of one call is stated here, and ``webhook_hub.budget`` starts a call only when that worst case
still fits in what is left of the invocation, so a hung dependency is answered 503 (the sender retries), never
cut off by the Lambda timeout. botocore's standard retry mode absorbs a throttle or a blip before we answer 503.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


@cache
def _session() -> Any:
    # botocore's own session: boto3 only wraps it, and its import (s3transfer, resources) would be paid on every
    # cold start for nothing (bench/, docs/performance.md). Imported here so `import app` needs no AWS library.
    from botocore.session import get_session  # noqa: PLC0415

    return get_session()


CONNECT_TIMEOUT_SECONDS = 1
READ_TIMEOUT_SECONDS = 3
TOTAL_ATTEMPTS = 2
"""The first try and one retry (botocore's ``total_max_attempts``; its ``max_attempts`` would count retries only)."""
FIRST_RETRY_BACKOFF_SECONDS = 1
"""Standard mode waits a random time up to ``2 ** (attempt - 1)`` seconds before a retry: at most 1 s here."""
CALL_BUDGET_SECONDS = TOTAL_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + FIRST_RETRY_BACKOFF_SECONDS
"""The longest one AWS call can take before botocore gives up: 9 s."""


@cache
def _config() -> Any:
    from botocore.config import Config  # noqa: PLC0415

    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
    )


def dynamodb() -> DynamoDBClient:
    return _client("dynamodb")  # type: ignore[no-any-return]


def sns() -> SNSClient:
    return _client("sns")  # type: ignore[no-any-return]


def s3() -> S3Client:
    return _client("s3")  # type: ignore[no-any-return]


def secretsmanager() -> SecretsManagerClient:
    return _client("secretsmanager")  # type: ignore[no-any-return]


def sqs() -> SQSClient:
    return _client("sqs")  # type: ignore[no-any-return]


@cache
def _client(service: str) -> Any:
    return _session().create_client(service, config=_config())
