"""Settings of the ingest function, read from the environment the template gives it.

Read on first use, not at import, so tools and benchmarks can import the handler without a stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

SNS_MESSAGE_LIMIT = 262_144
"""SNS's limit for message plus attributes, in UTF-8 bytes (moto counts characters, so we count ourselves)."""
DYNAMODB_ITEM_LIMIT = 409_600
"""DynamoDB's item limit, in bytes of attribute names plus values."""
LAMBDA_REQUEST_LIMIT = 6_291_456
"""Lambda's synchronous request limit: a larger body never reaches the function on AWS."""


class SettingsError(RuntimeError):
    """The function was deployed without a setting it needs."""


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    bucket_name: str
    topic_arn_prefix: str
    """ARN of every topic up to its key: ``arn:aws:sns:<region>:<account>:<stack>-``."""
    token_secret_id: str
    auth_header: str
    allowed_instances: frozenset[str]
    retention_days: int
    inline_limit_bytes: int
    """Above this many bytes the redacted body goes to S3 and items and notifications carry a pointer."""
    max_body_bytes: int
    publish_lease_seconds: int
    recovery_delay_seconds: int
    """How long after a publish attempt the recovery sweep may try the event itself."""
    jwt_accept_seconds: int
    """How long after its ``iat`` a sender's JWT is accepted: the sender's whole retry horizon."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise SettingsError(f"environment variable {name} is not set")
            return value

        inline_limit = int(env.get("INLINE_LIMIT_BYTES", "200000"))
        if not 1_024 <= inline_limit <= 200_000:
            raise SettingsError("INLINE_LIMIT_BYTES must be between 1024 and 200000")
        return cls(
            table_name=required("TABLE_NAME"),
            bucket_name=required("BUCKET_NAME"),
            topic_arn_prefix=required("TOPIC_ARN_PREFIX"),
            token_secret_id=required("TOKEN_SECRET_ID"),
            auth_header=env.get("AUTH_HEADER", "x-webhook-token").strip().lower(),
            allowed_instances=frozenset(
                name.strip() for name in env.get("ALLOWED_INSTANCES", "").split(",") if name.strip()
            ),
            retention_days=max(1, int(env.get("RETENTION_DAYS", "30"))),
            inline_limit_bytes=inline_limit,
            max_body_bytes=min(LAMBDA_REQUEST_LIMIT, int(env.get("MAX_BODY_BYTES", str(LAMBDA_REQUEST_LIMIT)))),
            publish_lease_seconds=int(env.get("PUBLISH_LEASE_SECONDS", "30")),
            recovery_delay_seconds=int(env.get("RECOVERY_DELAY_SECONDS", "120")),
            jwt_accept_seconds=int(env.get("JWT_ACCEPT_SECONDS", "2100")),
        )
