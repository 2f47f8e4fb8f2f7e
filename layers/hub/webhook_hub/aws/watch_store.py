"""The silence watch's own small table: one item per instance and the read cursor, written only by the watch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from webhook_hub.aws.read_cursor import ReadCursor
from webhook_hub.core.silence import Watch

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CURSOR_KEY = "cursor"
INSTANCE_PREFIX = "instance#"


class WatchStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client
        self.cursor = ReadCursor(table_name, client, CURSOR_KEY)

    def watches(self) -> Iterator[Watch]:
        arguments: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        while True:
            page = self._client.scan(**arguments)
            for item in page["Items"]:
                if item["pk"]["S"].startswith(INSTANCE_PREFIX):
                    yield _watch(item)
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save(self, watch: Watch) -> None:
        item: dict[str, Any] = {
            "pk": {"S": INSTANCE_PREFIX + watch.instance},
            "instance": {"S": watch.instance},
            "since": {"N": repr(watch.since)},
            "gaps": {"S": json.dumps(watch.gaps)},
        }
        if watch.last_activity is not None:
            item["last_activity"] = {"N": repr(watch.last_activity)}
        if watch.connection is not None:
            item["connection"] = {"S": watch.connection}
        if watch.connected_at is not None:
            item["connected_at"] = {"N": repr(watch.connected_at)}
        if watch.alerted is not None:
            item["alerted"] = {"N": repr(watch.alerted)}
        self._client.put_item(TableName=self._table, Item=item)


def _number(item: dict[str, Any], name: str) -> float | None:
    return float(item[name]["N"]) if name in item else None


def _watch(item: dict[str, Any]) -> Watch:
    return Watch(
        instance=item["instance"]["S"],
        since=float(item["since"]["N"]),
        last_activity=_number(item, "last_activity"),
        connection=item.get("connection", {}).get("S"),
        connected_at=_number(item, "connected_at"),
        gaps=tuple((float(start), float(end)) for start, end in json.loads(item["gaps"]["S"])),
        alerted=_number(item, "alerted"),
    )
