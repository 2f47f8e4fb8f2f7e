"""The built artifact as the benchmarks run it, and the child processes that run it on python3.13.

Reuses ``tools/smoke_artifact.py`` (the approach and its helpers): the function and layer that ``sam build`` wrote
to ``.aws-sam/build``, the layer's ``pydantic_core`` replaced by the host's wheel of the same version (the layer's is
compiled for aarch64), and boto3 at the tests' pinned version standing in for the Lambda runtime's copy, last on
``sys.path``. Children run ``python3.13 -I -S``: no site-packages, no ``PYTHON*`` variables, only those directories.

Two copies are made under ``.aws-sam/bench/`` so a concurrent ``sam build`` cannot change the artifact mid-run:

- ``as-built``: exactly what ``sam build`` ships: the layer with the bytecode layers/hub/Makefile compiled for it
  (``--invalidation-mode unchecked-hash``, valid after a zip round trip, whose 2-second timestamps break the default
  mtime check), the function as sources. The overlaid ``pydantic_core`` is compiled the same way, as the layer's own
  copy is. Lambda's ``/opt`` and ``/var/task`` are read-only, so Python compiles whatever lacks bytecode again on
  every cold start; children of this variant run with ``-B`` so nothing is cached between runs either.
- ``bytecode``: the same files plus bytecode, compiled the same way, for whatever lacks it (the function).

The runtime's boto3 keeps the bytecode pip compiled for it, as the Lambda runtime's own copy has.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import smoke_artifact

ROOT = smoke_artifact.ROOT
SCRATCH = ROOT / ".aws-sam" / "bench"
RESULTS = ROOT / "bench" / "results"
CHILD = Path(__file__).resolve().parent / "child.py"
STUB = Path(__file__).resolve().parent / "stub_aws.py"
VARIANTS = ("as-built", "bytecode")
CHILD_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Artifact:
    """One runnable copy of the built function and layer."""

    variant: str
    python: str
    function: Path
    layer: Path
    runtime: Path
    """boto3 as the Lambda runtime provides it."""

    @property
    def paths(self) -> dict[str, str]:
        return {"function": str(self.function), "layer": str(self.layer), "runtime": str(self.runtime)}

    @property
    def python_flags(self) -> list[str]:
        return ["-I", "-S", "-B"] if self.variant == "as-built" else ["-I", "-S"]


def _copy_tree(source: Path, target: Path, *, keep_bytecode: bool = False) -> None:
    shutil.copytree(source, target, ignore=None if keep_bytecode else shutil.ignore_patterns("__pycache__", "*.pyc"))


def _compile(python: str, tree: Path) -> None:
    """Bytecode for every module of ``tree``, as layers/hub/Makefile compiles the layer."""
    compiled = subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "2", "--invalidation-mode", "unchecked-hash", str(tree)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    smoke_artifact.check(compiled.returncode == 0, f"compileall failed: {compiled.stdout}{compiled.stderr}")


def prepare(
    variants: tuple[str, ...] = VARIANTS, *, scratch: Path = SCRATCH, source: Path | None = None
) -> dict[str, Artifact]:
    """The variants, from the current ``sam build`` output; fails with the smoke test's message if there is none.

    With ``source`` (a checkout), its ``functions/ingest`` and ``layers/hub/webhook_hub`` replace the built ones over
    the built layer's dependencies: the hub's code as it is now, without a ``sam build``.
    """
    smoke_artifact.check(
        smoke_artifact.FUNCTION_DIR.joinpath("app.py").is_file(), "no built function: run `sam build` first"
    )
    python = smoke_artifact.lambda_python()
    version = smoke_artifact.layer_pydantic_core_version()
    overlay = smoke_artifact.pip_target(python, f"pydantic-core=={version}", "--no-deps")
    boto3_pin = smoke_artifact.pinned(smoke_artifact.BOTO3_REQUIREMENTS, "boto3")
    runtime = smoke_artifact.pip_target(python, f"boto3=={boto3_pin}")
    shutil.rmtree(scratch, ignore_errors=True)
    artifacts: dict[str, Artifact] = {}
    for variant in variants:
        base = scratch / variant
        function, layer = base / "function", base / "layer"
        _copy_tree(smoke_artifact.FUNCTION_DIR if source is None else source / "functions" / "ingest", function)
        _copy_tree(smoke_artifact.LAYER_DIR, layer, keep_bytecode=True)
        if source is not None:
            shutil.rmtree(layer / "webhook_hub")
            _copy_tree(source / "layers" / "hub" / "webhook_hub", layer / "webhook_hub")
        shutil.rmtree(layer / "pydantic_core")
        _copy_tree(overlay / "pydantic_core", layer / "pydantic_core")
        _compile(python, layer / "pydantic_core")  # the layer's own (aarch64) copy ships its bytecode
        if variant == "bytecode":
            for tree in (function, layer):
                _compile(python, tree)
        artifacts[variant] = Artifact(variant, python, function, layer, runtime)
    return artifacts


def lambda_environment(endpoint_url: str, function_environment: dict[str, str]) -> dict[str, str]:
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
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        **function_environment,
    }


def run_child(
    artifact: Artifact,
    mode: str,
    spec: dict[str, Any],
    environment: dict[str, str],
    *,
    flags: list[str] | None = None,
    keep_stderr: bool = False,
) -> dict[str, Any]:
    """Run ``bench/child.py MODE`` on the artifact; its stdout (the function's logs) is counted, not kept."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        spec_path, result_path = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        spec_path.write_text(json.dumps({**spec, **artifact.paths, "result": str(result_path)}), encoding="utf-8")
        done = subprocess.run(
            [
                artifact.python,
                *(flags if flags is not None else artifact.python_flags),
                str(CHILD),
                mode,
                str(spec_path),
            ],
            capture_output=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            env=environment,
            cwd=scratch,
            check=False,
        )
        if done.returncode != 0 or not result_path.exists():
            tail = (done.stdout[-2000:] + done.stderr[-4000:]).decode("utf-8", "replace")
            raise smoke_artifact.SmokeFailure(f"bench child {mode} ({artifact.variant}) failed:\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    result["stdout_bytes"] = len(done.stdout)
    if keep_stderr:
        result["stderr"] = done.stderr.decode("utf-8", "replace")
    return result


@dataclass(frozen=True)
class Size:
    files: int
    unzipped: int
    zipped: int


def size_of(tree: Path, *, with_bytecode: bool = False) -> Size:
    """Bytes on disk, and deflated (level 6, as ``sam package`` zips) with paths relative to ``tree``."""
    files = [
        path
        for path in sorted(tree.rglob("*"))
        if path.is_file() and (with_bytecode or ("__pycache__" not in path.parts and path.suffix != ".pyc"))
    ]
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in files:
                archive.write(path, str(path.relative_to(tree)))
        zipped = handle.tell()
    return Size(len(files), sum(path.stat().st_size for path in files), zipped)


def stub_endpoint(artifact: Artifact, secret_string: str, lifetime: float) -> tuple[subprocess.Popen[str], str]:
    """Start bench/stub_aws.py on 127.0.0.1 under the runtime's Python; returns the process and its URL."""
    process = subprocess.Popen(
        [artifact.python, "-I", "-S", str(STUB), "--secret-string", secret_string, "--lifetime", str(lifetime)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    smoke_artifact.check(url.startswith("http://127.0.0.1:"), f"the AWS stub did not start: {url!r}")
    return process, url


def python_version(python: str) -> str:
    done = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True)
    return done.stdout.strip()
