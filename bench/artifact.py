"""The built artifact as the benchmarks run it: a copy of what ``sam build`` wrote (so a concurrent build cannot
change it mid-run), made runnable here as tools/smoke_artifact.py does it: the layer's aarch64 ``pydantic_core``
replaced by the host's wheel of the same version, compiled as the layer's own is, and boto3 at the tests' pinned
version standing in for the runtime's, last on ``sys.path``. Children run with ``-B``, as from a read-only ``/opt``:
the layer's shipped bytecode is used and the function's one file is compiled on every cold start, as on Lambda.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import smoke_artifact

SCRATCH = smoke_artifact.ROOT / ".aws-sam" / "bench"
CHILD = Path(__file__).resolve().parent / "child.py"


@dataclass(frozen=True)
class Artifact:
    python: str
    paths: dict[str, str]
    """The function, the layer and the runtime's boto3, for bench/child.py."""

    def run(self, mode: str, spec: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
        """``bench/child.py MODE`` on the artifact; the result it wrote."""
        result, _ = smoke_artifact.run_child(self.python, {**spec, **self.paths}, environment, (str(CHILD), mode))
        return result


def prepare() -> Artifact:
    """A runnable copy of the current ``sam build`` output; fails with the smoke test's message if there is none."""
    smoke_artifact.check(smoke_artifact.FUNCTION_DIR.joinpath("app.py").is_file(), "no built function: run sam build")
    python = smoke_artifact.lambda_python()
    version = smoke_artifact.layer_pydantic_core_version()
    overlay = smoke_artifact.pip_target(python, f"pydantic-core=={version}", "--no-deps")
    boto3 = smoke_artifact.pinned(smoke_artifact.BOTO3_REQUIREMENTS, "boto3")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    function, layer = SCRATCH / "function", SCRATCH / "layer"
    shutil.copytree(smoke_artifact.FUNCTION_DIR, function)
    shutil.copytree(smoke_artifact.LAYER_DIR, layer, ignore=shutil.ignore_patterns("pydantic_core"))
    shutil.copytree(overlay / "pydantic_core", layer / "pydantic_core")
    subprocess.run(  # as layers/hub/Makefile compiles the layer
        [python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(layer / "pydantic_core")],
        capture_output=True,
        timeout=300,
        check=True,
    )
    runtime = smoke_artifact.pip_target(python, f"boto3=={boto3}")
    return Artifact(python, {"function": str(function), "layer": str(layer), "runtime": str(runtime)})


def size_of(tree: Path) -> dict[str, int]:
    """Files, bytes on disk, and bytes deflated (level 6, as ``sam package`` zips) with paths relative to ``tree``."""
    files = [path for path in sorted(tree.rglob("*")) if path.is_file()]
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            for path in files:
                archive.write(path, str(path.relative_to(tree)))
        zipped = handle.tell()
    return {"files": len(files), "unzipped": sum(path.stat().st_size for path in files), "zipped": zipped}
