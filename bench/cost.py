"""Dollars per million events, from the measured sizes and CPU times and the public list prices.

Nothing here is fetched: the prices are constants, with the date they are known for, and the per-event
quantities come from the benchmark run (item sizes from the items really sent, SNS message sizes, log bytes,
CPU per event, cold-start CPU). The DynamoDB write units follow the documented rules: a write costs one unit per
started KB of the item (an ``UpdateItem`` the larger of the item before and after it; a failed conditional write
the larger of the stored and the offered item), and each index whose key the item carries costs one more write of
its projected entry; an update that removes an index key deletes that entry (one write).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from webhook_hub.record import Item, item_size
from webhook_hub_cli import template as stack_template

PRICES_AS_OF = "mid-2025"
"""When the constants below were the published us-east-1 list prices, as known to the author. Not fetched live:
this workplace reaches no AWS page. Check the AWS pricing pages before relying on them."""


@dataclass(frozen=True)
class Prices:
    http_api_per_million: float = 1.00
    """API Gateway HTTP API, first 300 M requests a month; each 512 KB of a request counts as one request."""
    rest_api_per_million: float = 3.50
    """API Gateway REST API, first 333 M requests a month."""
    lambda_requests_per_million: float = 0.20
    lambda_arm64_gb_second: float = 0.0000133334
    lambda_x86_gb_second: float = 0.0000166667
    dynamodb_write_units_per_million: float = 0.625
    """On-demand write request units (the price halved in November 2024)."""
    dynamodb_storage_gb_month: float = 0.25
    dynamodb_pitr_gb_month: float = 0.20
    sns_publish_per_million: float = 0.50
    """Standard topics; every started 64 KB of a publish is billed as one request."""
    sns_https_deliveries_per_million: float = 0.60
    sns_email_deliveries_per_million: float = 20.00
    s3_put_per_thousand: float = 0.005
    s3_storage_gb_month: float = 0.023
    logs_ingestion_per_gb: float = 0.50
    secrets_per_month: float = 0.40
    secrets_calls_per_10k: float = 0.05


PRICES = Prices()

MEMORY_SIZES = (128, 256, 512, 1024, 1769)
FULL_VCPU_MB = 1769
"""Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB."""
ASSUMED_AWS_WAIT_MS = {"PutItem": 5.0, "UpdateItem": 5.0, "Publish": 12.0, "PutObject": 20.0, "GetSecretValue": 8.0}
"""In-region latencies assumed for the real services (not measurable here): typical single-digit milliseconds for
DynamoDB writes, more for an SNS publish to a KMS-encrypted topic and for an S3 PUT of a few hundred KB."""
ASSUMED_TLS_SETUP_MS = 15.0
"""Per client on a cold start: TCP and TLS handshakes to each regional endpoint."""
PLATFORM_LOG_BYTES = 330
"""Lambda's START, END and REPORT lines per invocation (text format), roughly."""
ACCESS_LOG_BYTES = 260
"""One line of the HTTP API's access log (the template's format) per request, roughly."""
LARGE_SHARE = 0.01
"""Share of events whose body goes to S3 (media sent inline with "Webhook base64" on); 1% assumed."""
COLD_SHARE = 0.01
"""Share of invocations that start a container; depends on traffic (steady traffic: well under 1%)."""
RETENTION_DAYS = 30


@dataclass(frozen=True)
class Writes:
    item_bytes: int
    put_units: int
    index_units: dict[str, int]
    mark_units: int
    redelivery_units: int

    @property
    def new_event_units(self) -> int:
        return self.put_units + sum(self.index_units.values()) + self.mark_units


def _units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _indexes() -> list[dict[str, Any]]:
    table = stack_template.load()["Resources"]["EventsTable"]["Properties"]
    indexes: list[dict[str, Any]] = table["GlobalSecondaryIndexes"]
    return indexes


def _entry_size(item: Item, index: dict[str, Any]) -> int | None:
    keys = [part["AttributeName"] for part in index["KeySchema"]]
    if any(key not in item for key in keys):
        return None  # sparse: the item is not in this index
    projection = index["Projection"]
    names = ["pk", *keys]
    if projection["ProjectionType"] == "INCLUDE":
        names += projection.get("NonKeyAttributes", [])
    elif projection["ProjectionType"] == "ALL":
        names = list(item)
    return item_size({name: item[name] for name in dict.fromkeys(names) if name in item})


def published(item: Item) -> Item:
    """The item after ``mark_published``: the state set, two attributes added, ``pending`` and the lease removed."""
    after = {name: value for name, value in item.items() if name not in ("pending", "lease_until")}
    after["state"] = {"S": "published"}
    after["published_at"] = {"S": "2026-01-01T00:00:00.000Z"}
    after["sns_message_id"] = {"S": "00000000-0000-0000-0000-000000000000"}
    return after


