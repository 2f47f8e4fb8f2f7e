"""How far a scheduled reader of the ``ByTypeDay`` index has read: one small item, read and written once a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class ReadCursor:
    def __init__(self, table_name: str, client: DynamoDBClient, key: str) -> None:
        self._table = table_name
        self._client = client
        self._key = {"pk": {"S": key}}

    def read(self) -> float | None:
        """Events received up to this instant (epoch seconds) have been read; ``None`` before the first run."""
        found: Any = self._client.get_item(TableName=self._table, Key=self._key, ConsistentRead=True)
        item = found.get("Item")
        return None if item is None else float(item["read_until"]["N"])

    def save(self, read_until: float) -> None:
        self._client.put_item(TableName=self._table, Item={**self._key, "read_until": {"N": repr(read_until)}})
