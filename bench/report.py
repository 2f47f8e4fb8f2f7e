"""docs/performance.md and docs/cost.md from one run's results (bench/results/latest.json).

Prices are constants with the date they are known for, not fetched; every per-event quantity comes from the run:
the requests really sent and the items they wrote, the CPU and log bytes per event, the cold start.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench import cases
from webhook_hub.record import PENDING_SHARDS

PARTITION_WRITES_PER_SECOND = 1_000
"""DynamoDB's write throughput for one partition key value (Developer Guide, partitions and data distribution)."""
PENDING_WRITES_PER_EVENT = 2
"""The entry written with the event, and deleted when it is published."""

PRICES_AS_OF = "mid-2025"
"""When these were the published us-east-1 list prices, as known to the author; check the AWS pricing pages."""
HTTP_API, REST_API = "API Gateway HTTP API, per million requests", "API Gateway REST API, per million requests"
LAMBDA_REQUESTS, ARM64, X86 = "Lambda, per million requests", "Lambda arm64, per GB-second", "Lambda x86, per GB-second"
WRITE_UNITS = "DynamoDB on-demand, per million write units"
TABLE_STORAGE = "DynamoDB storage + point-in-time recovery, per GB-month"
PUBLISHES, S3_PUTS = "SNS publish, per million requests of 64 KB", "S3, per thousand PUTs"
S3_STORAGE, LOGS = "S3 storage, per GB-month", "CloudWatch Logs ingestion, per GB"
PRICES = {
    HTTP_API: 1.00,  # each 512 KB of a request counts as one
    REST_API: 3.50,
    LAMBDA_REQUESTS: 0.20,
    ARM64: 0.0000133334,
    X86: 0.0000166667,
    WRITE_UNITS: 0.625,  # halved in November 2024
    TABLE_STORAGE: 0.25 + 0.20,
    PUBLISHES: 0.50,
    S3_PUTS: 0.005,
    S3_STORAGE: 0.023,
    LOGS: 0.50,
}
ASSUMED_WAIT_MS = {"PutItem": 5.0, "UpdateItem": 5.0, "Publish": 12.0, "PutObject": 20.0, "GetSecretValue": 8.0}
"""In-region latencies assumed for the real services (not measurable here); any other call 5 ms."""
TLS_SETUP_MS = 15.0
"""Per client on a cold start: TCP and TLS handshakes to each regional endpoint."""
PLATFORM_LOG_BYTES = 330 + 260
"""Lambda's START, END and REPORT lines, and one line of the HTTP API's access log, per request (roughly)."""
COLD_SHARE = 0.01
"""Share of invocations that start a container (steady traffic: well under 1%)."""
FULL_VCPU_MB = 1769
"""Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB."""
MEMORY_MB = 1024
"""Must match ``MemorySize`` in template.yaml: chosen from the memory table in docs/performance.md."""


