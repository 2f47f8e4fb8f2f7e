"""Shared fixtures: the sample webhook bodies in events/bodies (ours, and the reference captures in reference/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BODIES = Path(__file__).resolve().parents[2] / "events" / "bodies"


def _sample_paths() -> list[Path]:
    return sorted(BODIES.glob("*.json")) + sorted((BODIES / "reference").glob("*.json"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Any test taking ``sample_path`` runs once per sample body."""
    if "sample_path" in metafunc.fixturenames:
        paths = _sample_paths()
        metafunc.parametrize("sample_path", paths, ids=[path.relative_to(BODIES).as_posix() for path in paths])


@pytest.fixture(scope="session")
def bodies_dir() -> Path:
    return BODIES


@pytest.fixture(scope="session")
def load_body() -> Callable[[str], dict[str, Any]]:
    """Parsed sample by its path under events/bodies, e.g. ``reference/call.json``."""

    def load(name: str) -> dict[str, Any]:
        body: dict[str, Any] = json.loads((BODIES / name).read_text(encoding="utf-8"))
        return body

    return load


@pytest.fixture(scope="session")
def samples() -> list[dict[str, Any]]:
    """Every sample body, parsed."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in _sample_paths()]
