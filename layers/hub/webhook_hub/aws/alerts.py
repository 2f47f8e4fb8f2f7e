"""The stack's alerts topic: plain-text mails for people (the alarms' own mails come from CloudWatch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class Alerts:
    def __init__(self, topic_arn: str, client: SNSClient) -> None:
        self._topic_arn = topic_arn
        self._client = client

    def send(self, subject: str, text: str) -> None:
        self._client.publish(TopicArn=self._topic_arn, Subject=subject, Message=text)