def _duration_ms(cpu_ms: float, wait_ms: float, memory_mb: int = MEMORY_MB) -> float:
    """CPU stretched by the share of a vCPU this memory gets, plus the time waiting on AWS."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + wait_ms


def _lambda_dollars(duration_ms: float, memory_mb: int = MEMORY_MB, arch: str = ARM64) -> float:
    return math.ceil(duration_ms) / 1000 * memory_mb / 1024 * PRICES[arch] * 1e6


def _wait_ms(calls: list[str]) -> float:
    return sum(ASSUMED_WAIT_MS.get(call.split(".", 1)[1], 5.0) for call in calls)


def _cold_ms(results: dict[str, Any], memory_mb: int = MEMORY_MB) -> float:
    hub = results["cold"]["hub"]["total_ms"]  # moto's share of the first event left in: a slight overestimate
    first = results["cases"]["first event of a container"]["calls"]
    return _duration_ms(hub, _wait_ms(first) + 3 * TLS_SETUP_MS, memory_mb)


def event_cost(results: dict[str, Any], name: str, arch: str = ARM64) -> dict[str, float]:
    """Dollars per million events of one priced case, by line."""
    case, priced, tables = results["cases"][name], results["priced"][name], results["tables"]
    sent = {request["operation"]: request for request in case["sent"]}
    gb = 1e6 / 1e9  # a million events' bytes in GB
    publishes = math.ceil(sent["Publish"]["bytes"] / 65_536) if "Publish" in sent else 0
    s3 = PRICES[S3_PUTS] * 1000 + sent["PutObject"]["bytes"] * gb * PRICES[S3_STORAGE] if "PutObject" in sent else 0
    return {
        "API Gateway": PRICES[HTTP_API],
        "Lambda requests": PRICES[LAMBDA_REQUESTS],
        "Lambda duration": _lambda_dollars(_duration_ms(priced["cpu_ms"], _wait_ms(case["calls"])), arch=arch),
        "Lambda cold starts": COLD_SHARE * _lambda_dollars(_cold_ms(results), arch=arch),
        "DynamoDB writes": sum(cases.case_units(case, tables).values()) * PRICES[WRITE_UNITS],
        "DynamoDB storage (30 days) + PITR": cases.stored_bytes(case, tables) * gb * PRICES[TABLE_STORAGE],
        "SNS publish": publishes * PRICES[PUBLISHES],
        "S3 PUT + storage (30 days)": s3,
        "CloudWatch Logs": (priced["log_bytes"] + PLATFORM_LOG_BYTES) * gb * PRICES[LOGS],
    }


def _numbers(results: dict[str, Any]) -> dict[str, Any]:
    cold, calls, rates = results["cold"], results["cases"], results["throughput"]["rates"]
    sizes = results["sizes"]
    return {
        "cold": cold["hub"]["total_ms"] / cold["baseline"]["total_ms"],
        "units": cases.case_units(calls["new event"], results["tables"]),
        "units again": sum(cases.case_units(calls["redelivery (published)"], results["tables"]).values()),
        "dollars": sum(event_cost(results, "new event").values()),
        "calls": len(calls["new event"]["calls"]),
        "calls again": len(calls["redelivery (published)"]["calls"]),
        "MB": (sizes["function"]["unzipped"] + sizes["layer"]["unzipped"]) / 1e6,
        "zipped MB": (sizes["function"]["zipped"] + sizes["layer"]["zipped"]) / 1e6,
        "hub": statistics.median(rates["hub"]),
        "baseline": statistics.median(rates["baseline"]),
    }


def summary(results: dict[str, Any]) -> str:
    n = _numbers(results)
    return (
        f"cold start {n['cold']:.2f}x baseline; new text event {sum(n['units'].values())} write units, "
        f"${n['dollars']:.2f} per million; calls new/redelivery {n['calls']}/{n['calls again']}; artifact "
        f"{n['MB']:.2f} MB; local hub {n['hub']:.1f} events/s (emulator alone {n['baseline']:.1f})"
    )


def _parts(units: dict[str, int]) -> str:
    parts = ", ".join(f"{part} {count}" for part, count in units.items())
    return f"**{sum(units.values())}** ({parts})" if units else "0"


def _header(results: dict[str, Any], title: str) -> list[str]:
    return [
        f"# {title}",
        "",
        f"Written by `make bench` (bench/) on {results['date']} in {results['seconds']} s; do not edit by hand, run "
        "it again. Raw results: bench/results/latest.json (not committed). Each measurement runs beside its baseline "
        "in the same run, interleaved, and reports medians: other work shares this machine.",
        "",
        f"- Machine: {results['machine']}; load average {results['load_before']:.2f} before, "
        f"{results['load_after']:.2f} after",
        *(f"- {key}: {results[key]}" for key in ("python", "layer", "boto3 (runtime stand-in)", "commit")),
        "",
    ]


def render(results: dict[str, Any]) -> tuple[str, str]:
    return _performance(results), _costs(results)


def _performance(results: dict[str, Any]) -> str:
    n, cold, sizes, run = _numbers(results), results["cold"], results["sizes"], results["throughput"]
    targets = [  # what, measured, target, met
        ("cold start, import + first event", f"**{n['cold']:.2f}x** the baseline", "≤ 1.3x", n["cold"] <= 1.3),
        ("DynamoDB write units, new text event", _parts(n["units"]), "≤ 5", sum(n["units"].values()) <= 5),
        ("DynamoDB write units, redelivery", f"**{n['units again']}**", "≤ 1", n["units again"] <= 1),
        ("dollars per million new text events", f"**${n['dollars']:.2f}**", "≤ $7.50", n["dollars"] <= 7.50),
        ("AWS calls, new event", f"**{n['calls']}**", "≤ 3", n["calls"] <= 3),
        ("AWS calls, redelivery of a published event", f"**{n['calls again']}**", "≤ 1", n["calls again"] <= 1),
        ("function + layer, unzipped", f"**{n['MB']:.2f} MB** ({n['zipped MB']:.2f} zipped)", "< 15 MB", n["MB"] < 15),
    ]
    lines = [
        *_header(results, "Performance"),
        "## Results against the targets",
        "",
        "| what | measured | target | |",
        "|---|---|---|---|",
        *(f"| {what} | {got} | {want} | {'met' if ok else '**not met**'} |" for what, got, want, ok in targets),
        f"| local hub, sustained | **{n['hub']:.1f} events/s**, {n['hub'] / n['baseline']:.0%} of its emulator "
        f"alone ({n['baseline']:.1f}) | — | |",
        "",
        "## 1. Cold start",
        "",
        f"Fresh `python3.13 -I -S -B` processes, {results['rounds']} rounds, the two configurations alternating "
        "which goes first; medians, from the process's first line (interpreter start-up is the same for both) to "
        "the end. **baseline**: `import boto3` and the DynamoDB and SNS clients, no call: the least a function that "
        "stores and publishes does. **hub**: the function and layer as `sam build` wrote them (the layer ships "
        "unchecked-hash bytecode, Lambda's `/opt` being read-only; the function's one file is compiled at start), "
        "`import app`, then a new `messages.upsert` against moto, answered `accepted` every time (it also reads the "
        "token secret). Lambda bills the import (INIT) and the first event alike, and the sender waits for both.",
        "",
        "| configuration | import (ms) | first event (ms) | total (ms) | x baseline |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {row['import_ms']:.0f} | {format(row['first_event_ms'], '.0f') if name == 'hub' else '—'} | "
            f"{row['total_ms']:.0f} | {row['total_ms'] / cold['baseline']['total_ms']:.2f}x |"
            for name, row in cold.items()
        ),
        "",
        "## 2. AWS calls and DynamoDB write units per case",
        "",
        "One container answering these in order against moto, as a real one would: the first event also reads the "
        "token secret, a redelivery really finds its item, a deleted topic makes the publish really fail. Calls: a "
        "`before-send` hook on the hub's botocore clients (tests/integration/test_aws_calls.py asserts them on every "
        "`make test`). Write units: from the writes really sent and the items before and after each, read back from "
        "moto (whose consumed capacity is a constant), by DynamoDB's documented rules (bench/cases.py).",
        "",
        "| case | answer | calls | operations | write units |",
        "|---|---|---:|---|---|",
        *(
            f"| {name} | {case['answer']} | {len(case['calls'])} | {', '.join(case['calls'])} | "
            f"{_parts(cases.case_units(case, results['tables']))} |"
            for name, case in results["cases"].items()
        ),
        "",
        "## 3. Artifact size",
        "",
        "What `sam build` wrote (what `sam deploy` uploads), zipped at deflate level 6 as `sam package` does. boto3 "
        "and botocore come with the runtime and are not shipped.",
        "",
        "| part | files | unzipped | zipped |",
        "|---|---:|---:|---:|",
        *(
            f"| {part} | {s['files']} | {s['unzipped'] / 1e6:.2f} MB | {s['zipped'] / 1e6:.2f} MB |"
            for part, s in sizes.items()
        ),
        "",
        "## 4. Local hub, sustained events/s",
        "",
        f"`webhook-hub run` (its gateway, four container processes, moto, and the tap that reads every notification "
        f"back) beside a second moto alone, provisioned the same way, taking the three calls of a new event (a 1.4 KB "
        f"conditional put, a 2 KB publish, the update) from as many senders ({run['senders']}) with none of the hub's "
        f"code: the ceiling the emulator sets. Alternating windows of {run['seconds']:.0f} s, each event a new text "
        "message answered `accepted`; events/s, hub vs baseline: "
        + " / ".join(
            f"{hub} vs {base}" for hub, base in zip(run["rates"]["hub"], run["rates"]["baseline"], strict=True)
        )
        + ". The local hub is for trying the hub and for the tests: on AWS each container has its own CPU, and "
        "DynamoDB and SNS are not one Python process.",
        "",
        "## 5. Memory size",
        "",
        "Only CPU time is measured here; Lambda gives CPU in proportion to memory (one vCPU at "
        f"{FULL_VCPU_MB} MB), so the model stretches it by {FULL_VCPU_MB} ÷ memory and adds the waits on AWS assumed "
        "in [cost.md](cost.md). Below one vCPU the CPU-bound part costs the same at any memory, so more memory costs "
        "only the time spent waiting, while the cold start, almost all CPU, shrinks with it.",
        "",
        "| memory | new text message | cold start | Lambda $ per million (duration + cold starts) |",
        "|---:|---:|---:|---:|",
    ]
    case, priced = results["cases"]["new event"], results["priced"]["new event"]
    for memory in (256, 512, 1024, 1769):
        warm, cold_ms = _duration_ms(priced["cpu_ms"], _wait_ms(case["calls"]), memory), _cold_ms(results, memory)
        dollars = _lambda_dollars(warm, memory) + COLD_SHARE * _lambda_dollars(cold_ms, memory)
        chosen = " **(chosen)**" if memory == MEMORY_MB else ""
        lines.append(f"| {memory} MB{chosen} | {warm:.0f} ms | {cold_ms / 1000:.2f} s | ${dollars:.2f} |")
    return "\n".join(lines) + "\n\n" + _pending_ceiling()


def _pending_ceiling() -> str:
    """Arithmetic, not a measurement: the write rate one index key value takes is DynamoDB's documented limit."""
    per_key = PARTITION_WRITES_PER_SECOND // PENDING_WRITES_PER_EVENT
    return "\n".join(
        [
            "## 6. The `Pending` index's ceiling",
            "",
            f"Every new event writes its `Pending` entry and its publication deletes it: {PENDING_WRITES_PER_EVENT} "
            f"index writes per event under the event's `pending` key value. DynamoDB takes about "
            f"{PARTITION_WRITES_PER_SECOND:,} write units a second on one partition key value (of a table or of an "
            "index: a global secondary index that cannot keep up throttles the table's writes), so one key value "
            f"would cap the hub near {per_key:,} events a second. The key is one of {PENDING_SHARDS} shard values, "
            "chosen from the event id (uniformly distributed), so the ceiling is "
            f"{PENDING_SHARDS} x {per_key:,} = **{PENDING_SHARDS * per_key:,} events a second**. Past that the next "
            "limit is one instance's own: its `ByInstance` key takes one write per event, "
            f"{PARTITION_WRITES_PER_SECOND:,} events a second for a single instance. The recovery sweep reads the "
            f"{PENDING_SHARDS} shards in parallel.",
            "",
        ]
    )


