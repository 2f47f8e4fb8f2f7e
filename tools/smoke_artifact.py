"""Import-and-invoke smoke test of the artifact ``sam build`` made (run by ``make template-check``).

Run with the dev virtualenv after ``sam build``: ``.venv/bin/python tools/smoke_artifact.py``.

What it proves: the built function and layer (``.aws-sam/build/IngestFunction`` and
``.aws-sam/build/HubLayer/python``), and nothing else from this repository or a virtualenv, import
and answer on Python 3.13 as the Lambda runtime would run them:

1. A fresh ``python3.13 -I -S`` process (no site-packages, no user site, no ``PYTHON*`` variables)
   gets ``sys.path`` = overlay, function, layer, standard library, runtime boto3 (Lambda's order:
   ``/var/task``, ``/opt/python``, then the runtime), imports ``app`` and calls ``app.lambda_handler``.
2. ``GET /health`` (``events/apigw/health.json``, an API Gateway HTTP API v2.0 event) answers 200.
3. A ``messages.upsert`` webhook ``POST /webhook/<token>``, built by ``webhook_hub_cli.apigw`` from
   the template's routes, answers 200 ``accepted`` against moto's AWS emulator on 127.0.0.1, whose
   table, bucket, secret and topics ``webhook_hub_cli.local_aws.provision`` created from
   template.yaml. This process then checks on the emulator that one item was stored and one
   notification published, and that the token appears nowhere in the function's output.
4. Every top-level package of the layer imports (``jwt`` is only imported lazily by the handler),
   and every module the child imported came from those directories: the layer is self-contained.

Two things are not the built artifact, on purpose:

- ``pydantic_core``: the layer is built for arm64 and holds ``pydantic_core`` compiled for aarch64,
  which cannot load on an x86_64 host. Only that package is overlaid, first on ``sys.path``, with the
  host's wheel of the very version found in the layer's ``pydantic_core-<version>.dist-info``
  (``pip install --only-binary=:all: --no-deps --target ...``). The script first checks that the
  layer's own build is the aarch64 CPython 3.13 one.
- ``boto3``: the Lambda runtime provides it, so the layer does not ship it. It is installed into a
  throwaway target directory at the version pinned in ``requirements/dev.txt`` (the one the tests
  use) and put last on ``sys.path``, where the runtime's copy sits.

Both are cached under ``.aws-sam/smoke-deps`` (ignored by git), so only the first run downloads.
Every step has a time limit; the script exits non-zero with a reason on any failure.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"
FUNCTION_DIR = BUILD / "IngestFunction"
LAYER_DIR = BUILD / "HubLayer" / "python"
DEPS_CACHE = ROOT / ".aws-sam" / "smoke-deps"
HEALTH_EVENT = ROOT / "events" / "apigw" / "health.json"
DEV_REQUIREMENTS = ROOT / "requirements" / "dev.txt"

PIP_TIMEOUT_SECONDS = 300
CHILD_TIMEOUT_SECONDS = 120
STACK_NAME = "smoke"

WEBHOOK_BODY: dict[str, Any] = {
    "event": "messages.upsert",
    "instance": "loja-centro",
    "data": {
        "key": {
            "remoteJid": "5511900000001@s.whatsapp.net",
            "fromMe": False,
            "id": "SMOKE0000000000000000000000000001",
        },
        "pushName": "Maria Teste",
        "status": "DELIVERY_ACK",
        "message": {"conversation": "smoke test"},
        "messageType": "conversation",
        "messageTimestamp": 1767268800,
        "instanceId": "4f1c2b9e-0000-4000-8000-00000000fa1e",
        "source": "android",
    },
    "destination": "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhook",
    "date_time": "2026-01-01T09:00:00.812Z",
    "sender": "5511900000000@s.whatsapp.net",
    "server_url": "https://evo.example-euatendo.test",
    "apikey": "SMOKE-INSTANCE-APIKEY-0000-000000000000",
}


class SmokeFailure(Exception):
    """The built artifact did not behave; the message says how."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailure(message)


# --- the child: runs under python3.13 -I -S with only the standard library importable at first ------


