"""docs/performance.md and docs/cost.md from one run's results. Prices are constants with the date they are known
for; every per-event quantity comes from the run: requests sent, items written, CPU and log bytes, the cold start."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

from bench import cases
from webhook_hub.record import PENDING_SHARDS

PRICES_AS_OF = "mid-2025"  # when these were the us-east-1 list prices, as known to the author
PRICES = {
    "http_api": (1.00, "API Gateway HTTP API, per million requests (of up to 512 KB)"),
    "rest_api": (3.50, "API Gateway REST API, per million requests"),
    "requests": (0.20, "Lambda, per million requests"),
    "arm64": (0.0000133334, "Lambda arm64, per GB-second"),
    "x86": (0.0000166667, "Lambda x86, per GB-second"),
    "writes": (0.625, "DynamoDB on-demand, per million write units (halved in November 2024)"),
    "reads": (0.125, "DynamoDB on-demand, per million read units"),
    "storage": (0.25 + 0.20, "DynamoDB storage + point-in-time recovery, per GB-month"),
    "publish": (0.50, "SNS publish, per million requests of 64 KB"),
    "s3_put": (0.005, "S3, per thousand PUTs"),
    "s3_storage": (0.023, "S3 storage, per GB-month"),
    "logs": (0.50, "CloudWatch Logs ingestion, per GB"),
}
PRICE = {key: price for key, (price, _) in PRICES.items()}
ASSUMED_WAIT_MS = {"PutItem": 5.0, "UpdateItem": 5.0, "Publish": 12.0, "PutObject": 20.0, "GetSecretValue": 8.0}
"""In-region latencies assumed for the real services (not measurable here); any other call 5 ms."""
TLS_SETUP_MS = 15.0  # per client on a cold start: TCP and TLS handshakes to each regional endpoint
PLATFORM_LOG_BYTES = 330 + 260  # Lambda's START, END and REPORT lines, one line of the access log (roughly)
COLD_SHARE = 0.01  # of invocations that start a container (steady traffic: well under 1%)
FULL_VCPU_MB = 1769  # Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB
MEMORY_MB = 1024  # must match MemorySize in template.yaml: chosen from the memory table in docs/performance.md
PARTITION_WRITES = 1_000  # on one partition key value (Developer Guide, partitions)


def _duration_ms(cpu_ms: float, wait_ms: float, memory_mb: int = MEMORY_MB) -> float:
    """CPU stretched by the share of a vCPU this memory gets, plus the time waiting on AWS."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + wait_ms


def _lambda_dollars(duration_ms: float, memory_mb: int = MEMORY_MB) -> float:
    """arm64's price: billed by the started millisecond, in proportion to memory."""
    return math.ceil(duration_ms) / 1000 * memory_mb / 1024 * PRICE["arm64"] * 1e6


def _wait_ms(calls: list[str]) -> float:
    return sum(ASSUMED_WAIT_MS.get(call.split(".", 1)[1], 5.0) for call in calls)


def _cold_ms(results: dict[str, Any], memory_mb: int = MEMORY_MB) -> float:
    hub = results["cold"]["hub"]["total_ms"]  # moto's share of the first event left in: a slight overestimate
    first = results["cases"]["first event of a container"]["calls"]
    return _duration_ms(hub, _wait_ms(first) + 3 * TLS_SETUP_MS, memory_mb)


def event_cost(results: dict[str, Any], name: str) -> dict[str, float]:
    """Dollars per million events of one priced case, by line."""
    case, priced, tables = results["cases"][name], results["priced"][name], results["tables"]
    sent = {request["operation"]: request for request in case["sent"]}
    gb = 1e6 / 1e9  # a million events' bytes in GB
    s3 = PRICE["s3_put"] * 1000 + sent["PutObject"]["bytes"] * gb * PRICE["s3_storage"] if "PutObject" in sent else 0
    return {
        "API Gateway": PRICE["http_api"],
        "Lambda requests": PRICE["requests"],
        "Lambda duration": _lambda_dollars(_duration_ms(priced["cpu_ms"], _wait_ms(case["calls"]))),
        "Lambda cold starts": COLD_SHARE * _lambda_dollars(_cold_ms(results)),
        "DynamoDB writes": sum(cases.case_units(case, tables).values()) * PRICE["writes"],
        "DynamoDB reads (the sweep's check)": cases.check_read_units(case, tables) * PRICE["reads"],
        "DynamoDB storage (30 days) + PITR": cases.stored_bytes(case, tables) * gb * PRICE["storage"],
        "SNS publish": math.ceil(sent["Publish"]["bytes"] / 65_536) * PRICE["publish"] if "Publish" in sent else 0,
        "S3 PUT + storage (30 days)": s3,
        "CloudWatch Logs": (priced["log_bytes"] + PLATFORM_LOG_BYTES) * gb * PRICE["logs"],
    }


def _table(rows: Iterable[Iterable[object]]) -> str:
    """Markdown table rows (the header is in the text)."""
    return "\n".join("| " + " | ".join(map(str, row)) + " |" for row in rows)


