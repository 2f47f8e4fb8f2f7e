"""``make bench``: every benchmark against its baseline, then docs/performance.md and docs/cost.md.

Run from the repository root with the dev virtualenv after ``sam build``: ``.venv/bin/python -m bench``.
``--rounds`` (cold starts per configuration, default 21) and ``--scale`` (warm iterations, default 1.0) bound
the run; ``--report-only`` re-renders the docs from bench/results/latest.json. ``--warm-only`` runs only the warm
benchmark on the hub's code as it is in ``--source`` (default: this checkout) over the built layer's dependencies,
for ``--scenario`` names (default: all), prints its numbers and leaves the docs and latest.json alone. ``--cold-only``
runs only the cold starts (``--rounds`` of them) and the artifact's size, likewise. Only 127.0.0.1 is contacted: moto
and bench/stub_aws.py, both started and stopped here.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import artifact, calls, cold, report, warm
from bench.artifact import RESULTS, ROOT
from tools import smoke_artifact
from webhook_hub_cli import local_aws

STACK_NAME = "bench"


def _quiet_emulator() -> None:
    """Moto's server writes headers and body separately with Nagle's algorithm on: every answer would wait for the
    client's delayed ACK (~40 ms on loopback), which is no property of AWS. Turned off, as AWS's own servers do."""
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.disable_nagle_algorithm = True


def _machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory_kb = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
    }


def _versions(python: str) -> dict[str, str]:
    layer_packages = sorted(
        path.name.removesuffix(".dist-info") for path in smoke_artifact.LAYER_DIR.glob("*.dist-info")
    )
    runtime = smoke_artifact.pinned(smoke_artifact.BOTO3_REQUIREMENTS, "boto3")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "layers", "functions"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "python": artifact.python_version(python),
        "layer": ", ".join(layer_packages),
        "boto3 (runtime stand-in)": runtime,
        "commit": commit + (" + uncommitted changes to layers/ or functions/" if dirty else ""),
    }


def run(rounds: int, scale: float) -> dict[str, Any]:
    started = time.monotonic()
    artifacts = artifact.prepare()
    python = artifacts["bytecode"].python
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "versions": _versions(python),
        "rounds": rounds,
        "scale": scale,
    }
    results["sizes"] = _sizes(artifacts)
    _quiet_emulator()
    server, moto_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(moto_url, STACK_NAME, tap=False)
        runs = _cold_runs(artifacts, stack, moto_url, rounds)
        results["cold"] = {"runs": runs.runs, "process_ms": runs.process_ms}
        moto_env = artifact.lambda_environment(moto_url, stack.environment)
        results["importtime"] = [
            vars(line) for line in cold.import_profile(artifacts["as-built"], moto_env, stack.token)
        ]
        print("AWS calls per event (moto)", file=sys.stderr)
        results["calls"] = calls.measure(artifacts["bytecode"], stack.environment, stack.token, moto_url, STACK_NAME)
        print("warm cost per event (stub AWS)", file=sys.stderr)
        results["warm"] = warm.measure(artifacts["bytecode"], stack.environment, stack.token, scale)
    finally:
        server.stop()
    results["machine"]["load_after"] = os.getloadavg()
    results["seconds"] = round(time.monotonic() - started)
    return results


def _cold_runs(
    artifacts: dict[str, artifact.Artifact], stack: local_aws.LocalStack, moto_url: str, rounds: int
) -> cold.ColdRuns:
    """Every cold-start configuration, against moto and against the AWS stub (started and stopped here)."""
    secret = json.dumps({"current": stack.token, "previous": ""})
    stub, stub_url = artifact.stub_endpoint(artifacts["bytecode"], secret, lifetime=1800)
    try:
        print(f"cold starts: {rounds} rounds of {len(cold.CONFIGURATIONS)} processes", file=sys.stderr)
        return cold.measure(
            artifacts, stack.environment, stack.token, moto_url=moto_url, stub_url=stub_url, rounds=rounds
        )
    finally:
        stub.terminate()
        stub.wait(timeout=10)


def _sizes(artifacts: dict[str, artifact.Artifact]) -> dict[str, dict[str, int]]:
    return {
        "function": vars(artifact.size_of(smoke_artifact.FUNCTION_DIR)),
        "layer": vars(artifact.size_of(smoke_artifact.LAYER_DIR.parent, with_bytecode=True)),  # layers/hub/Makefile
        "layer with bytecode": vars(artifact.size_of(artifacts["bytecode"].layer, with_bytecode=True)),
    }


def cold_only(rounds: int) -> dict[str, Any]:
    """The cold starts and the artifact's size alone; its own scratch copy, so it can run beside ``make bench``."""
    artifacts = artifact.prepare(scratch=artifact.SCRATCH.with_name("bench-cold"))
    results: dict[str, Any] = {"rounds": rounds, "sizes": _sizes(artifacts), "load_before": os.getloadavg()}
    _quiet_emulator()
    server, moto_url = local_aws.start_emulator()
    try:
        runs = _cold_runs(artifacts, local_aws.provision(moto_url, STACK_NAME, tap=False), moto_url, rounds)
    finally:
        server.stop()
    results["cold"] = {"runs": runs.runs, "process_ms": runs.process_ms}
    results["load_after"] = os.getloadavg()
    return results


