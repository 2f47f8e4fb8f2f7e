"""``make bench``: each measurement beside its baseline, in one run; writes docs/performance.md and docs/cost.md.

Run from the repository root with the dev virtualenv after ``sam build``: ``.venv/bin/python -m bench``;
``--report-only`` renders the docs again from bench/results/latest.json. Only 127.0.0.1 is contacted.

The children (bench/child.py) run on what ``sam build`` wrote, as tools/smoke_artifact.py runs it: the host's wheel
of the layer's aarch64 ``pydantic_core`` first on ``sys.path``, the tests' pinned boto3 standing in for the runtime's.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cases, report
from tools import smoke_artifact as smoke
from webhook_hub_cli import local_aws

LATEST = smoke.ROOT / "bench" / "results" / "latest.json"
FUNCTION_LOG = smoke.ROOT / ".aws-sam" / "bench-function-logs.jsonl"
ROUNDS = 21  # cold starts of each configuration
PRICED_REPEATS = 60
SENDERS, WINDOW_SECONDS, WINDOWS = 8, 15.0, 2  # the local hub's and its baseline's, alternating
WARMUP_SECONDS = 10.0  # every sender posting before the hub is timed, until its four containers have started
EMULATOR = "from webhook_hub_cli import local_aws; print(local_aws.start_emulator()[1], flush=True); input()"


def _prepare() -> dict[str, str]:
    """The interpreter and the paths bench/child.py runs on."""
    smoke.check(smoke.FUNCTION_DIR.joinpath("app.py").is_file(), "no built function: run sam build")
    python = smoke.lambda_python()
    overlay = smoke.pip_target(python, f"pydantic-core=={smoke.layer_pydantic_core_version()}", "--no-deps")
    runtime = smoke.pip_target(python, f"boto3=={smoke.pinned(smoke.BOTO3_REQUIREMENTS, 'boto3')}")
    paths = {"overlay": overlay, "function": smoke.FUNCTION_DIR, "layer": smoke.LAYER_DIR, "runtime": runtime}
    return {"python": python, **{name: str(path) for name, path in paths.items()}}


def _size(tree: Path) -> dict[str, int]:
    """Files, bytes on disk, and bytes deflated (level 6, as ``sam package`` zips) with paths relative to ``tree``."""
    files = [path for path in sorted(tree.rglob("*")) if path.is_file()]
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in files:
                archive.write(path, str(path.relative_to(tree)))
        zipped = handle.tell()
    return {"files": len(files), "unzipped": sum(path.stat().st_size for path in files), "zipped": zipped}


def _rate(send: Callable[[int], bool], seconds: float) -> float:
    """Events per second that ``send`` completes from SENDERS threads for ``seconds``."""
    deadline = time.monotonic() + seconds

    def sender(slot: int) -> int:
        done = 0
        while time.monotonic() < deadline:
            done += send(slot)
        return done

    started = time.monotonic()
    with ThreadPoolExecutor(SENDERS) as pool:
        done = sum(pool.map(sender, range(SENDERS)))
    return round(done / (time.monotonic() - started), 1)


def _start(command: list[str], stop: contextlib.ExitStack, **options: Any) -> subprocess.Popen[str]:
    process = subprocess.Popen(command, text=True, **options)
    stop.callback(process.wait, timeout=30)
    stop.callback(process.terminate)
    return process


def _hub(work: Path, stop: contextlib.ExitStack) -> Callable[[int], bool]:
    """``webhook-hub run`` as a user starts it; a sender of new text messages, done when answered ``accepted``."""
    log = work / "hub.stderr"
    with log.open("w") as stderr:
        command = [str(Path(sys.executable).with_name("webhook-hub")), "run", "--json", "--port", "0"]
        command += ["--data-dir", str(work / "data")]  # a fresh hub, never the user's stored events
        environment = {**os.environ, "WEBHOOK_HUB_STATE": str(work / "state.json")}
        hub = _start(command, stop, stdout=subprocess.DEVNULL, stderr=stderr, env=environment)
    deadline = time.monotonic() + 60
    while not (found := re.search(r"Webhook URL: http://([^/]+)(/\S+)", log.read_text(errors="replace"))):
        if time.monotonic() > deadline or hub.poll() is not None:
            raise RuntimeError(f"the local hub printed no Webhook URL: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    host, path = found.groups()

    def send(slot: int) -> bool:
        connection = http.client.HTTPConnection(host, timeout=60)
        try:
            document = cases.message(cases.unique_id(f"hub{slot}"))
            connection.request("POST", path, json.dumps(document).encode(), cases.HEADERS)
            answer = connection.getresponse()
            return answer.status == 200 and json.loads(answer.read()).get("status") == "accepted"
        finally:
            connection.close()

    return send


def _emulator(stop: contextlib.ExitStack) -> Callable[[int], bool]:
    """moto alone, provisioned as the hub's; a sender of a new event's three calls with none of the hub's code."""
    emulator = _start([sys.executable, "-c", EMULATOR], stop, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert emulator.stdout is not None
    url = emulator.stdout.readline().strip()
    stack = local_aws.provision(url, "bench-baseline", tap=True)
    table, topic = stack.table_name, stack.topic_arns[cases.TEXT_TOPIC]
    clients = [(local_aws.client("dynamodb", url), local_aws.client("sns", url)) for _ in range(SENDERS)]

    def send(slot: int) -> bool:
        dynamodb, sns = clients[slot]
        key = {"pk": {"S": cases.unique_id(f"baseline{slot}")}}
        condition = "attribute_not_exists(pk)"
        dynamodb.put_item(TableName=table, Item={**key, "payload": {"S": "x" * 1400}}, ConditionExpression=condition)
        sns.publish(TopicArn=topic, Message="x" * 2000)
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #state = :published",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":published": {"S": "published"}},
        )
        return True

    return send


