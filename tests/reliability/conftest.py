"""Fixtures of the reliability suite: the emulator, fresh stacks, the fault proxy, containers, the local hub.

Every process or server started here is stopped in the fixture's finalizer; ports are chosen by the OS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from webhook_hub_cli import local_aws

from .fault_proxy import FaultProxy
from .harness import Container, LocalHub, aws_environment, environment

_stacks = iter(range(1, 1_000_000))


@pytest.fixture(scope="session")
def emulator() -> Iterator[str]:
    """moto on 127.0.0.1 for this worker; each test makes its own stack on it."""
    server, url = local_aws.start_emulator()
    yield url
    server.stop()


@pytest.fixture
def stack(emulator: str) -> local_aws.LocalStack:
    return local_aws.provision(emulator, f"rel{next(_stacks)}-{os.getpid()}", tap=False)


def _forget_containers_state() -> None:
    """What a new Lambda container would not have: the handler's wiring, boto clients, the cached token."""
    import app
    from webhook_hub.aws import clients, secrets

    app._ingest.cache_clear()
    clients._client.cache_clear()
    secrets._provider.cache_clear()


@pytest.fixture
def in_process(stack: local_aws.LocalStack) -> Iterator[local_aws.LocalStack]:
    """The handler in this process, wired to ``stack`` as a fresh container would be; restored after."""
    with environment({**aws_environment(stack.endpoint_url), **stack.environment}):
        _forget_containers_state()
        yield stack
    _forget_containers_state()


@pytest.fixture
def proxy(emulator: str) -> Iterator[FaultProxy]:
    started = FaultProxy(emulator).start()
    yield started
    started.stop()


ContainerFactory = Callable[..., Container]


@pytest.fixture
def containers(tmp_path: Path) -> Iterator[ContainerFactory]:
    """Start Lambda containers (processes) with a given environment; all are stopped at the end."""
    started: list[Container] = []

    def start(env: dict[str, str]) -> Container:
        container = Container(env, tmp_path)
        started.append(container)
        return container

    yield start
    for container in started:
        container.stop()


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """``webhook-hub run --json`` with 4 containers, shared by this worker's hub tests (each uses its own
    instance names and message ids, so they never see each other's events)."""
    running = LocalHub(tmp_path_factory.mktemp("hub"), containers=4)
    yield running
    running.stop()


def _in(module: str) -> Callable[[pytest.Item], bool]:
    return lambda item: item.nodeid.startswith(f"tests/reliability/{module}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Place the long tests where ``pytest -n N`` runs them side by side.

    xdist (``--dist load``) first gives each worker a chunk of ``len(items) // N // 4`` consecutive tests, then hands
    out the rest as workers drain. The load test keeps its worker waiting on the hub for minutes, so it opens the
    first chunk with the fault tests behind it; the hostile-input families open the second chunk; everything else
    follows, for whichever worker is free. Without xdist the order is left alone.
    """
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2:
        return
    load = [item for item in items if _in("test_load.py")(item)]
    faults = [item for item in items if _in("test_faults.py")(item)]
    hostile = [item for item in items if _in("test_hostile_input.py")(item)]
    rest = [item for item in items if item not in load and item not in faults and item not in hostile]
    fill = max(0, max(2, len(items) // workers // 4) - len(load) - len(faults))
    items[:] = load + faults + rest[:fill] + hostile + rest[fill:]