def _parts(units: dict[str, int]) -> str:
    parts = ", ".join(f"{part} {count}" for part, count in units.items())
    return f"**{sum(units.values())}** ({parts})" if units else "0"


def _targets(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """What, measured, target, and whether it is met."""
    cold, calls, tables, sizes = results["cold"], results["cases"], results["tables"], results["sizes"]
    ratio = cold["hub"]["total_ms"] / cold["baseline"]["total_ms"]
    new, again = calls["new event"], calls["redelivery (published)"]
    units, units_again = cases.case_units(new, tables), cases.case_units(again, tables)
    dollars = sum(event_cost(results, "new event").values())
    mb, zipped = (sum(part[key] for part in sizes.values()) / 1e6 for key in ("unzipped", "zipped"))
    hub, alone = (statistics.median(results["throughput"]["rates"][name]) for name in ("hub", "baseline"))
    rows = [
        ("cold start, import + first event", f"**{ratio:.2f}x** the baseline", "≤ 1.3x", ratio <= 1.3),
        ("DynamoDB write units, new text event", _parts(units), "≤ 5", sum(units.values()) <= 5),
        ("DynamoDB write units, redelivery", _parts(units_again), "≤ 1", sum(units_again.values()) <= 1),
        ("dollars per million new text events", f"**${dollars:.2f}**", "≤ $7.50", dollars <= 7.50),
        ("AWS calls, new event", f"**{len(new['calls'])}**", "≤ 3", len(new["calls"]) <= 3),
        ("AWS calls, redelivery of a published event", f"**{len(again['calls'])}**", "≤ 1", len(again["calls"]) <= 1),
        ("function + layer, unzipped", f"**{mb:.2f} MB** ({zipped:.2f} zipped)", "< 15 MB", mb < 15),
    ]
    throughput = f"**{hub:.1f} events/s**, {hub / alone:.0%} of its emulator alone ({alone:.1f})"
    return [(*row[:3], "met" if row[3] else "**not met**") for row in rows] + [("local hub", throughput, "—", "")]


def _header(results: dict[str, Any], title: str) -> str:
    r = results
    return f"""# {title}

Written by `make bench` (bench/) on {r["date"]} in {r["seconds"]} s from bench/results/latest.json (not committed):
do not edit. Each measurement runs beside its baseline in the same run, interleaved; medians, as other work shares
this machine: {r["machine"]}, load {r["load_before"]:.2f} before, {r["load_after"]:.2f} after. {r["python"]};
layer: {r["layer"]}; boto3 {r["boto3"]} standing in for the runtime's; commit {r["commit"]}.
"""


def performance(results: dict[str, Any]) -> str:
    cold, run, tables = results["cold"], results["throughput"], results["tables"]
    base, timings = cold["baseline"]["total_ms"], ("import_ms", "first_event_ms", "total_ms")
    new, priced = results["cases"]["new event"], results["priced"]["new event"]
    memory_rows = []
    for memory in (256, 512, 1024, 1769):
        warm, cold_ms = _duration_ms(priced["cpu_ms"], _wait_ms(new["calls"]), memory), _cold_ms(results, memory)
        dollars = _lambda_dollars(warm, memory) + COLD_SHARE * _lambda_dollars(cold_ms, memory)
        chosen = " **(chosen)**" if memory == MEMORY_MB else ""
        memory_rows.append((f"{memory} MB{chosen}", f"{warm:.0f} ms", f"{cold_ms / 1000:.2f} s", f"${dollars:.2f}"))
    cold_rows = [
        (name, *(f"{row[key]:.0f}" for key in timings), f"{row['total_ms'] / base:.2f}x") for name, row in cold.items()
    ]
    case_rows = [
        (name, case["answer"], len(case["calls"]), ", ".join(case["calls"]), _parts(cases.case_units(case, tables)))
        for name, case in results["cases"].items()
    ]
    sizes = [
        (part, size["files"], *(f"{size[key] / 1e6:.2f} MB" for key in ("unzipped", "zipped")))
        for part, size in results["sizes"].items()
    ]
    windows = " / ".join(f"{a} vs {b}" for a, b in zip(run["rates"]["hub"], run["rates"]["baseline"], strict=True))
    return f"""{_header(results, "Performance")}
## Results against the targets

| what | measured | target | |
|---|---|---|---|
{_table(_targets(results))}

## 1. Cold start

A fresh `python3.13 -I -S -B` process per cold start, {results["rounds"]} rounds alternating which configuration
goes first; medians from the process's first line to the answer (Lambda bills the import, INIT, and the first event
alike). Each answers a new `messages.upsert` with the same four calls to the same moto: GetSecretValue, PutItem,
Publish, UpdateItem.

- **baseline**, the least a boto3 function that stores and publishes does for its first event (bench/child.py):
  `import boto3`; `boto3.client` for DynamoDB, SNS and Secrets Manager, default configuration; GetSecretValue of
  `TOKEN_SECRET_ID`, its `current` token compared with the path's by `hmac.compare_digest`; `json.loads` of the
  body; PutItem, conditional on `attribute_not_exists(pk)`, of a plain item (`pk` the message id, `event`,
  `instance`, the body as received); Publish of the body to the `MessagesUpsert` topic; UpdateItem setting `state`
  to `published`. No validation, classification, redaction, logging, metrics or time budget.
- **hub**: `import app` from the function and layer as `sam build` wrote them (the layer's shipped unchecked-hash
  bytecode, the function's one file compiled at start, as on Lambda's read-only `/opt`), then `app.lambda_handler`.

| configuration | import (ms) | first event (ms) | total (ms) | x baseline |
|---|---:|---:|---:|---:|
{_table(cold_rows)}

## 2. AWS calls and DynamoDB write units per case

One container answering these in order against moto; calls from a `before-send` hook on the hub's botocore clients;
write units by DynamoDB's documented rules (bench/cases.py) from each write sent and the items before and after it.

| case | answer | calls | operations | write units |
|---|---|---:|---|---|
{_table(case_rows)}

## 3. Artifact size

What `sam build` wrote, zipped at deflate level 6 as `sam package` does; boto3 and botocore come with the runtime.

| part | files | unzipped | zipped |
|---|---:|---:|---:|
{_table(sizes)}

## 4. Local hub, sustained events/s

`webhook-hub run` (gateway, four container processes, moto, the tap reading every notification back) taking new
text messages, beside a second moto alone, provisioned the same way, taking a new event's three calls (a 1.4 KB
conditional put, a 2 KB publish, the update) with none of the hub's code: the emulator's ceiling. {run["senders"]}
senders each, alternating windows of {run["seconds"]:.0f} s; events/s, hub vs baseline: {windows}.

## 5. Memory size

Only CPU time is measured; Lambda's CPU grows with memory (one vCPU at {FULL_VCPU_MB} MB), so CPU time is stretched
by {FULL_VCPU_MB} ÷ memory and the waits on AWS assumed in [cost.md](cost.md) are added.

| memory | new text message | cold start | Lambda $ per million (duration + cold starts) |
|---:|---:|---:|---:|
{_table(memory_rows)}

## 6. The `Pending` index's ceiling

Arithmetic: an event its first delivery publishes never writes `Pending`. When publishing fails (an SNS outage) each
event writes and later deletes its entry under one of {PENDING_SHARDS} shard key values; DynamoDB takes about
{PARTITION_WRITES:,} writes a second per key value, so the ceiling in an outage is {PENDING_SHARDS} x
{PARTITION_WRITES:,} ÷ 2 = **{PENDING_SHARDS * PARTITION_WRITES // 2:,} events a second**. In normal operation the
first limits are one key value of the listing indexes: one instance's `ByInstance` key and one type's `ByTypeDay` key
of the day take a write per event, {PARTITION_WRITES:,} events a second each.
"""


def cost(results: dict[str, Any]) -> str:
    rows = {name: event_cost(results, name) for name in results["priced"]}
    new, total = rows["new event"], {name: sum(row.values()) for name, row in rows.items()}
    rest_more = PRICE["rest_api"] - PRICE["http_api"]
    x86_more = (new["Lambda duration"] + new["Lambda cold starts"]) * (PRICE["x86"] / PRICE["arm64"] - 1)
    prices = [(label, f"{price:.10f}".rstrip("0").rstrip(".")) for price, label in PRICES.values()]
    lines = [(line, *(f"{row[line]:.2f}" for row in rows.values())) for line in new]
    lines.append(("**total**", *(f"**{value:.2f}**" for value in total.values())))
    waits = ", ".join(f"{operation} {ms:g} ms" for operation, ms in ASSUMED_WAIT_MS.items())
    return f"""{_header(results, "Cost per million events")}
## Prices used

us-east-1 list prices as known to the author for **{PRICES_AS_OF}**, **not fetched live**: check the AWS pricing
pages. Free tiers are left out.

| item | dollars |
|---|---:|
{_table(prices)}

## Default: HTTP API, arm64, {MEMORY_MB} MB — dollars per million events

From each case's requests (docs/performance.md §2) and its median CPU time and log bytes per event over
{results["priced_repeats"]} events (a quarter as many large bodies). Duration as in docs/performance.md §5 with these
waits assumed: {waits}; a cold start ({COLD_SHARE:.0%} of invocations) adds {TLS_SETUP_MS:g} ms of TLS per client.
Logs add ~{PLATFORM_LOG_BYTES} bytes of Lambda's and the access log's per event.

| line | {" | ".join(rows)} |
|---|{"---:|" * len(rows)}
{_table(lines)}

Why the defaults: {MEMORY_MB} MB from [the memory table](performance.md#5-memory-size); HTTP API, ${rest_more:.2f} less
per million requests than REST API (whose extras the hub does not use); arm64, ${x86_more:.2f} less per million text
messages than x86. DynamoDB writes are {new["DynamoDB writes"] / total["new event"]:.0%} of a new text message.

Fixed monthly costs: the token secret $0.40 (reads cached five minutes per container); the recovery sweep's 8,640
invocations, cents; alarms $0.10 each and custom metrics about $0.30 each (`EventsByTopic`: one per topic and
outcome seen); topics, table and bucket nothing while idle.
"""