def _costs(results: dict[str, Any]) -> str:
    rows = {label: event_cost(results, name) for name, label in cases.PRICED.items()}
    new, x86 = rows["new text message"], event_cost(results, "new event", arch=X86)
    lines = [
        *_header(results, "Cost per million events"),
        "## Prices used",
        "",
        f"us-east-1 list prices as known to the author for **{PRICES_AS_OF}**, in bench/report.py; **not fetched "
        "live** (this machine reaches no AWS page): check the AWS pricing pages before relying on them. Free tiers "
        "are left out.",
        "",
        "| item | dollars |",
        "|---|---:|",
        *(f"| {item} | {price:.10f}".rstrip("0") + " |" for item, price in PRICES.items()),
        "",
        f"## Default: HTTP API, arm64, {MEMORY_MB} MB — dollars per million events",
        "",
        "Each case from the requests it really sent (docs/performance.md §2: write units, item and index entry sizes, "
        "the published message, the S3 object) and its CPU time and log bytes per event over "
        f"{results['priced_repeats']} events of its kind (a quarter as many large bodies). Lambda duration: as in "
        "docs/performance.md §5, with these in-region waits assumed: "
        + ", ".join(f"{operation} {ms:g} ms" for operation, ms in ASSUMED_WAIT_MS.items())
        + f"; a cold start, assumed for {COLD_SHARE:.0%} of invocations, adds {TLS_SETUP_MS:g} ms of TLS per client. "
        f"Logs: the function's bytes per event plus ~{PLATFORM_LOG_BYTES} of Lambda's and the access log's.",
        "",
        "| line | " + " | ".join(rows) + " |",
        "|---|" + "---:|" * len(rows),
        *(f"| {line} | " + " | ".join(f"{row[line]:.2f}" for row in rows.values()) + " |" for line in new),
        "| **total** | " + " | ".join(f"**{sum(row.values()):.2f}**" for row in rows.values()) + " |",
        "",
        "## Why the defaults",
        "",
        f"- **{MEMORY_MB} MB**: from the memory table in [performance.md](performance.md#5-memory-size).",
        f"- **HTTP API, not REST API**: ${PRICES[REST_API] - PRICES[HTTP_API]:.2f} less per million requests; the "
        "hub needs none of what REST API adds (API keys, usage plans, request validation, caching).",
        "- **arm64, not x86**: the same GB-second is 20% cheaper, "
        f"${sum(x86.values()) - sum(new.values()):.2f} less per million text messages; the layer is built for arm64.",
        f"- **DynamoDB writes** are {new['DynamoDB writes'] / sum(new.values()):.0%} of a new text message.",
        "",
        "## Fixed monthly costs (not per event)",
        "",
        "- The token secret: $0.40 a month; its reads are cached five minutes per container (at most about 8,640 "
        "calls a month per warm container, $0.04).",
        "- The recovery sweep: 8,640 scheduled invocations a month and a query each; cents.",
        "- Alarms ($0.10 each a month) and the custom metrics the EMF documents create (about $0.30 per metric a "
        "month: `EventsByTopic` has one per topic and outcome actually seen).",
        "- Topics, the table and the bucket cost nothing while idle; point-in-time recovery is charged on the table's "
        "size (included per event above).",
        "",
    ]
    return "\n".join(lines) + "\n"