def _throughput() -> dict[str, Any]:
    rates: dict[str, list[float]] = {"hub": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as work, contextlib.ExitStack() as stop:
        hub, baseline = _hub(Path(work), stop), _emulator(stop)
        _rate(hub, WARMUP_SECONDS)
        for _ in range(WINDOWS):
            rates["hub"].append(_rate(hub, WINDOW_SECONDS))
            rates["baseline"].append(_rate(baseline, WINDOW_SECONDS))
    return {"seconds": WINDOW_SECONDS, "senders": SENDERS, "rates": rates}


def _output(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()


def run() -> dict[str, Any]:
    started, built = time.monotonic(), _prepare()
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "unknown")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "load_before": os.getloadavg()[0],
        "python": _output(built["python"], "-VV"),
        "layer": ", ".join(sorted(path.name[:-10] for path in smoke.LAYER_DIR.glob("*.dist-info"))),
        "boto3": smoke.pinned(smoke.BOTO3_REQUIREMENTS, "boto3"),
        "commit": _output("git", "describe", "--always", "--dirty"),
        "rounds": ROUNDS,
        "priced_repeats": PRICED_REPEATS,
        "sizes": {"function": _size(smoke.FUNCTION_DIR), "layer": _size(smoke.LAYER_DIR.parent)},  # python/...
    }

    def child(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
        command = (str(Path(__file__).with_name("child.py")), mode)
        return smoke.run_child(built["python"], {**spec, **built}, environment, command)[0]

    from werkzeug.serving import WSGIRequestHandler

    # Moto writes an answer's headers and body apart: with Nagle's algorithm on, each would wait ~40 ms for the
    # client's delayed ACK, which is no property of AWS.
    WSGIRequestHandler.disable_nagle_algorithm = True
    server, moto_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(moto_url, "bench", tap=False)
        environment = smoke.lambda_environment(moto_url, stack.environment, memory_mb=report.MEMORY_MB)
        print(f"cold starts: {ROUNDS} rounds", file=sys.stderr)
        runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "hub": []}
        for number in range(ROUNDS):  # alternating which goes first
            for name in sorted(runs, reverse=number % 2 == 1):
                result = child(name, {"event": cases.webhook_event(stack.token, cases.message(cases.unique_id("c")))})
                if result.pop("answer") != [200, "accepted"]:
                    raise RuntimeError(f"cold start: {name} answered {result}")
                runs[name].append(result)
        results["cold"] = {
            name: {key: statistics.median(r[key] for r in done) for key in done[0]} for name, done in runs.items()
        }
        print("AWS calls and writes per case, CPU per priced case", file=sys.stderr)
        spec = {
            "cases": cases.case_list(stack.token, stack.environment["TOPIC_ARN_PREFIX"], "bench"),
            "priced": cases.priced_events(stack.token, PRICED_REPEATS),
            "log_file": str(FUNCTION_LOG),
        }
        results.update(child("cases", spec))
    finally:
        server.stop()
    print("local hub beside its emulator", file=sys.stderr)
    results["throughput"] = _throughput()
    return {**results, "load_after": os.getloadavg()[0], "seconds": round(time.monotonic() - started)}


def main(argv: list[str]) -> int:
    if argv[1:] not in ([], ["--report-only"]):
        raise SystemExit(f"usage: python -m bench [--report-only]\n\n{__doc__}")
    if argv[1:]:
        results = json.loads(LATEST.read_text(encoding="utf-8"))
    else:
        results = run()
        LATEST.parent.mkdir(parents=True, exist_ok=True)
        LATEST.write_text(json.dumps(results, indent=1), encoding="utf-8")
    performance = report.performance(results)
    (smoke.ROOT / "docs" / "performance.md").write_text(performance, encoding="utf-8")
    (smoke.ROOT / "docs" / "cost.md").write_text(report.cost(results), encoding="utf-8")
    print(performance[performance.index("## Results") : performance.index("## 1.")], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