class _Context:
    """The attributes of Lambda's context object that Powertools and the handler read."""

    function_name = "webhook-hub-ingest"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:webhook-hub-ingest"
    log_group_name = "/aws/lambda/webhook-hub-ingest"
    log_stream_name = "smoke"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 20

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _origin(name: str, roots: dict[str, str]) -> str:
    module = sys.modules[name]
    where = str(Path(getattr(module, "__file__", None) or "").resolve())
    for label, root in roots.items():
        if where.startswith(root + os.sep):
            return label
    return where


def child(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    check(sys.version_info[:2] == (3, 13), f"the child runs Python {sys.version.split()[0]}, not 3.13")
    sys.path[:0] = [spec["overlay"], spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    started = time.perf_counter()
    import app  # noqa: PLC0415 - from the built artifact only

    import_ms = round((time.perf_counter() - started) * 1000)
    answers = {name: app.lambda_handler(event, _Context()) for name, event in spec["events"].items()}
    layer = Path(spec["layer"])
    top_level = sorted(
        {path.parent.name for path in layer.glob("*/__init__.py")} | {path.stem for path in layer.glob("*.py")}
    )
    for name in top_level:  # what the handler imports lazily (jwt) must import too
        importlib.import_module(name)
    roots = {
        "harness": str(Path(__file__).resolve().parent),
        "overlay": str(Path(spec["overlay"]).resolve()),
        "function": str(Path(spec["function"]).resolve()),
        "layer": str(Path(spec["layer"]).resolve()),
        "runtime": str(Path(spec["runtime"]).resolve()),
    }
    roots.update({f"stdlib:{key}": str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "platstdlib")})
    foreign = sorted(
        f"{name} ({_origin(name, roots)})"
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None) and _origin(name, roots) not in roots
    )
    origins = {
        name: _origin(name, roots)
        for name in ("app", "webhook_hub", "aws_lambda_powertools", "pydantic", "pydantic_core", "jwt", "boto3")
        if name in sys.modules
    }
    result = {
        "answers": answers,
        "foreign_modules": foreign,
        "origins": origins,
        "import_ms": import_ms,
        "layer_packages": top_level,
    }
    Path(spec["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


# --- the parent: runs under the dev virtualenv, owns the emulator ----------------------------------


def lambda_python() -> str:
    found = os.environ.get("LAMBDA_PYTHON") or shutil.which("python3.13")
    check(found is not None, "python3.13 not found: put its bin directory on PATH or set LAMBDA_PYTHON")
    assert found is not None
    version = subprocess.run(
        [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    check(version.stdout.strip() == "3.13", f"{found} is not Python 3.13: {version.stdout or version.stderr}")
    return found


def layer_pydantic_core_version() -> str:
    dist_infos = sorted(LAYER_DIR.glob("pydantic_core-*.dist-info"))
    check(len(dist_infos) == 1, f"expected one pydantic_core dist-info in {LAYER_DIR}, found {dist_infos}")
    version = dist_infos[0].name.removeprefix("pydantic_core-").removesuffix(".dist-info")
    binaries = [path.name for path in (LAYER_DIR / "pydantic_core").glob("_pydantic_core.*.so")]
    check(
        binaries == ["_pydantic_core.cpython-313-aarch64-linux-gnu.so"],
        f"the layer's pydantic_core is not the CPython 3.13 aarch64 build: {binaries}",
    )
    return version


def pinned(requirements: Path, package: str) -> str:
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(rf"{re.escape(package)}==([^\s;#]+)\s*(?:#.*)?", line.strip())
        if match:
            return match.group(1)
    raise SmokeFailure(f"{package} is not pinned with == in {requirements}")


def pip_target(python: str, requirement: str, *extra: str) -> Path:
    """``requirement`` installed for ``python``'s platform into a cached target directory."""
    target = DEPS_CACHE / f"{Path(python).name}-{requirement.replace('==', '-')}"
    marker = target / ".complete"
    if marker.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    command = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--only-binary=:all:"]
    command += [*extra, "--target", str(target), requirement]
    done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False)
    check(done.returncode == 0, f"pip could not install {requirement}:\n{done.stdout}{done.stderr}")
    marker.touch()
    return target


def run_child(python: str, spec: dict[str, Any], environment: dict[str, str]) -> tuple[dict[str, Any], str]:
    with tempfile.TemporaryDirectory(prefix="smoke-") as scratch:
        spec_path, result_path = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        spec_path.write_text(json.dumps({**spec, "result": str(result_path)}), encoding="utf-8")
        done = subprocess.run(
            [python, "-I", "-S", str(Path(__file__).resolve()), "--child", str(spec_path)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            env=environment,
            cwd=scratch,
            check=False,
        )
        output = done.stdout + done.stderr
        check(done.returncode == 0 and result_path.exists(), f"the built function failed:\n{output}")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result, output


def answer_of(result: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    response = result["answers"][name]
    return int(response["statusCode"]), json.loads(response["body"])


def smoke() -> None:
    from webhook_hub_cli import local_aws  # noqa: PLC0415 - the child never imports the CLI
    from webhook_hub_cli.apigw import http_api_event  # noqa: PLC0415

    check(FUNCTION_DIR.joinpath("app.py").is_file(), f"no built function in {FUNCTION_DIR}: run `sam build` first")
    check(LAYER_DIR.joinpath("webhook_hub").is_dir(), f"no webhook_hub in the built layer {LAYER_DIR}")
    python = lambda_python()
    pydantic_core_version = layer_pydantic_core_version()
    overlay = pip_target(python, f"pydantic-core=={pydantic_core_version}", "--no-deps")
    runtime = pip_target(python, f"boto3=={pinned(DEV_REQUIREMENTS, 'boto3')}")

    server, endpoint_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(endpoint_url, STACK_NAME, tap=True)
        headers = {"content-type": "application/json", "user-agent": "axios/1.7.9", "host": "smoke.local"}
        webhook = http_api_event("POST", f"/webhook/{stack.token}", headers.items(), json.dumps(WEBHOOK_BODY).encode())
        check(webhook is not None, "the template has no POST /webhook/{proxy+} route")
        health = json.loads(HEALTH_EVENT.read_text(encoding="utf-8"))
        spec = {
            "overlay": str(overlay),
            "function": str(FUNCTION_DIR),
            "layer": str(LAYER_DIR),
            "runtime": str(runtime),
            "events": {"health": health, "webhook": webhook},
        }
        environment = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_REGION": local_aws.REGION,
            "AWS_DEFAULT_REGION": local_aws.REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_NAME": "webhook-hub-ingest",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "LAMBDA_TASK_ROOT": str(FUNCTION_DIR),
            **stack.environment,
        }
        result, output = run_child(python, spec, environment)

        status, body = answer_of(result, "health")
        check((status, body) == (200, {"status": "ok"}), f"GET /health answered {status} {body}")
        status, body = answer_of(result, "webhook")
        check(status == 200 and body.get("status") == "accepted", f"the webhook POST answered {status} {body}")
        check(body.get("event_type") == "messages.upsert", f"the webhook was classified as {body}")
        check(not result["foreign_modules"], f"modules from outside the artifact: {result['foreign_modules']}")
        check("jwt" in result["layer_packages"], f"no jwt in the layer: {result['layer_packages']}")
        expected = {"app": "function", "webhook_hub": "layer", "aws_lambda_powertools": "layer", "pydantic": "layer"}
        expected |= {"jwt": "layer"}
        expected |= {"pydantic_core": "overlay", "boto3": "runtime"}
        check(
            all(result["origins"].get(name) == where for name, where in expected.items()),
            f"module origins {result['origins']}, expected {expected}",
        )
        check(stack.token not in output, "the webhook token appears in the function's output")
        check(WEBHOOK_BODY["apikey"] not in output, "the body's apikey appears in the function's output")

        dynamodb = local_aws.client("dynamodb", endpoint_url)
        items = dynamodb.scan(TableName=stack.table_name, ConsistentRead=True)["Items"]
        check([item["pk"]["S"] for item in items] == [body["event_id"]], f"stored items: {items}")
        sqs = local_aws.client("sqs", endpoint_url)
        messages = sqs.receive_message(QueueUrl=stack.tap_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        published = messages.get("Messages", [])
        check(len(published) == 1, f"expected one published notification, got {len(published)}")
        check(body["event_id"] in published[0]["Body"], "the notification does not carry the event id")
    finally:
        server.stop()
    print(
        f"smoke test of the built artifact passed: GET /health 200, webhook POST 200 accepted, stored and "
        f"published once; import of app {result['import_ms']} ms on python3.13 "
        f"(layer pydantic_core {pydantic_core_version} overlaid for the host)"
    )


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[1] == "--child":
            return child(argv[2])
        smoke()
    except (SmokeFailure, subprocess.TimeoutExpired) as failure:
        print(f"smoke test of the built artifact FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