def writes(item: Item) -> Writes:
    size = item_size(item)
    index_units = {
        index["IndexName"]: _units(entry) for index in _indexes() if (entry := _entry_size(item, index)) is not None
    }
    after = published(item)
    removed_from = sum(
        1 for index in _indexes() if _entry_size(item, index) is not None and _entry_size(after, index) is None
    )
    return Writes(
        item_bytes=size,
        put_units=_units(size),
        index_units=index_units,
        mark_units=_units(max(size, item_size(after))) + removed_from,
        redelivery_units=_units(max(size, item_size(after))),
    )


def sns_requests(message: str, attributes: dict[str, Any]) -> int:
    size = len(message.encode()) + sum(
        len(name) + len(value["DataType"]) + len(value["StringValue"].encode()) for name, value in attributes.items()
    )
    return max(1, math.ceil(size / 65_536))


@dataclass(frozen=True)
class Duration:
    memory_mb: int
    warm_ms: float
    cold_ms: float


def lambda_duration(cpu_ms: float, wait_ms: float, memory_mb: int) -> float:
    """CPU work stretched by the share of a vCPU this memory gets, plus the time waiting on AWS."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + wait_ms


def _sent(warm: dict[str, Any], scenario: str) -> dict[str, dict[str, Any]]:
    return dict(warm[scenario]["sent"])


def _wait_ms(operations: list[str]) -> float:
    return sum(ASSUMED_AWS_WAIT_MS.get(operation, 5.0) for operation in operations)


@dataclass(frozen=True)
class EventCost:
    """One event of a kind, in units and in dollars per million such events."""

    name: str
    lines: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def _lambda_cost(duration_ms: float, memory_mb: int, gb_second: float) -> float:
    return math.ceil(duration_ms) / 1000 * memory_mb / 1024 * gb_second * 1e6


def event_cost(
    warm: dict[str, Any],
    scenario: str,
    *,
    memory_mb: int,
    rest_x86: bool = False,
    cold_ms: float = 0.0,
) -> EventCost:
    """Dollars per million events of one measured scenario, with everything it causes."""
    result = warm[scenario]
    sent = _sent(warm, scenario)
    operations = [operation for operation, _ in warm[scenario]["sent"]]
    cpu_ms = result["cpu_us"]["p50"] / 1000
    duration = lambda_duration(cpu_ms, _wait_ms(operations), memory_mb)
    gb_second = PRICES.lambda_x86_gb_second if rest_x86 else PRICES.lambda_arm64_gb_second
    lines: dict[str, float] = {
        "API Gateway": PRICES.rest_api_per_million if rest_x86 else PRICES.http_api_per_million,
        "Lambda requests": PRICES.lambda_requests_per_million,
        "Lambda duration": _lambda_cost(duration, memory_mb, gb_second),
    }
    if cold_ms:
        lines["Lambda cold starts"] = COLD_SHARE * _lambda_cost(cold_ms, memory_mb, gb_second)
    if "PutItem" in sent:
        item = sent["PutItem"]["Item"]
        counted = writes(item)
        units = counted.new_event_units if "UpdateItem" in sent else counted.redelivery_units
        lines["DynamoDB writes"] = units * PRICES.dynamodb_write_units_per_million
        stored = (
            counted.item_bytes
            + 100
            + sum(entry + 100 for index in _indexes() if (entry := _entry_size(item, index)) is not None)
        )
        if "UpdateItem" in sent:
            month_share = RETENTION_DAYS / 30
            gb = stored * 1e6 / 1e9
            lines["DynamoDB storage (30 days) + PITR"] = (
                gb * (PRICES.dynamodb_storage_gb_month + PRICES.dynamodb_pitr_gb_month) * month_share
            )
    if "Publish" in sent:
        publish = sent["Publish"]
        lines["SNS publish"] = (
            sns_requests(publish["Message"], publish.get("MessageAttributes", {})) * PRICES.sns_publish_per_million
        )
    if "PutObject" in sent:
        lines["S3 PUT + storage (30 days)"] = (
            PRICES.s3_put_per_thousand * 1000 + sent["PutObject"]["BodyBytes"] * 1e6 / 1e9 * PRICES.s3_storage_gb_month
        )
    log_bytes = result["log_bytes"] + PLATFORM_LOG_BYTES + ACCESS_LOG_BYTES
    lines["CloudWatch Logs"] = log_bytes * 1e6 / 1e9 * PRICES.logs_ingestion_per_gb
    return EventCost(scenario, lines)


def durations(cpu_ms: float, wait_ms: float, cold_cpu_ms: float, cold_wait_ms: float) -> list[Duration]:
    return [
        Duration(memory, lambda_duration(cpu_ms, wait_ms, memory), lambda_duration(cold_cpu_ms, cold_wait_ms, memory))
        for memory in MEMORY_SIZES
    ]
