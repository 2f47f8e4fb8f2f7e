"""SNS publishing: one topic per event type, attributes for subscribers' filter policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class Publisher:
    def __init__(self, topic_arn_prefix: str, client: SNSClient) -> None:
        self._prefix = topic_arn_prefix
        self._client = client

    def topic_arn(self, topic_key: str) -> str:
        return self._prefix + topic_key

    def publish(self, topic_key: str, message: str, subject: str, attributes: Mapping[str, str]) -> str:
        """Publish a per-protocol ``message`` (``core.notification.sns_message``) and return SNS's message id."""
        response = self._client.publish(
            TopicArn=self.topic_arn(topic_key),
            Message=message,
            MessageStructure="json",
            Subject=subject,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
            },
        )
        return response["MessageId"]
