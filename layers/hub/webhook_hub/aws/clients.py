"""AWS clients (botocore), created once per container on first use.

Timeouts are short because the sender gives up after 30-60 s and retries anyway; botocore's
standard retry mode absorbs throttling before we answer 503.
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


@cache
def _config() -> Any:
    from botocore.config import Config  # noqa: PLC0415

    return Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


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
