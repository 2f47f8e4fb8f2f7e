"""The webhooks the benchmarks send, and what DynamoDB charges for the writes they cause.

Write units follow DynamoDB's documented rules, applied to the items before and after each write as moto holds
them (bench/child.py reads them back): a write costs one unit per started KB of the larger of the item before and
after it (a delete, the item deleted; a write whose condition failed, the larger of the stored and the offered
item, and nothing in any index); twice that in a transaction. Each global secondary index whose entry for the item
appears, disappears or changes costs one write of the entry's size (its projected attributes), or two when the
entry's index key changed (a delete and a put); an entry the write leaves as it was costs nothing.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from webhook_hub.record import Item, item_size
from webhook_hub_cli.apigw import http_api_event

BODIES = Path(__file__).resolve().parents[1] / "events" / "bodies"
TEXT_TOPIC = "MessagesUpsert"
HEADERS = {"content-type": "application/json", "user-agent": "axios/1.7.9", "host": "bench.local"}


def message(message_id: str, kind: str = "text") -> dict[str, Any]:
    """A new inbound ``messages.upsert`` keyed by ``message_id``: a text (what users receive most); ``large``, an
    image with its media inline as base64 past the 200 KB inline limit (the body goes to S3); ``unclassified``, an
    event name no known version emits (version drift)."""
    sample = "messages-upsert-image" if kind == "large" else "messages-upsert"
    document: dict[str, Any] = json.loads((BODIES / f"{sample}.json").read_text(encoding="utf-8"))
    document["data"]["key"]["id"] = message_id
    if kind == "large":
        document["data"]["message"]["base64"] = "QkVOQ0g" * (300_000 // 7)  # 300 KB
    elif kind == "unclassified":
        document["event"] = "messages.future-thing"
    return document


def webhook_event(token: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
    """``POST /webhook/<token>`` as API Gateway hands it to the function, the body as Evolution sends it."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
    event = http_api_event("POST", f"/webhook/{token}", HEADERS.items(), data)
    if event is None:
        raise RuntimeError("the template has no POST /webhook/{proxy+} route")
    return event


def unique_id(label: str) -> str:
    return f"BENCH{label.upper()}{time.time_ns()}"


def case_list(token: str, topic_arn_prefix: str, stack_name: str) -> list[dict[str, Any]]:
    """In order, as one container meets them: the first event also reads the token secret."""
    first, second, failing = (message(unique_id(label)) for label in ("first", "new", "failing"))

    def case(name: str, document: dict[str, Any] | bytes, token: str = token, **extra: str) -> dict[str, Any]:
        return {"name": name, "event": webhook_event(token, document), **extra}

    return [
        case("first event of a container", first),
        case("new event", second),
        case("redelivery (published)", second),
        case("large body (S3)", message(unique_id("large"), "large")),
        case("unclassified", message(unique_id("unclassified"), "unclassified")),
        case("not JSON (quarantined)", b'{"event": "messages.upsert", "data": '),
        case("wrong token", second, "x" * 40),
        case("SNS failing (503)", failing, delete_topic=topic_arn_prefix + TEXT_TOPIC),
        case("redelivery after a failed publish", failing, create_topic=f"{stack_name}-event-{TEXT_TOPIC}"),
        case("redelivery (published, again)", failing),
    ]


def priced_events(token: str, repeats: int) -> dict[str, list[dict[str, Any]]]:
    """``repeats`` events of each case priced in docs/cost.md (a quarter as many large bodies), named as in
    ``case_list``: new ones get new ids, the redelivery repeats one (its first delivery publishes it)."""

    def new(kind: str, count: int) -> list[dict[str, Any]]:
        return [webhook_event(token, message(unique_id(f"{kind}{i}"), kind)) for i in range(count)]

    again = webhook_event(token, message(unique_id("again")))
    return {
        "new event": new("text", repeats),
        "redelivery (published)": [again] * (repeats + 1),
        "unclassified": new("unclassified", repeats),
        "large body (S3)": new("large", repeats // 4),
    }


def _units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _entry(item: Item | None, table: dict[str, Any], index: dict[str, Any]) -> Item | None:
    """The item's entry in ``index``, or ``None`` when the item lacks the index key (sparse)."""
    keys = [part["AttributeName"] for part in index["KeySchema"]]
    if item is None or any(key not in item for key in keys):
        return None
    projection = index["Projection"]
    if projection["ProjectionType"] == "ALL":
        return item
    names = [part["AttributeName"] for part in table["KeySchema"]] + keys + projection.get("NonKeyAttributes", [])
    return {name: item[name] for name in names if name in item}


def write_units(write: dict[str, Any], table: dict[str, Any]) -> dict[str, int]:
    """Units of one captured write, by ``table`` and by index name."""
    before, after, offered = write["before"], write["after"], write["offered"]
    largest = max((item_size(item) for item in (before, after, offered) if item is not None), default=0)
    units = {"table": write["factor"] * _units(largest)}
    if write["failed"]:
        return units
    for index in table.get("GlobalSecondaryIndexes", []):
        old, new = _entry(before, table, index), _entry(after, table, index)
        if old == new:
            continue
        keys = [part["AttributeName"] for part in index["KeySchema"]]
        moved = old is not None and new is not None and any(old[key] != new[key] for key in keys)
        sizes = [item_size(entry) for entry in (old, new) if entry is not None]
        units[index["IndexName"]] = sum(map(_units, sizes)) if moved else _units(max(sizes))
    return units


def case_units(case: dict[str, Any], tables: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Every write unit the case caused, summed by table and index, over all its requests."""
    total: dict[str, int] = {}
    for request in case["sent"]:
        for write in request.get("writes", []):
            for part, units in write_units(write, tables[write["table"]]).items():
                total[part] = total.get(part, 0) + units
    return total


def _final_writes(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The last write of each item the case created."""
    final: dict[str, Any] = {}
    for request in case["sent"]:
        for write in request.get("writes", []):
            key = json.dumps([write["table"], write["key"]], sort_keys=True)
            if key in final or write["before"] is None:
                final[key] = write
    return list(final.values())


def check_read_units(case: dict[str, Any], tables: dict[str, dict[str, Any]]) -> float:
    """Read units the recovery sweep's check of recent events spends on the case's events, by DynamoDB's read rules:
    its ``ByTypeDay`` entry in a query (half a unit per 4 KB, summed over the page) and an eventually consistent
    ``BatchGetItem`` of its item (half a unit per started 4 KB). Events of a type not in the catalog are not read."""
    units = 0.0
    for write in _final_writes(case):
        table, item = tables[write["table"]], write["after"]
        by_type_day = [index for index in table.get("GlobalSecondaryIndexes", []) if index["IndexName"] == "ByTypeDay"]
        if item is None or not by_type_day or not item.get("known", {}).get("BOOL"):
            continue
        entry = _entry(item, table, by_type_day[0])
        units += 0.5 * item_size(entry or {}) / 4096 + 0.5 * math.ceil(item_size(item) / 4096)
    return units


def stored_bytes(case: dict[str, Any], tables: dict[str, dict[str, Any]]) -> int:
    """What the case adds to DynamoDB: each item it created, as last written, and its index entries, 100 bytes each
    added (DynamoDB's per-item overhead)."""
    size = 0
    for write in _final_writes(case):
        table, item = tables[write["table"]], write["after"]
        if item is None:
            continue
        entries = [_entry(item, table, index) for index in table.get("GlobalSecondaryIndexes", [])]
        size += sum(item_size(entry) + 100 for entry in [item, *entries] if entry is not None)
    return size
