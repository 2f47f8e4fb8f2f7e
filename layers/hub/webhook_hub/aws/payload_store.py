"""S3 for bodies too large for an item or a notification, and for quarantined bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class PayloadStore:
    def __init__(self, bucket: str, client: S3Client | Callable[[], S3Client]) -> None:
        """``client`` may be the function that makes it, called on the first put: most containers never see a
        large or rejected body, and an S3 client costs tens of milliseconds of a cold start (docs/performance.md).
        """
        self.bucket = bucket
        self._client = client

    def put(self, key: str, body: bytes, content_type: str) -> None:
        """Idempotent: keys are derived from the event, so a retry rewrites the same object."""
        client = self._client() if callable(self._client) else self._client
        client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def get(self, key: str) -> bytes:
        client = self._client() if callable(self._client) else self._client
        body: bytes = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body
