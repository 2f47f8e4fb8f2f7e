"""``make bench``: every benchmark against its baseline, then docs/performance.md and docs/cost.md.

Run from the repository root with the dev virtualenv after ``sam build``: ``.venv/bin/python -m bench``.
``--rounds`` (cold starts per configuration, default 21) and ``--scale`` (warm iterations, default 1.0) bound
the run; ``--report-only`` re-renders the docs from bench/results/latest.json. Only 127.0.0.1 is contacted: moto
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
    runtime = smoke_artifact.pinned(smoke_artifact.DEV_REQUIREMENTS, "boto3")
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
    results["sizes"] = {
        "function": vars(artifact.size_of(smoke_artifact.FUNCTION_DIR)),
        "layer": vars(artifact.size_of(smoke_artifact.LAYER_DIR.parent)),
        "layer with bytecode": vars(artifact.size_of(artifacts["bytecode"].layer, with_bytecode=True)),
    }
    _quiet_emulator()
    server, moto_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(moto_url, STACK_NAME, tap=False)
        secret = json.dumps({"current": stack.token, "previous": ""})
        stub, stub_url = artifact.stub_endpoint(artifacts["bytecode"], secret, lifetime=1800)
        try:
            print(f"cold starts: {rounds} rounds of {len(cold.CONFIGURATIONS)} processes", file=sys.stderr)
            runs = cold.measure(
                artifacts, stack.environment, stack.token, moto_url=moto_url, stub_url=stub_url, rounds=rounds
            )
            results["cold"] = {"runs": runs.runs, "process_ms": runs.process_ms}
            moto_env = artifact.lambda_environment(moto_url, stack.environment)
            results["importtime"] = [
                vars(line) for line in cold.import_profile(artifacts["as-built"], moto_env, stack.token)
            ]
        finally:
            stub.terminate()
            stub.wait(timeout=10)
        print("AWS calls per event (moto)", file=sys.stderr)
        results["calls"] = calls.measure(artifacts["bytecode"], stack.environment, stack.token, moto_url, STACK_NAME)
        print("warm cost per event (stub AWS)", file=sys.stderr)
        results["warm"] = warm.measure(artifacts["bytecode"], stack.environment, stack.token, scale)
    finally:
        server.stop()
    results["machine"]["load_after"] = os.getloadavg()
    results["seconds"] = round(time.monotonic() - started)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21, help="cold starts per configuration (>= 20 for the docs)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the warm iteration counts")
    parser.add_argument("--report-only", action="store_true", help="re-render the docs from the last results")
    args = parser.parse_args(argv[1:])
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
