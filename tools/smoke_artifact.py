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
   The destinations' dispatch and forward functions (``.aws-sam/build/DispatchFunction`` and
   ``ForwardFunction``) are imported from their built folders and answer an empty SQS batch.
4. Every top-level package of the layer imports (``jwt`` is only imported lazily by the handler),
   and every module the child imported came from those directories: the layer is self-contained.
5. The layer ships its bytecode (layers/hub/Makefile compiles it): every ``.py`` of the layer has a
   ``cpython-313`` unchecked-hash ``.pyc`` whose hash matches the source, and the child, run with
   ``-B`` like a read-only ``/opt``, compiled no module of the layer from source (a hook on
   ``SourceLoader.source_to_code`` records every compilation).
6. What the build left out of the layer is not imported by what it shipped: every ``import`` in the
   layer's code (outside ``if TYPE_CHECKING:``) of a package the layer holds names a module the layer
   has, but for the lazy imports in ``UNREACHABLE_IMPORTS``, which the hub never reaches.

Two things are not the built artifact, on purpose:

- ``pydantic_core``: the layer is built for arm64 and holds ``pydantic_core`` compiled for aarch64,
  which cannot load on an x86_64 host. Only that package is overlaid, first on ``sys.path``, with the
  host's wheel of the very version found in the layer's ``pydantic_core-<version>.dist-info``
  (``pip install --only-binary=:all: --no-deps --target ...``). The script first checks that the
  layer's own build is the aarch64 CPython 3.13 one.
- ``boto3``: the Lambda runtime provides it, so the layer does not ship it. It is installed into a
  throwaway target directory at the version pinned in ``requirements/cli.txt`` (the one the tests
  use) and put last on ``sys.path``, where the runtime's copy sits.

Both are cached under ``.aws-sam/smoke-deps`` (ignored by git), so only the first run downloads.
Every step has a time limit; the script exits non-zero with a reason on any failure.
"""

from __future__ import annotations

import ast
import functools
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
QUEUE_FUNCTIONS = (("DispatchFunction", "dispatch"), ("ForwardFunction", "forward"))
"""The destinations' functions (SQS event sources): imported from their built folders and given an empty batch."""
LAYER_DIR = BUILD / "HubLayer" / "python"
DEPS_CACHE = ROOT / ".aws-sam" / "smoke-deps"
HEALTH_EVENT = ROOT / "events" / "apigw" / "health.json"
BOTO3_REQUIREMENTS = ROOT / "requirements" / "cli.txt"

PIP_TIMEOUT_SECONDS = 300
CHILD_TIMEOUT_SECONDS = 120
STACK_NAME = "smoke"

UNREACHABLE_IMPORTS = {
    ("aws_lambda_powertools.shared.functions", "aws_lambda_powertools.event_handler.openapi.compat"): (
        "pydantic_to_dict: only when Logger logs a pydantic model as the event (log_event=True); the hub never does"
    ),
    ("pydantic._internal._generate_schema", "pydantic.v1"): (
        "a schema of a v1-style class with __get_validators__, which the hub has none of"
    ),
}
"""Imports in the layer's code of what layers/hub/Makefile leaves out, and why the hub never runs them."""

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


def _record_compilations() -> list[str]:
    """Every source file this process compiles from now on: any module imported without valid bytecode."""
    import importlib._bootstrap_external as external  # noqa: PLC0415 - the child only

    compiled: list[str] = []
    original = external.SourceLoader.source_to_code

    def source_to_code(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(str(path))
        return original(self, data, path, *args, **kwargs)

    setattr(external.SourceLoader, "source_to_code", source_to_code)  # noqa: B010 - mypy: no assigning to a method
    return compiled


def _without_bytecode(layer: Path) -> tuple[int, list[str]]:
    """The number of ``.py`` files in ``layer`` and those without unchecked-hash bytecode of their current source."""
    import importlib.util  # noqa: PLC0415 - the child only

    sources = sorted(layer.rglob("*.py"))
    missing: list[str] = []
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:16] if cached.is_file() else b""
        expected = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")  # PEP 552: hash-based, unchecked
        if header != expected + importlib.util.source_hash(source.read_bytes()):
            missing.append(str(source.relative_to(layer)))
    return len(sources), missing