def _cold_lines(results: dict[str, Any]) -> list[str]:
    runs = cold.ColdRuns(results["cold"]["runs"], results["cold"]["process_ms"])
    base, base_process = runs.median("baseline", "total_ms"), runs.process_median("baseline")
    lines = [f"{results['rounds']} rounds; load {results['load_before'][0]:.2f} -> {results['load_after'][0]:.2f}"]
    for name in cold.CONFIGURATIONS:
        first = f", first event {runs.median(name, 'first_event_ms'):.0f} ms" if name != "baseline" else ""
        total = runs.median(name, "total_ms")
        lines.append(
            f"{name}: import {runs.median(name, 'import_ms'):.0f} ms{first}, import + first event {total:.0f} ms = "
            f"{total / base:.2f}x baseline; whole process {runs.process_median(name):.0f} ms = "
            f"{runs.process_median(name) / base_process:.2f}x"
        )
    sizes = results["sizes"]
    unzipped = sizes["function"]["unzipped"] + sizes["layer"]["unzipped"]
    zipped = sizes["function"]["zipped"] + sizes["layer"]["zipped"]
    files = sizes["function"]["files"] + sizes["layer"]["files"]
    lines.append(
        f"function + layer as built: {files} files, {unzipped / 1e6:.2f} MB unzipped, {zipped / 1e6:.2f} MB zipped"
    )
    return lines


def warm_only(source: Path, scale: float, only: frozenset[str]) -> dict[str, Any]:
    """The warm benchmark alone, on ``source``'s function and layer code; its own scratch copy, so it can run
    beside a full ``make bench``."""
    built = artifact.prepare(("bytecode",), scratch=artifact.SCRATCH.with_name("bench-warm"), source=source)
    _quiet_emulator()
    server, moto_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(moto_url, STACK_NAME, tap=False)
    finally:
        server.stop()  # only the stack's names are needed: the stub answers every call
    load_before = os.getloadavg()
    results = warm.measure(built["bytecode"], stack.environment, stack.token, scale, only)
    return {"source": str(source), "load_before": load_before, "load_after": os.getloadavg(), "warm": results}


def _warm_lines(results: dict[str, Any]) -> list[str]:
    lines = [f"source {results['source']}; load {results['load_before'][0]:.2f} -> {results['load_after'][0]:.2f}"]
    for name, row in results["warm"].items():
        if not isinstance(row, dict):
            continue  # the child's stdout size
        own, pipeline, cpu, botocore = (
            row[key] for key in ("own_cpu_us", "pipeline_cpu_us", "cpu_us", "botocore_cpu_us")
        )
        lines.append(
            f"{name}: {row['answer']}; own p50 {own['p50']:.0f} µs (p90 {own['p90']:.0f}), pipeline p50 "
            f"{pipeline['p50']:.0f} µs, botocore p50 {botocore['p50']:.0f} µs, CPU p50 {cpu['p50']:.0f} µs, "
            f"log {row['log_bytes']} bytes"
        )
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21, help="cold starts per configuration (>= 20 for the docs)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the warm iteration counts")
    parser.add_argument("--report-only", action="store_true", help="re-render the docs from the last results")
    parser.add_argument("--warm-only", action="store_true", help="only the warm benchmark; docs left alone")
    parser.add_argument("--source", type=Path, default=ROOT, help="with --warm-only: the checkout whose code runs")
    parser.add_argument("--scenario", action="append", default=[], help="with --warm-only: this scenario only")
    parser.add_argument("--cold-only", action="store_true", help="only cold starts and sizes; docs left alone")
    args = parser.parse_args(argv[1:])
    if args.cold_only:
        cold_results = cold_only(args.rounds)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "cold-only.json").write_text(json.dumps(cold_results, indent=1), encoding="utf-8")
        print("\n".join(_cold_lines(cold_results)), file=sys.stderr)
        return 0
    if args.warm_only:
        warm_results = warm_only(args.source.resolve(), args.scale, frozenset(args.scenario))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "warm-only.json").write_text(json.dumps(warm_results, indent=1), encoding="utf-8")
        print("\n".join(_warm_lines(warm_results)), file=sys.stderr)
        return 0
    latest = RESULTS / "latest.json"
    if args.report_only:
        results = json.loads(latest.read_text(encoding="utf-8"))
    else:
        results = run(args.rounds, args.scale)
        RESULTS.mkdir(parents=True, exist_ok=True)
        latest.write_text(json.dumps(results, indent=1), encoding="utf-8")
    performance, costs = report.render(results)
    Path(ROOT / "docs" / "performance.md").write_text(performance, encoding="utf-8")
    Path(ROOT / "docs" / "cost.md").write_text(costs, encoding="utf-8")
    print(report.summary(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
