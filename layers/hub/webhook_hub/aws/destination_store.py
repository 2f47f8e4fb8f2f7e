"""The destinations table (one small item per destination) and each destination's secret in Secrets Manager.

An item holds the URL, filter, format, flags and the id of the secret; the secret holds the signing key and the
static headers' values (they may be credentials), so no secret is ever in an item.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from webhook_hub.aws.secrets import SecretCache
from webhook_hub.core.destinations import Destination, DestinationFilter, DestinationSecret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


def destination_item(destination: Destination) -> dict[str, Any]:
    item: dict[str, Any] = {
        "destination_id": {"S": destination.destination_id},
        "url": {"S": destination.url},
        "secret_id": {"S": destination.secret_id},
        "body_format": {"S": destination.body_format},
        "enabled": {"BOOL": destination.enabled},
        "internal": {"BOOL": destination.internal},
        "filter": {
            "M": {name: {"L": [{"S": v} for v in values]} for name, values in destination.filter.as_lists().items()}
        },
        "header_names": {"L": [{"S": name} for name in destination.header_names]},
    }
    if destination.disabled_reason:
        item["disabled_reason"] = {"S": destination.disabled_reason}
    return item


def destination_of(item: dict[str, Any]) -> Destination:
    lists = {name: [v["S"] for v in value["L"]] for name, value in item.get("filter", {}).get("M", {}).items()}
    return Destination(
        destination_id=item["destination_id"]["S"],
        url=item["url"]["S"],
        secret_id=item["secret_id"]["S"],
        filter=DestinationFilter.from_lists(lists),
        header_names=tuple(v["S"] for v in item.get("header_names", {}).get("L", [])),
        body_format=item["body_format"]["S"],
        enabled=item["enabled"]["BOOL"],
        internal=item.get("internal", {}).get("BOOL", False),
        disabled_reason=item.get("disabled_reason", {}).get("S"),
    )


class DestinationStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def put(self, destination: Destination) -> None:
        self._client.put_item(TableName=self._table, Item=destination_item(destination))

    def get(self, destination_id: str) -> Destination | None:
        found: Any = self._client.get_item(
            TableName=self._table, Key={"destination_id": {"S": destination_id}}, ConsistentRead=True
        )
        return destination_of(found["Item"]) if "Item" in found else None

    def all(self) -> list[Destination]:
        """Every destination (a handful: one scan page), ordered by id."""
        arguments: dict[str, Any] = {"TableName": self._table, "ConsistentRead": True}
        items: list[Any] = []
        while True:
            page: Any = self._client.scan(**arguments)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return sorted((destination_of(item) for item in items), key=lambda d: d.destination_id)
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, destination_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"destination_id": {"S": destination_id}})

    def set_enabled(self, destination_id: str, enabled: bool, reason: str | None = None) -> None:
        """Enable, or disable with the reason shown in listings (410 Gone, or the user's)."""
        values: dict[str, Any]
        if enabled:
            expression, values = "SET #enabled = :on REMOVE disabled_reason", {":on": {"BOOL": True}}
        else:
            expression = "SET #enabled = :off, disabled_reason = :reason"
            values = {":off": {"BOOL": False}, ":reason": {"S": reason or "disabled"}}
        self._client.update_item(
            TableName=self._table,
            Key={"destination_id": {"S": destination_id}},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(destination_id)",
            ExpressionAttributeNames={"#enabled": "enabled"},
            ExpressionAttributeValues=values,
        )


class DestinationSecrets:
    """Each destination's secret, read once per ``secrets.CACHE_SECONDS`` per container (the webhook token's cache)."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self._client = client
        self._cache = SecretCache(lambda: client)

    def get(self, secret_id: str) -> DestinationSecret:
        value = self._cache.get(secret_id)
        return DestinationSecret(str(value["signing_secret"]), dict(value.get("headers") or {}))

    def create(self, name: str, secret: DestinationSecret) -> str:
        """A new secret; returns its ARN."""
        created = self._client.create_secret(
            Name=name,
            Description="Webhook Hub destination: signing key and static headers",
            SecretString=json.dumps({"signing_secret": secret.signing_secret, "headers": dict(secret.headers)}),
        )
        return created["ARN"]

    def delete(self, secret_id: str) -> None:
        self._client.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