def child(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    check(sys.version_info[:2] == (3, 13), f"the child runs Python {sys.version.split()[0]}, not 3.13")
    compiled = _record_compilations()
    sys.path[:0] = [spec["overlay"], spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    started = time.perf_counter()
    import app  # noqa: PLC0415 - from the built artifact only

    import_ms = round((time.perf_counter() - started) * 1000)
    answers = {name: app.lambda_handler(event, _Context()) for name, event in spec["events"].items()}
    queue_answers = {}
    for directory, handler in spec["queue_functions"]:  # the destinations' functions, on an empty batch
        sys.path.insert(1, directory)
        queue_answers[handler] = importlib.import_module(handler).lambda_handler({"Records": []}, _Context())
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
    roots.update({f"function:{handler}": str(Path(path).resolve()) for path, handler in spec["queue_functions"]})
    roots.update({f"stdlib:{key}": str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "platstdlib")})
    foreign = sorted(
        f"{name} ({_origin(name, roots)})"
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None) and _origin(name, roots) not in roots
    )
    origins = {
        name: _origin(name, roots)
        for name in ("app", "webhook_hub", "aws_lambda_powertools", "pydantic", "pydantic_core", "jwt", "botocore")
        if name in sys.modules
    }
    layer_sources, without_bytecode = _without_bytecode(layer)
    result = {
        "answers": answers,
        "queue_answers": queue_answers,
        "foreign_modules": foreign,
        "origins": origins,
        "import_ms": import_ms,
        "layer_packages": top_level,
        "layer_modules_imported": sum(_origin(name, roots) == "layer" for name in list(sys.modules)),
        "layer_compiled": [path for path in compiled if path.startswith(roots["layer"] + os.sep)],
        "layer_sources": layer_sources,
        "layer_without_bytecode": without_bytecode,
        "unresolved_imports": unresolved_imports(layer),  # parsed by 3.13, the layer's language
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


def _module_names(layer: Path) -> set[str]:
    """Every module and package the layer holds, extension modules included."""
    names: set[str] = set()
    for path in layer.rglob("*"):
        if path.suffix not in (".py", ".so") or "__pycache__" in path.parts:
            continue
        parts = [*path.relative_to(layer).parent.parts, path.name.split(".", 1)[0]]
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@functools.cache
def _bound_names(init: Path) -> set[str] | None:
    """The names ``init`` (a package's ``__init__.py``) binds in any scope; ``None`` if it may bind any name."""
    bound: set[str] = set()
    for node in ast.walk(ast.parse(init.read_bytes(), str(init))):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".", 1)[0] for alias in node.names}
    return None if "*" in bound or "__getattr__" in bound else bound


def unresolved_imports(layer: Path) -> list[str]:
    """``module: target`` for each import in the layer's code of a missing module of a package the layer holds.

    ``import a.b`` must find the module ``a.b``; ``from a.b import c`` must find ``a.b``, and ``c`` must be its
    submodule or a name its ``__init__.py`` binds (any name, in nested scopes too: a lenient check). Imports under
    ``if TYPE_CHECKING:`` never run and are skipped.
    """
    names = _module_names(layer)
    packages = {name.split(".", 1)[0] for name in names}
    found: list[str] = []
    for path in sorted(layer.rglob("*.py")):
        relative = path.relative_to(layer).with_suffix("").parts
        module = ".".join(relative[:-1] if relative[-1] == "__init__" else relative)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_bytes(), str(path))
        skipped = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for statement in node.body
            for inner in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                source = ".".join([*base, *([node.module] if node.module else [])])
                targets = [source]
                if source in names and layer.joinpath(*source.split("."), "__init__.py").is_file():
                    binds = _bound_names(layer.joinpath(*source.split("."), "__init__.py"))
                    targets += [
                        f"{source}.{alias.name}"
                        for alias in node.names
                        if binds is not None and alias.name not in binds and alias.name != "*"
                    ]
            else:
                continue
            for target in targets:
                missing = target.split(".", 1)[0] in packages and target not in names
                if missing and (module, target) not in UNREACHABLE_IMPORTS:
                    found.append(f"{module}:{node.lineno}: {target}")
    return found


