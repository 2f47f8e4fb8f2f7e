"""docs/performance.md and docs/cost.md from one benchmark run's results (bench/results/latest.json).

Prices are constants with the date they are known for, not fetched; every per-event quantity comes from the run:
the requests really sent and the items they wrote, the CPU and log bytes per event, the cold start.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench import cases

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
"""In-region latencies assumed for the real services (not measurable here); other calls 5 ms."""
TLS_SETUP_MS = 15.0
"""Per client on a cold start: TCP and TLS handshakes to each regional endpoint."""
PLATFORM_LOG_BYTES = 330 + 260
"""Lambda's START, END and REPORT lines, and one line of the HTTP API's access log, per request (roughly)."""
COLD_SHARE = 0.01
"""Share of invocations that start a container (steady traffic: well under 1%)."""
FULL_VCPU_MB = 1769
"""Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB."""
MEMORY_MB = 1024
"""Must match ``MemorySize`` in template.yaml: chosen from the memory table in docs/cost.md."""
TARGETS = {"cold": 1.3, "units new": 5, "units redelivery": 1, "dollars": 7.50, "calls new": 3, "calls again": 1}
SIZE_TARGET_BYTES = 15_000_000


def _duration_ms(cpu_ms: float, wait_ms: float, memory_mb: int = MEMORY_MB) -> float:
    """CPU stretched by the share of a vCPU this memory gets, plus the time waiting on AWS."""
    return cpu_ms * max(1.0, FULL_VCPU_MB / memory_mb) + wait_ms


def _lambda_dollars(duration_ms: float, memory_mb: int = MEMORY_MB, arch: str = "arm64") -> float:
    return math.ceil(duration_ms) / 1000 * memory_mb / 1024 * PRICES[ARM64 if arch == "arm64" else X86] * 1e6


def _wait_ms(calls: list[str]) -> float:
    return sum(ASSUMED_WAIT_MS.get(call.split(".", 1)[1], 5.0) for call in calls)


def _cold_ms(results: dict[str, Any], memory_mb: int = MEMORY_MB) -> float:
    hub = results["cold"]["hub"]["total_ms"]  # moto's share of the first event left in: a slight overestimate
    first = results["cases"]["first event of a container"]["calls"]
    return _duration_ms(hub, _wait_ms(first) + 3 * TLS_SETUP_MS, memory_mb)


def _sent(case: dict[str, Any], operation: str) -> dict[str, Any] | None:
    return next((request for request in case["sent"] if request["operation"] == operation), None)


def event_cost(results: dict[str, Any], name: str, memory_mb: int = MEMORY_MB, arch: str = "arm64") -> dict[str, float]:
    """Dollars per million events of one priced case, by line."""
    case, priced = results["cases"][name], results["priced"][name]
    duration = _duration_ms(priced["cpu_ms"], _wait_ms(case["calls"]), memory_mb)
    units = sum(cases.case_units(case, results["tables"]).values())
    stored_gb_month = cases.stored_bytes(case, results["tables"]) * 1e6 / 1e9  # a million events, kept 30 days
    lines = {
        "API Gateway": PRICES[HTTP_API],
        "Lambda requests": PRICES[LAMBDA_REQUESTS],
        "Lambda duration": _lambda_dollars(duration, memory_mb, arch),
        "Lambda cold starts": COLD_SHARE * _lambda_dollars(_cold_ms(results, memory_mb), memory_mb, arch),
        "DynamoDB writes": units * PRICES[WRITE_UNITS],
        "DynamoDB storage (30 days) + PITR": stored_gb_month * PRICES[TABLE_STORAGE],
        "SNS publish": 0.0,
        "S3 PUT + storage (30 days)": 0.0,
        "CloudWatch Logs": (priced["log_bytes"] + PLATFORM_LOG_BYTES) * 1e6 / 1e9 * PRICES[LOGS],
    }
    if publish := _sent(case, "Publish"):
        lines["SNS publish"] = math.ceil(publish["bytes"] / 65_536) * PRICES[PUBLISHES]
    if put := _sent(case, "PutObject"):
        lines["S3 PUT + storage (30 days)"] = PRICES[S3_PUTS] * 1000 + put["bytes"] * 1e6 / 1e9 * PRICES[S3_STORAGE]
    return lines


def _numbers(results: dict[str, Any]) -> dict[str, Any]:
    cold, calls = results["cold"], results["cases"]
    new = cases.case_units(calls["new event"], results["tables"])
    sizes = results["sizes"]
    throughput = results["throughput"]["rates"]
    return {
        "cold ratio": cold["hub"]["total_ms"] / cold["baseline"]["total_ms"],
        "units new": sum(new.values()),
        "units breakdown": new,
        "units redelivery": sum(cases.case_units(calls["redelivery (published)"], results["tables"]).values()),
        "dollars": sum(event_cost(results, "new event").values()),
        "calls new": len(calls["new event"]["calls"]),
        "calls again": len(calls["redelivery (published)"]["calls"]),
        "unzipped": sizes["function"]["unzipped"] + sizes["layer"]["unzipped"],
        "zipped": sizes["function"]["zipped"] + sizes["layer"]["zipped"],
        "hub rate": statistics.median(throughput["hub"]),
        "baseline rate": statistics.median(throughput["baseline"]),
    }


def summary(results: dict[str, Any]) -> str:
    n = _numbers(results)
    return (
        f"cold start {n['cold ratio']:.2f}x baseline; new text event {n['units new']} write units, "
        f"${n['dollars']:.2f} per million; calls new/redelivery {n['calls new']}/{n['calls again']}; "
        f"artifact {n['unzipped'] / 1e6:.2f} MB; local hub {n['hub rate']:.1f} events/s "
        f"(emulator alone {n['baseline rate']:.1f}); wrote docs/performance.md and docs/cost.md"
    )


def _parts(units: dict[str, int]) -> str:
    return ", ".join(f"{part} {count}" for part, count in units.items())


def _met(condition: bool) -> str:
    return "met" if condition else "**not met**"


def _header(results: dict[str, Any], title: str) -> list[str]:
    lines = [
        f"# {title}",
        "",
        f"Written by `make bench` (bench/) on {results['date']} in {results['seconds']} s; do not edit by hand, run "
        "it again. Raw results: bench/results/latest.json (not committed). Every measurement runs beside its "
        "baseline in the same run, interleaved, and reports medians: other work shares this machine.",
        "",
        f"- Machine: {results['machine']}; load average {results['load_before']:.2f} before, "
        f"{results['load_after']:.2f} after",
    ]
    lines += [f"- {key}: {results[key]}" for key in ("python", "layer", "boto3 (runtime stand-in)", "commit")]
    return [*lines, ""]


def render(results: dict[str, Any]) -> tuple[str, str]:
    return _performance(results), _costs(results)


def _performance(results: dict[str, Any]) -> str:
    n = _numbers(results)
    cold = results["cold"]
    breakdown = _parts(n["units breakdown"])
    lines = _header(results, "Performance")
    lines += [
        "## Results against the targets",
        "",
        "| what | measured | target | |",
        "|---|---|---|---|",
        f"| cold start (import + first event) | {cold['hub']['total_ms']:.0f} ms = **{n['cold ratio']:.2f}x** the "
        f"baseline's {cold['baseline']['total_ms']:.0f} ms | ≤ {TARGETS['cold']}x | "
        f"{_met(n['cold ratio'] <= TARGETS['cold'])} |",
        f"| DynamoDB write units, new text event | **{n['units new']}** ({breakdown}) | ≤ {TARGETS['units new']} | "
        f"{_met(n['units new'] <= TARGETS['units new'])} |",
        f"| DynamoDB write units, redelivery of a published event | **{n['units redelivery']}** | "
        f"≤ {TARGETS['units redelivery']} | {_met(n['units redelivery'] <= TARGETS['units redelivery'])} |",
        f"| dollars per million new text events ([cost.md](cost.md)) | **${n['dollars']:.2f}** | "
        f"≤ ${TARGETS['dollars']:.2f} | {_met(n['dollars'] <= TARGETS['dollars'])} |",
        f"| AWS calls, new event | **{n['calls new']}** | ≤ {TARGETS['calls new']} | "
        f"{_met(n['calls new'] <= TARGETS['calls new'])} |",
        f"| AWS calls, redelivery of a published event | **{n['calls again']}** | ≤ {TARGETS['calls again']} | "
        f"{_met(n['calls again'] <= TARGETS['calls again'])} |",
        f"| function + layer, unzipped | **{n['unzipped'] / 1e6:.2f} MB** ({n['zipped'] / 1e6:.2f} MB zipped) | "
        f"< {SIZE_TARGET_BYTES / 1e6:.0f} MB | {_met(n['unzipped'] < SIZE_TARGET_BYTES)} |",
        f"| local hub, sustained | **{n['hub rate']:.1f} events/s** = {n['hub rate'] / n['baseline rate']:.0%} of "
        f"its emulator alone ({n['baseline rate']:.1f}) | — | |",
        "",
        "## 1. Cold start",
        "",
        f"Fresh `python3.13 -I -S -B` processes, {results['rounds']} rounds, each running every configuration once "
        "in an order rotated per round; medians. Times run from the process's first line (interpreter start-up is "
        "the same for all) to the answer. The hub's first event is a new `messages.upsert` against moto, answered "
        "`accepted` every time: authenticated, classified, stored, published and marked.",
        "",
        "| configuration | import (ms) | first event (ms) | import + first event (ms) | x baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in cold.items():
        first = f"{row['first_event_ms']:.0f}" if "first_event_ms" in row else "—"
        ratio = row["total_ms"] / cold["baseline"]["total_ms"]
        lines.append(f"| {name} | {row['import_ms']:.0f} | {first} | {row['total_ms']:.0f} | {ratio:.2f}x |")
    lines += [
        "",
        "- **baseline**: `import boto3` and the DynamoDB and SNS clients, no call: the least a Python function that "
        "stores and publishes does.",
        "- **floor**: boto3, the three clients a first event needs and its four calls (read the token, conditional "
        "write, publish, mark) with none of the hub's code: what any implementation of this flow pays here.",
        "- **hub**: the function and layer as `sam build` wrote them (the layer ships unchecked-hash bytecode, "
        "Lambda's `/opt` being read-only; the function's one file is compiled at start), `import app`, then the "
        f"first event. Its own part above the floor: {cold['hub']['total_ms'] - cold['floor']['total_ms']:.0f} ms.",
        "",
        "Lambda bills the import (INIT) and the first event alike and the sender waits for both, so the sum is what "
        "counts; moving work between them pays only with SnapStart or provisioned concurrency.",
        "",
        "## 2. AWS calls and DynamoDB write units per case",
        "",
        "One container (one process) answering these in order against moto, as a real one would: the first event "
        "also reads the token secret, a redelivery really finds its item, a deleted topic makes the publish really "
        "fail. Calls are counted with a `before-send` hook on the hub's botocore clients "
        "(tests/integration/test_aws_calls.py asserts them on every `make test`). Write units are computed from the "
        "writes really sent and the items before and after each, read back from moto (which reports a constant as "
        "consumed capacity), by DynamoDB's documented rules (bench/cases.py).",
        "",
        "| case | answer | calls | operations | write units |",
        "|---|---|---:|---|---|",
    ]
    for name, case in results["cases"].items():
        units = cases.case_units(case, results["tables"])
        total = f"**{sum(units.values())}** ({_parts(units)})" if units else "0"
        lines.append(f"| {name} | {case['answer']} | {len(case['calls'])} | {', '.join(case['calls'])} | {total} |")
    sizes = results["sizes"]
    lines += [
        "",
        "## 3. Artifact size",
        "",
        "What `sam build` wrote to `.aws-sam/build` (what `sam deploy` uploads), zipped at deflate level 6 as "
        "`sam package` does. boto3 and botocore come with the runtime and are not shipped.",
        "",
        "| part | files | unzipped | zipped |",
        "|---|---:|---:|---:|",
        *(
            f"| {part} | {size['files']} | {size['unzipped'] / 1e6:.2f} MB | {size['zipped'] / 1e6:.2f} MB |"
            for part, size in sizes.items()
        ),
        f"| **function + layer** | {sizes['function']['files'] + sizes['layer']['files']} | "
        f"**{n['unzipped'] / 1e6:.2f} MB** | **{n['zipped'] / 1e6:.2f} MB** |",
        "",
    ]
    lines += _throughput_section(results, n) + _memory_section(results)
    return "\n".join(lines) + "\n"


def _throughput_section(results: dict[str, Any], n: dict[str, Any]) -> list[str]:
    run = results["throughput"]
    windows = " / ".join(
        f"{hub:.1f} vs {base:.1f}" for hub, base in zip(run["rates"]["hub"], run["rates"]["baseline"], strict=True)
    )
    return [
        "## 4. Local hub, sustained events/s",
        "",
        f"`webhook-hub run` (its gateway, four container processes, moto and the tap that reads every notification "
        f"back) against a second moto alone, provisioned the same way, taking the three calls of a new event (a "
        f"1.4 KB conditional put, a 2 KB publish, the update) from the same {run['senders']} senders with none of the "
        f"hub's code: the ceiling the emulator sets. Alternating windows of {run['seconds']:.0f} s; each event is a "
        f"new text message answered `accepted`. Windows, hub vs baseline (events/s): {windows}.",
        "",
        f"**{n['hub rate']:.1f} events/s**, {n['hub rate'] / n['baseline rate']:.0%} of the emulator alone "
        f"({n['baseline rate']:.1f}). The local hub is for trying the hub and for the tests, not for load: on AWS "
        "each container has its own CPU and DynamoDB and SNS are not one Python process.",
        "",
    ]


def _x86_extra(results: dict[str, Any]) -> float:
    arm64, x86 = event_cost(results, "new event"), event_cost(results, "new event", arch="x86")
    return sum(x86[line] - arm64[line] for line in ("Lambda duration", "Lambda cold starts"))


def _memory_section(results: dict[str, Any]) -> list[str]:
    case, priced = results["cases"]["new event"], results["priced"]["new event"]
    lines = [
        "## 5. Memory size",
        "",
        "Only CPU time is measured here; Lambda gives CPU in proportion to memory, so the model of "
        "[cost.md](cost.md) stretches it and adds the assumed waits on AWS. Below one vCPU the CPU-bound part costs "
        "the same at any memory (half the memory, twice the time), so more memory costs only the time spent waiting "
        "on AWS, while the cold start, almost all CPU, shrinks with it, and the sender waits for it synchronously.",
        "",
        "| memory | new text message | cold start | Lambda $ per million (duration + cold starts) |",
        "|---:|---:|---:|---:|",
    ]
    for memory in (256, 512, 1024, 1769):
        warm = _duration_ms(priced["cpu_ms"], _wait_ms(case["calls"]), memory)
        cold = _cold_ms(results, memory)
        dollars = _lambda_dollars(warm, memory) + COLD_SHARE * _lambda_dollars(cold, memory)
        chosen = " **(chosen)**" if memory == MEMORY_MB else ""
        lines.append(f"| {memory} MB{chosen} | {warm:.0f} ms | {cold / 1000:.2f} s | ${dollars:.2f} |")
    return [*lines, ""]


def _costs(results: dict[str, Any]) -> str:
    n = _numbers(results)
    rows = {label: event_cost(results, name) for name, label in cases.PRICED.items()}
    new = rows["new text message"]
    lines = _header(results, "Cost per million events")
    lines += [
        "## Prices used",
        "",
        f"AWS list prices for **us-east-1** as known to the author for **{PRICES_AS_OF}**, written into "
        "bench/report.py; **not fetched live** (this machine reaches no AWS page): check the AWS pricing pages before "
        "relying on them. Free tiers are left out.",
        "",
        "| item | dollars |",
        "|---|---:|",
        *(f"| {item} | {price:.10f}".rstrip("0") + " |" for item, price in PRICES.items()),
        "",
        "## Default: HTTP API, arm64, 1024 MB — dollars per million events",
        "",
        "Per case, from the requests it really sent in docs/performance.md §2 (write units, item and index entry "
        "sizes, the published message, the S3 object) and its CPU time and log bytes per event measured over "
        f"{results['priced_repeats']} events of its kind (a quarter as many large bodies). Lambda duration: CPU "
        f"stretched by {FULL_VCPU_MB} ÷ memory (one core here taken as one Graviton vCPU, ±30%) plus the assumed "
        "in-region waits ("
        + ", ".join(f"{operation} {ms:g} ms" for operation, ms in ASSUMED_WAIT_MS.items())
        + f"); a cold start, assumed for {COLD_SHARE:.0%} of invocations, adds {TLS_SETUP_MS:g} ms of TLS per client. "
        f"Logs: the function's bytes per event plus ~{PLATFORM_LOG_BYTES} of Lambda's and the access log's.",
        "",
        "| line | " + " | ".join(rows) + " |",
        "|---|" + "---:|" * len(rows),
        *(f"| {line} | " + " | ".join(f"{row[line]:.2f}" for row in rows.values()) + " |" for line in new),
        "| **total** | " + " | ".join(f"**{sum(row.values()):.2f}**" for row in rows.values()) + " |",
        "",
        f"DynamoDB writes are {new['DynamoDB writes'] / sum(new.values()):.0%} of a new text message: "
        f"{n['units new']} write units ({_parts(n['units breakdown'])}).",
        "",
        "## Why the defaults",
        "",
        f"- **{MEMORY_MB} MB**: from the memory table in [performance.md](performance.md#5-memory-size).",
        f"- **HTTP API, not REST API**: ${PRICES[REST_API] - PRICES[HTTP_API]:.2f} less per million requests; the "
        "hub needs none of what REST API adds (API keys, usage plans, request validation, caching).",
        f"- **arm64, not x86**: the same GB-second is 20% cheaper, ${_x86_extra(results):.2f} less per million text "
        "messages; "
        "the layer is built for arm64 and the function has no native code of its own.",
        "",
        "## Fixed monthly costs (not per event)",
        "",
        "- The token secret: $0.40 a month; its reads are cached five minutes per container (at most about 8,640 "
        "calls a month per warm container, $0.04).",
        "- The recovery sweep: 8,640 scheduled invocations a month and a query each; cents.",
        "- Alarms ($0.10 each a month) and the custom metrics the EMF documents create (about $0.30 per metric a "
        "month: `EventsByTopic` has one per topic and outcome actually seen).",
        "- Topics, the table and the bucket cost nothing while idle; point-in-time recovery is charged on the "
        "table's size (included per event above).",
        "",
    ]
    return "\n".join(lines) + "\n"
