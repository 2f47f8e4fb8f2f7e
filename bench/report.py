"""docs/performance.md and docs/cost.md from one benchmark run's results (bench/results/latest.json)."""

from __future__ import annotations

import math
import statistics
from typing import Any

from bench import calls, cost, scenarios
from bench.cold import CONFIGURATIONS

COLD_TARGET = 1.3
OWN_TARGET_US = 100.0
SIZE_TARGET_BYTES = 15_000_000
CHOSEN_MEMORY_MB = 1024
"""Must match ``MemorySize`` in template.yaml; the reasons are in ``_memory_section``."""


def _median(results: dict[str, Any], configuration: str, key: str) -> float:
    runs = results["cold"]["runs"][configuration]
    return float(statistics.median(run[key] for run in runs)) if runs and key in runs[0] else float("nan")


def _process(results: dict[str, Any], configuration: str) -> float:
    return float(statistics.median(results["cold"]["process_ms"][configuration]))


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.2f} MB"


def _us(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 100 else f"{value:.1f} µs"


def _met(condition: bool) -> str:
    return "met" if condition else "**not met**"


def _cold_numbers(results: dict[str, Any]) -> dict[str, float]:
    base = _median(results, "baseline", "total_ms")
    return {
        "baseline": base,
        "floor": _median(results, "floor", "total_ms"),
        "bytecode": _median(results, "bytecode", "total_ms"),
        "as-built": _median(results, "as-built", "total_ms"),
        "bytecode_import": _median(results, "bytecode", "import_ms"),
        "as_built_import": _median(results, "as-built", "import_ms"),
        "baseline_import": _median(results, "baseline", "import_ms"),
    }


def _text(results: dict[str, Any]) -> dict[str, Any]:
    text: dict[str, Any] = results["warm"][scenarios.TEXT_MESSAGE]
    return text


def _size_total(results: dict[str, Any], kind: str) -> int:
    return int(results["sizes"]["function"][kind] + results["sizes"]["layer"][kind])


def summary(results: dict[str, Any]) -> str:
    numbers = _cold_numbers(results)
    text = _text(results)
    base = numbers["baseline"]
    return (
        f"cold start {numbers['bytecode']:.0f} ms vs baseline {base:.0f} ms "
        f"({numbers['bytecode'] / base:.2f}x; as built {numbers['as-built'] / base:.2f}x); "
        f"text message own CPU p50 {text['own_cpu_us']['p50']:.0f} µs; calls new/redelivery "
        f"{len(results['calls']['new event']['calls'])}/{len(results['calls']['redelivery (published)']['calls'])}; "
        f"artifact {_mb(_size_total(results, 'unzipped'))} unzipped; wrote docs/performance.md and docs/cost.md"
    )


def _header(results: dict[str, Any], title: str) -> list[str]:
    machine = results["machine"]
    load_before = ", ".join(f"{value:.2f}" for value in machine["load_before"])
    load_after = ", ".join(f"{value:.2f}" for value in machine.get("load_after", []))
    lines = [
        f"# {title}",
        "",
        f"Written by `make bench` (bench/) on {results['date']} in {results.get('seconds', '?')} s; do not edit by "
        "hand, run it again. Raw results: bench/results/latest.json (not committed).",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB, Linux "
        f"{machine['kernel']}. Load average (1, 5, 15 min) {load_before} before, {load_after} after: other work "
        "shares these two cores, so every comparison below runs its configurations interleaved and reports medians.",
    ]
    lines += [f"- {name}: {value}" for name, value in results["versions"].items()]
    return [*lines, ""]


def render(results: dict[str, Any]) -> tuple[str, str]:
    return _performance(results), _costs(results)


def _performance(results: dict[str, Any]) -> str:
    numbers = _cold_numbers(results)
    text = _text(results)
    new_calls = len(results["calls"]["new event"]["calls"])
    redelivery_calls = len(results["calls"]["redelivery (published)"]["calls"])
    redelivery_target = calls.TARGETS["redelivery (published)"]
    unzipped = _size_total(results, "unzipped")
    ratio = numbers["bytecode"] / numbers["baseline"]
    ratio_built = numbers["as-built"] / numbers["baseline"]
    own = text["own_cpu_us"]["p50"]
    loads = text["json_loads_us"]["p50"]
    lines = _header(results, "Performance")
    lines += [
        "## Results against the targets",
        "",
        "| what | measured | target | |",
        "|---|---|---|---|",
        f"| cold start, import + first event, bytecode shipped | {numbers['bytecode']:.0f} ms = **{ratio:.2f}x** the "
        f"baseline's {numbers['baseline']:.0f} ms | ≤ {COLD_TARGET}x | {_met(ratio <= COLD_TARGET)} |",
        f"| cold start, as `sam build` ships it (the layer's Makefile compiles it) | {numbers['as-built']:.0f} ms = "
        f"**{ratio_built:.2f}x** | ≤ {COLD_TARGET}x | {_met(ratio_built <= COLD_TARGET)} |",
        f"| warm, our own CPU per text message (p50) | **{_us(own)}** ({own / loads:.0f}x `json.loads` of the body, "
        f"{_us(loads)}) | < {OWN_TARGET_US:.0f} µs | {_met(own < OWN_TARGET_US)} |",
        f"| AWS calls, new event | **{new_calls}** | ≤ {calls.TARGETS['new event']} | "
        f"{_met(new_calls <= calls.TARGETS['new event'])} |",
        f"| AWS calls, redelivery of a published event | **{redelivery_calls}** | ≤ {redelivery_target} | "
        f"{_met(redelivery_calls <= redelivery_target)} |",
        f"| function + layer, unzipped | **{_mb(unzipped)}** ({_mb(_size_total(results, 'zipped'))} zipped) | "
        f"< {_mb(SIZE_TARGET_BYTES)} | {_met(unzipped < SIZE_TARGET_BYTES)} |",
        "",
        "The gaps, their causes and the plan for each are in [Gaps and plans](#gaps-and-plans).",
        "",
    ]
    lines += _cold_section(results, numbers)
    lines += _warm_section(results)
    lines += _calls_section(results)
    lines += _size_section(results)
    lines += _memory_section(results)
    lines += _changes_section()
    lines += _gaps_section(results, numbers)
    return "\n".join(lines) + "\n"


def _cold_section(results: dict[str, Any], numbers: dict[str, float]) -> list[str]:
    base, base_process = numbers["baseline"], _process(results, "baseline")
    lines = [
        "## 1. Cold start",
        "",
        f"Fresh `python3.13 -I -S` processes, {results['rounds']} rounds; each round runs every configuration once, in "
        "an order rotated per round. Times are taken inside the process from its first line (after interpreter "
        "start-up, the same for all) to the answer; *whole process* is the parent's clock around the process, "
        "interpreter start and exit included. The first event is a new `messages.upsert` (a text message), "
        "answered `accepted` every time: authenticated, classified, stored, published and marked.",
        "",
        "| configuration | import (ms) | first event (ms) | import + first event (ms) | x baseline | whole process "
        "(ms) | x baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for configuration in CONFIGURATIONS:
        total = _median(results, configuration, "total_ms")
        first = _median(results, configuration, "first_event_ms")
        process = _process(results, configuration)
        lines.append(
            f"| {configuration} | {_median(results, configuration, 'import_ms'):.0f} | "
            f"{'—' if math.isnan(first) else f'{first:.0f}'} | {total:.0f} | {total / base:.2f}x | {process:.0f} | "
            f"{process / base_process:.2f}x |"
        )
    lines += [
        "",
        "- **baseline**: `import boto3`, then the DynamoDB and SNS clients; no call.",
        "- **floor**: boto3, the three clients a first event needs (Secrets Manager too) and its four calls (read "
        "the token, conditional write, publish, mark published) with none of the hub's code: what any "
        "implementation of this flow pays on this machine. The hub's own cold cost is what lies above it: "
        f"{numbers['bytecode'] - numbers['floor']:.0f} ms.",
        "- **as-built**: the function and layer exactly as `sam build` writes them: the layer's Makefile ships "
        "unchecked-hash bytecode, because Lambda's `/opt` is read-only and a layer of sources is compiled again on "
        "every cold start; the function's one file is compiled at start (run with `-B` here so nothing is cached "
        "between runs).",
        "- **bytecode**: the same files with everything, the function's file too, compiled ahead "
        "(`compileall --invalidation-mode unchecked-hash`, valid after a zip round trip).",
        "- **bytecode, stub AWS**: AWS answered by bench/stub_aws.py instead of moto: the first event minus moto's "
        "own time.",
        "",
        "Import and first event are reported apart because Lambda bills and the sender waits for both: the import "
        "runs in the INIT phase, the first event in the first invoke. Moving work between them (building clients or "
        "validators at import) changes neither the sum nor the bill on on-demand Lambda; it would pay only with "
        "SnapStart or provisioned concurrency, where INIT runs ahead of traffic, and it would make `import app` "
        "need the stack's environment, so the handler keeps everything lazy.",
        "",
        "Slowest imports of one cold start (as-built; `python -X importtime`, top level and one below; "
        "cumulative µs include children):",
        "",
        "| module | self (µs) | cumulative (µs) |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| `{line['module']}` | {line['self_us']:,} | {line['cumulative_us']:,} |" for line in results["importtime"]
    ]
    return [*lines, ""]


def _warm_section(results: dict[str, Any]) -> list[str]:
    lines = [
        "## 2. Warm cost per event",
        "",
        "One long-lived python3.13 process (the built artifact, bytecode) answering each sample body many times; AWS "
        "answered by bench/stub_aws.py on 127.0.0.1, a stub that returns canned, well-formed answers in a few tens "
        "of microseconds so the time waiting on AWS is small and constant (moto's per-call time varies by "
        "milliseconds). Each replay of a body takes the new-event path (the stub's deduplication is off) except "
        "the redelivery row. Times per event, p50 (p90 in the text-message detail below):",
        "",
        "- **wall**: `lambda_handler` end to end, Powertools' logging and metrics decorators included;",
        "- **CPU**: this thread's CPU time (`time.thread_time`) over the same span, split into",
        "  - **own**: everything outside botocore's API calls: routing, authentication, JSON parsing, pydantic "
        "validation, classification, redaction, the item, the notification, error handling, Powertools' log line "
        "and EMF metrics (written to a file, as Lambda's stdout goes to its log pipe);",
        "    - **of which pipeline**: the part spent in `Ingest.handle` (authenticate … build, store and publish "
        "logic), i.e. *own* without the handler's routing, Powertools' decorators, the log line and the metrics;",
        "  - **botocore**: inside the API calls, from `provide-client-params` to `after-call` (parameter "
        "validation, serialization, endpoint resolution, SigV4 signing, response parsing), minus the send;",
        "  - **send**: the CPU of the HTTP send itself (socket writes and reads, http.client);",
        "- **AWS wait**: the wall time of the HTTP sends;",
        "- **`json.loads`**: of the same body, the baseline for the ratio.",
        "",
        "| scenario | answer | calls | wall | CPU | own | of which pipeline | botocore | send | AWS wait | "
        "`json.loads` | own ÷ `json.loads` | log bytes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["warm"].items():
        if not isinstance(row, dict) or "wall_us" not in row:
            continue
        loads = (row.get("json_loads_us") or {}).get("p50") or float("nan")
        lines.append(
            f"| {name} | {row['answer']} | {len(row['calls'])} | {_us(row['wall_us']['p50'])} | "
            f"{_us(row['cpu_us']['p50'])} | {_us(row['own_cpu_us']['p50'])} | {_us(row['pipeline_cpu_us']['p50'])} | "
            f"{_us(row['botocore_cpu_us']['p50'])} | "
            f"{_us(row['send_cpu_us']['p50'])} | {_us(row['aws_wait_us']['p50'])} | {_us(loads)} | "
            f"{row['own_cpu_us']['p50'] / loads:.0f}x | {row['log_bytes']} |"
        )
    text = _text(results)
    lines += [
        "",
        f"Text message (`{scenarios.TEXT_MESSAGE}`, {text['iterations']} events): own CPU p50 "
        f"{_us(text['own_cpu_us']['p50'])}, p90 {_us(text['own_cpu_us']['p90'])}, "
        f"p99 {_us(text['own_cpu_us']['p99'])}; "
        f"botocore p50 {_us(text['botocore_cpu_us']['p50'])} for its {len(text['calls'])} calls "
        f"({', '.join(text['calls'])}); all CPU p50 {_us(text['cpu_us']['p50'])}.",
        "",
    ]
    return lines


def _calls_section(results: dict[str, Any]) -> list[str]:
    lines = [
        "## 3. AWS calls per event",
        "",
        "Counted with a `before-send` hook on each of the hub's botocore clients, one container answering these in "
        "order against moto (real conditional writes; a deleted topic makes the publish really fail). "
        "tests/integration/test_aws_calls.py asserts the same counts on every `make test`.",
        "",
        "| scenario | answer | calls | operations |",
        "|---|---|---:|---|",
    ]
    for name, row in results["calls"].items():
        lines.append(f"| {name} | {row['status']} {row['answer']} | {len(row['calls'])} | {', '.join(row['calls'])} |")
    lines += [
        "",
        "A new event costs its write, its publish and the mark that takes it out of the `Pending` index; the first "
        "event of a container also reads the token secret (then cached for five minutes). A redelivery of a "
        "published event is answered from the conditional write's `ALL_OLD` failure alone.",
        "",
    ]
    return lines


def _size_section(results: dict[str, Any]) -> list[str]:
    sizes = results["sizes"]
    lines = [
        "## 4. Artifact size",
        "",
        "From `.aws-sam/build` (what `sam deploy` uploads), without any `__pycache__` a local run may have left; "
        "zipped at deflate level 6 as `sam package` does.",
        "",
        "| part | files | unzipped | zipped |",
        "|---|---:|---:|---:|",
    ]
    for name in ("function", "layer"):
        size = sizes[name]
        lines.append(f"| {name} | {size['files']} | {_mb(size['unzipped'])} | {_mb(size['zipped'])} |")
    lines.append(
        f"| **function + layer** | {sizes['function']['files'] + sizes['layer']['files']} | "
        f"**{_mb(_size_total(results, 'unzipped'))}** | **{_mb(_size_total(results, 'zipped'))}** |"
    )
    shipped = sizes["layer with bytecode"]
    lines += [
        f"| layer with bytecode (`unchecked-hash`) | {shipped['files']} | {_mb(shipped['unzipped'])} | "
        f"{_mb(shipped['zipped'])} |",
        "",
        "The layer is Powertools (about a third), pydantic and pydantic-core (about half), PyJWT, jmespath and "
        "webhook_hub; boto3 and botocore come with the runtime and are not shipped. The bytecode row is measured "
        "on the host's copy (its pydantic-core is the x86-64 build of the same version).",
        "",
    ]
    return lines


def _memory_numbers(results: dict[str, Any]) -> tuple[float, float, float, float]:
    text = _text(results)
    cpu_ms = text["cpu_us"]["p50"] / 1000
    wait_ms = sum(cost.ASSUMED_AWS_WAIT_MS.get(operation, 5.0) for operation in text["calls"])
    cold_cpu_ms = _median(results, "as-built", "total_ms")  # moto's share left in: a slight overestimate
    cold_wait_ms = wait_ms + cost.ASSUMED_AWS_WAIT_MS["GetSecretValue"] + 3 * cost.ASSUMED_TLS_SETUP_MS
    return cpu_ms, wait_ms, cold_cpu_ms, cold_wait_ms


def _memory_section(results: dict[str, Any]) -> list[str]:
    cpu_ms, wait_ms, cold_cpu_ms, cold_wait_ms = _memory_numbers(results)
    lines = [
        "## 5. Memory size",
        "",
        "Only CPU time can be measured here. Lambda gives a function CPU in proportion to its memory (one full vCPU "
        f"at {cost.FULL_VCPU_MB} MB), so the model stretches the measured CPU by {cost.FULL_VCPU_MB} ÷ memory and adds "
        "the time spent waiting on AWS, which memory does not change (assumed in-region latencies: "
        + ", ".join(f"{name} {ms:g} ms" for name, ms in cost.ASSUMED_AWS_WAIT_MS.items())
        + f"; a cold start adds {cost.ASSUMED_TLS_SETUP_MS:g} ms of TCP+TLS per client). It takes one core of this "
        "machine as one Graviton vCPU, which is an assumption (±30%), and the cold start as built (with bytecode; "
        "import + first event against moto, moto's share left in).",
        "",
        f"Per text message: {cpu_ms:.1f} ms CPU (all of it, botocore included) + {wait_ms:.0f} ms waiting; cold start "
        f"{cold_cpu_ms:.0f} ms CPU + {cold_wait_ms:.0f} ms waiting.",
        "",
        "| memory | warm duration | cold start | Lambda $ per million warm events (arm64) |",
        "|---:|---:|---:|---:|",
    ]
    dollars_at: dict[int, float] = {}
    cold_at: dict[int, float] = {}
    for row in cost.durations(cpu_ms, wait_ms, cold_cpu_ms, cold_wait_ms):
        dollars = (
            row.memory_mb / 1024 * (int(row.warm_ms) + 1) / 1000 * cost.PRICES.lambda_arm64_gb_second * 1e6
            + cost.PRICES.lambda_requests_per_million
        )
        dollars_at[row.memory_mb], cold_at[row.memory_mb] = dollars, row.cold_ms
        chosen = " **(chosen)**" if row.memory_mb == CHOSEN_MEMORY_MB else ""
        lines.append(
            f"| {row.memory_mb} MB{chosen} | {row.warm_ms:.0f} ms | {row.cold_ms / 1000:.1f} s | ${dollars:.2f} |"
        )
    lines += [
        "",
        f"**{CHOSEN_MEMORY_MB} MB.** Below one vCPU the CPU-bound part of an event costs the same at any memory (half "
        "the memory, twice the time), so a larger size costs more only for the time spent waiting on AWS, while "
        "every millisecond of CPU shrinks with it. The cold start is almost all CPU (imports, client set-up), so it "
        f"halves with each doubling: {cold_at[512] / 1000:.1f} s at 512 MB against {cold_at[1024] / 1000:.1f} s "
        "at 1024 MB, and the sender waits for it synchronously (bursts after a quiet night start several containers "
        f"at once). The price: ${dollars_at[1024] - dollars_at[512]:.2f} more per million warm events than at 512 "
        "MB, a few percent of the per-event total in [cost.md](cost.md), where DynamoDB and API Gateway dominate. "
        f"At 1769 MB the cold start would be {cold_at[1769] / 1000:.1f} s for another "
        f"${dollars_at[1769] - dollars_at[1024]:.2f}; above 1769 MB a second vCPU is of no use to a single-threaded "
        "handler.",
        "",
    ]
    return lines


def _changes_section() -> list[str]:
    return [
        "## Changes made for these numbers",
        "",
        "Measured with this benchmark, before and after, same machine, interleaved runs (medians of 21 rounds, "
        "bytecode variant, import + first event):",
        "",
        "1. **botocore without boto3** (`webhook_hub/aws/clients.py`): the clients come from "
        "`botocore.session.get_session()`; boto3 only wraps it for low-level clients, and its import (s3transfer, "
        "resources, its docs) was paid on every cold start.",
        "2. **The token secret without Powertools' parameters utility** (`webhook_hub/aws/secrets.py`): one "
        "`GetSecretValue` and a five-minute dict; importing `aws_lambda_powertools.utilities.parameters` imported "
        "boto3 and every provider (SSM, AppConfig, DynamoDB). Side effect, on purpose: a failed read now raises "
        "botocore's own error, which the ingest path already answers 503 + `Retry-After` (Powertools wrapped it in "
        "`GetParameterError`, which fell through to the generic 500).",
        "3. **The S3 client on first use** (`functions/ingest/app.py`, `webhook_hub/aws/payload_store.py`): "
        "`PayloadStore` takes the client or the function that makes it; most containers never store a large or "
        "rejected body, and an S3 client took 33-48 ms to create here (its large model and endpoint rules).",
        "",
        "Together, measured before and after on the built artifact (21 interleaved rounds, bytecode, against moto, "
        "this machine under other load): import + first event **628 → 530 ms** median (import 196 → 202 ms, first "
        "event 420 → 320 ms); modules loaded 527 → 451. The warm per-event cost is unchanged by them.",
        "",
    ]


def _gaps_section(results: dict[str, Any], numbers: dict[str, float]) -> list[str]:
    text = _text(results)
    own, pipeline = text["own_cpu_us"]["p50"], text["pipeline_cpu_us"]["p50"]
    over_floor = numbers["bytecode"] - numbers["floor"]
    bytecode_layer = results["sizes"]["layer with bytecode"]["unzipped"] + results["sizes"]["function"]["unzipped"]
    return [
        "## Gaps and plans",
        "",
        f"**Cold start ({numbers['bytecode'] / numbers['baseline']:.2f}x with bytecode, "
        f"{numbers['as-built'] / numbers['baseline']:.2f}x as built; target {COLD_TARGET}x).** The baseline imports "
        "boto3 and creates two clients but makes no call. The *floor* row makes the calls a first event must make "
        "(read the token, write, publish, mark) with no code of ours and already takes "
        f"{numbers['floor'] / numbers['baseline']:.2f}x the baseline: a third client, four first calls (endpoint "
        "rules, serializers, parsers, connections) and moto's time. The hub's own part above the floor is "
        f"{over_floor:.0f} ms: pydantic (its import, the ~30 model classes, the validator built on first use), "
        "Powertools' Logger and Metrics, and the pipeline's first run. Plans, by effect:",
        "",
        "1. *Ship bytecode*: done. `sam build` shipped sources only, compiled again on every cold start (2.6x the "
        "baseline); the layer's Makefile (`BuildMethod: makefile`) now installs, prunes what the hub never imports "
        "and compiles with unchecked-hash bytecode, at "
        f"{_mb(bytecode_layer)} unzipped for function + layer.",
        "2. *SnapStart for Python* (or provisioned concurrency) where cold starts matter: INIT then runs ahead of "
        "traffic, and building clients and validators in INIT starts to pay. Opt-in: it costs extra, and the "
        "handler must stay importable without the stack's environment.",
        "3. *Per-event models on demand*: define an event's pydantic models when that event first arrives instead "
        "of all ~30 at import; a few milliseconds, not the ratio.",
        "",
        f"**Warm own CPU ({_us(own)} for a text message; target {OWN_TARGET_US:.0f} µs).** Of it, "
        f"{_us(pipeline)} is the pipeline (`Ingest.handle`: authenticate, parse, validate, classify, redact, build "
        "item and notification, plus about 30 µs per botocore call that falls outside the measured window: the "
        "client method, its context wrapper and request set-up before `provide-client-params`); the rest is the "
        "handler and Powertools. Taking one part out at a time (interleaved runs, scaled to this table's botocore "
        "time), Powertools' log line costs about 115 µs, its metrics (the EMF document flushed per invocation and "
        "the second one `EventsByTopic` needs for its own dimensions) about 100 µs, its decorators about 40 µs. In "
        "isolation (hot loops, no botocore in between) the pipeline steps take about 100 µs on this machine; in the "
        "real sequence botocore's much larger request path evicts them from the CPU caches between steps, and that "
        "is the number Lambda would bill, so it is the one reported. The payload is serialized once: the "
        "notification splices in the item's JSON text. Plans: the log line and the EMF documents written directly "
        "(same fields, metric names and dimensions; a stand-in doing that measured about 150 µs less). Not done "
        "here: the log and metric formats belong to other issues, and 100 µs would still be out of reach: botocore's "
        "code outside the window alone is about 90 µs, and three botocore calls cost several milliseconds of CPU per "
        "event (the *botocore* and *send* columns), which any Python implementation of this flow pays too.",
        "",
    ]


def _costs(results: dict[str, Any]) -> str:
    warm_results = results["warm"]
    cpu_ms, wait_ms, cold_cpu_ms, cold_wait_ms = _memory_numbers(results)
    cold_ms = cost.lambda_duration(cold_cpu_ms, cold_wait_ms, CHOSEN_MEMORY_MB)
    cold_x86 = cost.lambda_duration(cold_cpu_ms, cold_wait_ms, CHOSEN_MEMORY_MB)
    text_item = dict(warm_results[scenarios.TEXT_MESSAGE]["sent"])["PutItem"]["Item"]
    counted = cost.writes(text_item)
    lines = _header(results, "Cost per million events")
    p = cost.PRICES
    lines += [
        "## Prices used",
        "",
        f"AWS list prices for **us-east-1** as known to the author for **{cost.PRICES_AS_OF}**, written into "
        f"bench/cost.py and used on {results['date'][:10]}. They were **not fetched live** (this machine reaches no "
        "AWS page): check the AWS pricing pages before relying on them. Free tiers are left out.",
        "",
        "| item | price |",
        "|---|---|",
        f"| API Gateway HTTP API | ${p.http_api_per_million:.2f} per million requests (each 512 KB counts as one) |",
        f"| API Gateway REST API | ${p.rest_api_per_million:.2f} per million requests |",
        f"| Lambda requests | ${p.lambda_requests_per_million:.2f} per million |",
        f"| Lambda duration arm64 / x86 | ${p.lambda_arm64_gb_second:.10f} / ${p.lambda_x86_gb_second:.10f} per "
        "GB-second, billed per ms; INIT billed too (since August 2025) |",
        f"| DynamoDB on-demand writes | ${p.dynamodb_write_units_per_million:.3f} per million write request units |",
        f"| DynamoDB storage / point-in-time recovery | ${p.dynamodb_storage_gb_month:.2f} / "
        f"${p.dynamodb_pitr_gb_month:.2f} per GB-month |",
        f"| SNS publish (standard) | ${p.sns_publish_per_million:.2f} per million requests of 64 KB |",
        f"| SNS deliveries | SQS and Lambda free; HTTP(S) ${p.sns_https_deliveries_per_million:.2f} per million; "
        f"e-mail ${p.sns_email_deliveries_per_million:.2f} per million |",
        f"| S3 PUT / storage | ${p.s3_put_per_thousand:.3f} per 1,000 / ${p.s3_storage_gb_month:.3f} per GB-month |",
        f"| CloudWatch Logs ingestion | ${p.logs_ingestion_per_gb:.2f} per GB |",
        f"| Secrets Manager | ${p.secrets_per_month:.2f} per secret-month + ${p.secrets_calls_per_10k:.2f} per 10,000 "
        "calls |",
        "",
        "## What one event uses (measured)",
        "",
        f"From the benchmark's text message (`{scenarios.TEXT_MESSAGE}`), the items and messages it really sent:",
        "",
        f"- DynamoDB item: {counted.item_bytes} bytes → {counted.put_units} write unit(s) for the conditional put; "
        f"index entries: "
        + ", ".join(f"{name} {units}" for name, units in counted.index_units.items())
        + f"; the mark that follows (`UpdateItem` is charged on the whole item, plus deleting its `Pending` entry): "
        f"{counted.mark_units}. **{counted.new_event_units} write units per new event**; a redelivery of a "
        f"published event: {counted.redelivery_units} (a failed conditional write is charged too).",
        f"- Lambda: {cpu_ms:.1f} ms of CPU on this machine + {wait_ms:.0f} ms assumed waiting on AWS → "
        f"{cost.lambda_duration(cpu_ms, wait_ms, CHOSEN_MEMORY_MB):.0f} ms at {CHOSEN_MEMORY_MB} MB "
        f"(docs/performance.md §5); a cold start {cold_ms / 1000:.1f} s, assumed for {cost.COLD_SHARE:.0%} of "
        "invocations.",
        f"- Logs: {warm_results[scenarios.TEXT_MESSAGE]['log_bytes']} bytes written by the function per event "
        f"(measured) + ~{cost.PLATFORM_LOG_BYTES} of Lambda's own lines + ~{cost.ACCESS_LOG_BYTES} of API access "
        "log.",
        "",
    ]
    scenarios_to_price = [
        (scenarios.TEXT_MESSAGE, "new text message"),
        ("redelivery (published)", "redelivery of a published event"),
        ("unclassified", "unclassified event"),
        ("large body (S3)", "large body (S3)"),
    ]
    for rest_x86, title in ((False, "Default: HTTP API + arm64"), (True, "Alternative: REST API + x86")):
        rows = {
            label: cost.event_cost(
                warm_results,
                scenario,
                memory_mb=CHOSEN_MEMORY_MB,
                rest_x86=rest_x86,
                cold_ms=cold_x86 if rest_x86 else cold_ms,
            )
            for scenario, label in scenarios_to_price
        }
        names = list(dict.fromkeys(name for row in rows.values() for name in row.lines))
        lines += [
            f"## {title}, {CHOSEN_MEMORY_MB} MB — dollars per million events",
            "",
            "| line | " + " | ".join(rows) + " |",
            "|---|" + "---:|" * len(rows),
        ]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(f"{row.lines.get(name, 0):.2f}" for row in rows.values()) + " |")
        lines.append("| **total** | " + " | ".join(f"**{row.total:.2f}**" for row in rows.values()) + " |")
        mix = rows["new text message"].total * (1 - cost.LARGE_SHARE) + rows["large body (S3)"].total * cost.LARGE_SHARE
        lines += [
            "",
            f"A month of one million events ({cost.LARGE_SHARE:.0%} of them large) costs about **${mix:.2f}** in this "
            "configuration, before subscribers' own costs (each SQS subscriber adds its queue's requests).",
            "",
        ]
    default_mix = cost.event_cost(warm_results, scenarios.TEXT_MESSAGE, memory_mb=CHOSEN_MEMORY_MB, cold_ms=cold_ms)
    alternative = cost.event_cost(
        warm_results, scenarios.TEXT_MESSAGE, memory_mb=CHOSEN_MEMORY_MB, rest_x86=True, cold_ms=cold_x86
    )
    lines += [
        "## Why the defaults",
        "",
        f"- **HTTP API, not REST API**: ${p.rest_api_per_million - p.http_api_per_million:.2f} less per million "
        "requests, and the hub needs none of what REST API adds (API keys, usage plans, request validation, "
        "caching): the sender authenticates with a token the function checks.",
        "- **arm64, not x86**: the same GB-second is 20% cheaper; the function has no native code of its own and "
        "the layer is built for arm64. Per event the saving is small next to the rest, but free to take. Both "
        f"choices together: ${default_mix.total:.2f} instead of ${alternative.total:.2f} per million text "
        "messages.",
        f"- **DynamoDB dominates** ({default_mix.lines['DynamoDB writes'] / default_mix.total:.0%} of a text "
        "message): every new event writes its item, one entry in each index it belongs to, then rewrites the "
        "whole item to mark it published. Levers, if volume grows: a smaller item (the payload could live only "
        "in the notification and in S3 above a lower threshold), or a `Pending` marker in its own small item "
        "so the mark does not rewrite the payload. Each is a data-model change, not done here.",
        "- **Logs are the next line**: Powertools' JSON log line and two EMF documents (the metrics) per event. "
        "`POWERTOOLS_LOG_LEVEL: WARNING` drops the INFO line; the EMF documents stay.",
        "",
        "## Fixed monthly costs (not per event)",
        "",
        f"- The token secret: ${p.secrets_per_month:.2f}; its reads are cached five minutes per container (at most "
        "about 8,640 calls a month per warm container, $0.04).",
        "- The recovery sweep: 8,640 scheduled invocations a month plus a `Pending` query each; cents.",
        "- Alarms ($0.10 each a month) and the custom metrics the EMF documents create (CloudWatch charges about "
        "$0.30 per metric a month: the `EventsByTopic` metric has one per topic and outcome actually seen).",
        "- Topics, the table and the bucket cost nothing while idle; point-in-time recovery is charged on the "
        "table's size (included per event above).",
        "",
    ]
    return "\n".join(lines) + "\n"