def run_child(
    python: str, spec: dict[str, Any], environment: dict[str, str], command: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str]:
    """Run ``command`` (by default this script's child) on ``python``; returns the result it wrote and its output."""
    command = command or (str(Path(__file__).resolve()), "--child")
    with tempfile.TemporaryDirectory(prefix="smoke-") as scratch:
        spec_path, result_path = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        spec_path.write_text(json.dumps({**spec, "result": str(result_path)}), encoding="utf-8")
        done = subprocess.run(  # -B: write no bytecode, as into a read-only /opt, nor into the artifact
            [python, "-I", "-S", "-B", *command, str(spec_path)],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            env=environment,
            cwd=scratch,
            check=False,
        )
        output = done.stdout + done.stderr
        check(done.returncode == 0 and result_path.exists(), f"the built function failed:\n{output[-6000:]}")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result, output


def lambda_environment(endpoint_url: str, function_environment: dict[str, str], memory_mb: int) -> dict[str, str]:
    """What Lambda gives the function (its template environment included), pointed at a local AWS endpoint."""
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": "webhook-hub-ingest",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "LAMBDA_TASK_ROOT": str(FUNCTION_DIR),
        **function_environment,
    }


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
    runtime = pip_target(python, f"boto3=={pinned(BOTO3_REQUIREMENTS, 'boto3')}")

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
            "queue_functions": [[str(BUILD / logical_id), handler] for logical_id, handler in QUEUE_FUNCTIONS],
        }
        environment = lambda_environment(endpoint_url, stack.environment, memory_mb=512)
        result, output = run_child(python, spec, environment)

        status, body = answer_of(result, "health")
        check((status, body) == (200, {"status": "ok"}), f"GET /health answered {status} {body}")
        for _logical_id, handler in QUEUE_FUNCTIONS:
            answer = result["queue_answers"].get(handler)
            check(answer == {"batchItemFailures": []}, f"the {handler} function answered an empty batch {answer}")
        status, body = answer_of(result, "webhook")
        check(status == 200 and body.get("status") == "accepted", f"the webhook POST answered {status} {body}")
        check(body.get("event_type") == "messages.upsert", f"the webhook was classified as {body}")
        check(not result["foreign_modules"], f"modules from outside the artifact: {result['foreign_modules']}")
        check("jwt" in result["layer_packages"], f"no jwt in the layer: {result['layer_packages']}")
        expected = {"app": "function", "webhook_hub": "layer", "aws_lambda_powertools": "layer", "pydantic": "layer"}
        expected |= {"jwt": "layer"}
        expected |= {"pydantic_core": "overlay", "botocore": "runtime"}  # the hub's clients use botocore alone
        check(
            all(result["origins"].get(name) == where for name, where in expected.items()),
            f"module origins {result['origins']}, expected {expected}",
        )
        check(
            not result["layer_without_bytecode"],
            f"layer files without unchecked-hash cpython-313 bytecode: {result['layer_without_bytecode']}",
        )
        check(not result["layer_compiled"], f"modules of the layer compiled at import: {result['layer_compiled']}")
        check(result["layer_modules_imported"] > 0, "no module of the layer was imported")
        unresolved = result["unresolved_imports"]
        check(not unresolved, "the layer's code imports modules the layer lacks:\n" + "\n".join(unresolved))
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
        f"(layer pydantic_core {pydantic_core_version} overlaid for the host); {result['layer_modules_imported']} "
        f"modules of the layer imported, none compiled: all {result['layer_sources']} of its sources ship bytecode"
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
