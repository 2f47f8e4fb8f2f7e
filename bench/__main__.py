"""``make bench``: each measurement beside its baseline, in one run; writes docs/performance.md and docs/cost.md.

Run from the repository root with the dev virtualenv after ``sam build``: ``.venv/bin/python -m bench``.
``--rounds`` (cold starts per configuration, default 21) and ``--seconds`` (each local-hub window, default 15)
bound the run; ``--report-only`` re-renders the docs from bench/results/latest.json. Only 127.0.0.1 is contacted:
the emulators and the local hub, started and stopped here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench import artifact, cases, report, throughput
from bench.artifact import RESULTS, ROOT
from tools import smoke_artifact
from webhook_hub_cli import local_aws

STACK_NAME = "bench"
COLD = ("baseline", "floor", "hub")
PRICED_REPEATS = 60


def _quiet_emulator() -> None:
    """Moto's server writes headers and body separately with Nagle's algorithm on: every answer would wait for the
    client's delayed ACK (~40 ms on loopback), which is no property of AWS. Turned off, as AWS's own servers do."""
    from werkzeug.serving import WSGIRequestHandler

    WSGIRequestHandler.disable_nagle_algorithm = True


def _about(built: artifact.Artifact) -> dict[str, Any]:
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "unknown")
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "layers", "functions"], capture_output=True, text=True, check=False
    )
    python = subprocess.run([built.python, "-VV"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "load_before": os.getloadavg()[0],
        "python": python,
        "layer": ", ".join(sorted(path.name[:-10] for path in smoke_artifact.LAYER_DIR.glob("*.dist-info"))),
        "boto3 (runtime stand-in)": smoke_artifact.pinned(smoke_artifact.DEV_REQUIREMENTS, "boto3"),
        "commit": commit.stdout.strip() + (" + uncommitted changes to layers/ or functions/" if dirty.stdout else ""),
    }


def _cold(built: artifact.Artifact, token: str, environment: dict[str, str], rounds: int) -> dict[str, Any]:
    """Every configuration once per round, in an order rotated per round; medians over the rounds."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in COLD}
    for number in range(rounds):
        for name in COLD[number % 3 :] + COLD[: number % 3]:
            message_id = cases.unique_id("cold")
            spec = {"event": cases.webhook_event(token, cases.text_message(message_id)), "pk": message_id}
            result = artifact.run_child(built, name, spec, environment)
            if name == "hub" and result["answer"] != [200, "accepted"]:
                raise RuntimeError(f"cold start: the webhook was answered {result['answer']}")
            runs[name].append(result)
    return {
        name: {key: round(statistics.median(run[key] for run in results), 1) for key in results[0] if key != "answer"}
        for name, results in runs.items()
    }


def run(rounds: int, seconds: float) -> dict[str, Any]:
    started = time.monotonic()
    built = artifact.prepare()
    results: dict[str, Any] = {**_about(built), "rounds": rounds, "priced_repeats": PRICED_REPEATS}
    results["sizes"] = {
        "function": artifact.size_of(smoke_artifact.FUNCTION_DIR),
        "layer": artifact.size_of(smoke_artifact.LAYER_DIR.parent),  # python/... as the layer's zip holds it
    }
    _quiet_emulator()
    server, moto_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(moto_url, STACK_NAME, tap=False)
        environment = artifact.lambda_environment(moto_url, stack.environment)
        print(f"cold starts: {rounds} rounds of {len(COLD)} processes", file=sys.stderr)
        results["cold"] = _cold(built, stack.token, environment, rounds)
        print("AWS calls and writes per case, CPU per priced case (moto)", file=sys.stderr)
        spec = {
            "cases": cases.case_list(stack.token, stack.environment["TOPIC_ARN_PREFIX"], STACK_NAME),
            "priced": cases.priced_events(stack.token, PRICED_REPEATS),
            "log_file": str(artifact.SCRATCH / "function-logs.jsonl"),
        }
        results.update(artifact.run_child(built, "cases", spec, environment))
    finally:
        server.stop()
    print(f"local hub against its emulator: 2 windows of {seconds:.0f} s each", file=sys.stderr)
    results["throughput"] = throughput.measure(seconds)
    results["load_after"] = os.getloadavg()[0]
    results["seconds"] = round(time.monotonic() - started)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21, help="cold starts per configuration (>= 20 for the docs)")
    parser.add_argument("--seconds", type=float, default=15.0, help="each window of the local hub's throughput")
    parser.add_argument("--report-only", action="store_true", help="re-render the docs from the last results")
    args = parser.parse_args(argv[1:])
    latest = RESULTS / "latest.json"
    if args.report_only:
        results = json.loads(latest.read_text(encoding="utf-8"))
    else:
        results = run(args.rounds, args.seconds)
        RESULTS.mkdir(parents=True, exist_ok=True)
        latest.write_text(json.dumps(results, indent=1), encoding="utf-8")
    performance, costs = report.render(results)
    (ROOT / "docs" / "performance.md").write_text(performance, encoding="utf-8")
    (ROOT / "docs" / "cost.md").write_text(costs, encoding="utf-8")
    print(report.summary(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
