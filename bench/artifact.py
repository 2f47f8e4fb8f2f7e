"""The built artifact as the benchmarks run it, in fresh ``python3.13 -I -S`` processes (bench/child.py).

A copy of what ``sam build`` wrote to ``.aws-sam/build`` (so a concurrent build cannot change it mid-run), made
runnable here the way tools/smoke_artifact.py does it: the layer's aarch64 ``pydantic_core`` replaced by the host's
wheel of the same version, compiled like the layer's own, and boto3 at the tests' pinned version standing in for
the Lambda runtime's copy, last on ``sys.path``. Children run with ``-B``, as from a read-only ``/opt``: the layer's
shipped bytecode is used and the function's one file is compiled on every cold start, as on Lambda.
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
CHILD_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Artifact:
    python: str
    function: Path
    layer: Path
    runtime: Path
    """boto3 as the Lambda runtime provides it."""


def prepare() -> Artifact:
    """A runnable copy of the current ``sam build`` output; fails with the smoke test's message if there is none."""
    smoke_artifact.check(smoke_artifact.FUNCTION_DIR.joinpath("app.py").is_file(), "no built function: run sam build")
    python = smoke_artifact.lambda_python()
    version = smoke_artifact.layer_pydantic_core_version()
    overlay = smoke_artifact.pip_target(python, f"pydantic-core=={version}", "--no-deps")
    runtime = smoke_artifact.pip_target(
        python, f"boto3=={smoke_artifact.pinned(smoke_artifact.DEV_REQUIREMENTS, 'boto3')}"
    )
    shutil.rmtree(SCRATCH, ignore_errors=True)
    function, layer = SCRATCH / "function", SCRATCH / "layer"
    shutil.copytree(smoke_artifact.FUNCTION_DIR, function, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(smoke_artifact.LAYER_DIR, layer)
    shutil.rmtree(layer / "pydantic_core")
    shutil.copytree(overlay / "pydantic_core", layer / "pydantic_core")
    compiled = subprocess.run(  # as layers/hub/Makefile compiles the layer
        [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(layer / "pydantic_core")],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    smoke_artifact.check(compiled.returncode == 0, f"compileall failed: {compiled.stdout}{compiled.stderr}")
    return Artifact(python, function, layer, runtime)


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


def run_child(artifact: Artifact, mode: str, spec: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    """``bench/child.py MODE`` on the artifact; the function's logs (its stdout) are dropped."""
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        spec_path, result_path = Path(scratch) / "spec.json", Path(scratch) / "result.json"
        paths = {"function": str(artifact.function), "layer": str(artifact.layer), "runtime": str(artifact.runtime)}
        spec_path.write_text(json.dumps({**spec, **paths, "result": str(result_path)}), encoding="utf-8")
        done = subprocess.run(
            [artifact.python, "-I", "-S", "-B", str(CHILD), mode, str(spec_path)],
            capture_output=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            env=environment,
            cwd=scratch,
            check=False,
        )
        if done.returncode != 0 or not result_path.exists():
            tail = (done.stdout[-2000:] + done.stderr[-4000:]).decode("utf-8", "replace")
            raise smoke_artifact.SmokeFailure(f"bench child {mode} failed:\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result


def size_of(tree: Path) -> dict[str, int]:
    """Files, bytes on disk, and bytes deflated (level 6, as ``sam package`` zips) with paths relative to ``tree``."""
    files = [path for path in sorted(tree.rglob("*")) if path.is_file()]
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in files:
                archive.write(path, str(path.relative_to(tree)))
        zipped = handle.tell()
    return {"files": len(files), "unzipped": sum(path.stat().st_size for path in files), "zipped": zipped}
