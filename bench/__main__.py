"""``make bench``: each measurement beside its baseline, in one run; writes docs/performance.md and docs/cost.md.

Run from the repository root with the dev virtualenv after ``sam build``: ``.venv/bin/python -m bench``.
``--rounds`` (cold starts of each configuration, default 21) and ``--seconds`` (each local-hub window, default 15)
bound the run; ``--report-only`` renders the docs again from bench/results/latest.json. Only 127.0.0.1 is
contacted: the emulators and the local hub, started and stopped here.
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
from tools import smoke_artifact
from webhook_hub_cli import local_aws

RESULTS = smoke_artifact.ROOT / "bench" / "results"
PRICED_REPEATS = 60


def _about(built: artifact.Artifact) -> dict[str, Any]:
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "unknown")

    def output(*command: str) -> str:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()

    dirty = output("git", "status", "--porcelain", "--", "layers", "functions")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "load_before": os.getloadavg()[0],
        "python": output(built.python, "-VV"),
        "layer": ", ".join(sorted(path.name[:-10] for path in smoke_artifact.LAYER_DIR.glob("*.dist-info"))),
        "boto3 (runtime stand-in)": smoke_artifact.pinned(smoke_artifact.BOTO3_REQUIREMENTS, "boto3"),
        "commit": output("git", "rev-parse", "--short", "HEAD")
        + (" + uncommitted layers/, functions/" if dirty else ""),
    }


def _cold(built: artifact.Artifact, token: str, environment: dict[str, str], rounds: int) -> dict[str, Any]:
    """The baseline and the hub, alternating which goes first per round; medians over the rounds."""
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "hub": []}
    for number in range(rounds):
        for name in sorted(runs, reverse=number % 2 == 1):
            event = cases.webhook_event(token, cases.text_message(cases.unique_id("cold")))
            result = built.run(name, {"event": event}, environment)
            if result.pop("answer", [200, "accepted"]) != [200, "accepted"]:
                raise RuntimeError(f"cold start: the webhook was answered {result}")
            runs[name].append(result)
    return {name: {key: statistics.median(run[key] for run in done) for key in done[0]} for name, done in runs.items()}


def run(rounds: int, seconds: float) -> dict[str, Any]:
    started = time.monotonic()
    built = artifact.prepare()
    results: dict[str, Any] = {**_about(built), "rounds": rounds, "priced_repeats": PRICED_REPEATS}
    results["sizes"] = {
        "function": artifact.size_of(smoke_artifact.FUNCTION_DIR),
        "layer": artifact.size_of(smoke_artifact.LAYER_DIR.parent),  # python/... as the layer's zip holds it
    }
    from werkzeug.serving import WSGIRequestHandler

    # Moto writes an answer's headers and body apart: with Nagle's algorithm on, each would wait ~40 ms for the
    # client's delayed ACK, which is no property of AWS.
    WSGIRequestHandler.disable_nagle_algorithm = True
    server, moto_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(moto_url, "bench", tap=False)
        environment = smoke_artifact.lambda_environment(moto_url, stack.environment, memory_mb=report.MEMORY_MB)
        print(f"cold starts: {rounds} rounds", file=sys.stderr)
        results["cold"] = _cold(built, stack.token, environment, rounds)
        print("AWS calls and writes per case, CPU per priced case", file=sys.stderr)
        spec = {
            "cases": cases.case_list(stack.token, stack.environment["TOPIC_ARN_PREFIX"], "bench"),
            "priced": cases.priced_events(stack.token, PRICED_REPEATS),
            "log_file": str(artifact.SCRATCH / "function-logs.jsonl"),
        }
        results.update(built.run("cases", spec, environment))
    finally:
        server.stop()
    print(f"local hub beside its emulator: windows of {seconds:.0f} s", file=sys.stderr)
    results["throughput"] = throughput.measure(seconds)
    results["load_after"] = os.getloadavg()[0]
    results["seconds"] = round(time.monotonic() - started)
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21, help="cold starts of each configuration")
    parser.add_argument("--seconds", type=float, default=15.0, help="each window of the local hub's throughput")
    parser.add_argument("--report-only", action="store_true", help="render the docs again from the last results")
    args = parser.parse_args(argv[1:])
    latest = RESULTS / "latest.json"
    if args.report_only:
        results = json.loads(latest.read_text(encoding="utf-8"))
    else:
        results = run(args.rounds, args.seconds)
        RESULTS.mkdir(parents=True, exist_ok=True)
        latest.write_text(json.dumps(results, indent=1), encoding="utf-8")
    for name, text in zip(("performance.md", "cost.md"), report.render(results), strict=True):
        (smoke_artifact.ROOT / "docs" / name).write_text(text, encoding="utf-8")
    print(report.summary(results), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
