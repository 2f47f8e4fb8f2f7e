"""The local hub's snapshots: an answer waits for the disk, and a snapshot that cannot be written is an error."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from webhook_hub_cli import persistence
from webhook_hub_cli.local_aws import LocalStack


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def _writer(snapshots: persistence.Snapshots, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=snapshots.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def test_a_commit_returns_once_its_snapshot_is_on_disk(
    stack: LocalStack, tmp_path: Path, stop: threading.Event
) -> None:
    path = tmp_path / persistence.SNAPSHOT_NAME
    snapshots = persistence.Snapshots(path)
    writer = _writer(snapshots, stop)

    with snapshots.changing():
        pass
    snapshots.commit()
    written = path.read_bytes()
    stop.set()
    writer.join(timeout=10)

    header, _, body = written.partition(b"\n")
    assert b'"moto"' in header
    assert stack.table_name.encode() in body, "the snapshot does not hold the emulator's table"
    assert not writer.is_alive()


def test_a_snapshot_that_cannot_be_written_fails_the_commit(tmp_path: Path, stop: threading.Event) -> None:
    in_the_way = tmp_path / persistence.SNAPSHOT_NAME
    in_the_way.mkdir()  # the rename onto it fails, as a full or read-only disk would
    snapshots = persistence.Snapshots(in_the_way)
    _writer(snapshots, stop)

    with pytest.raises(persistence.NotSaved, match="cannot write"):
        snapshots.commit()


def test_a_snapshot_waits_for_changes_in_progress(tmp_path: Path, stop: threading.Event) -> None:
    path = tmp_path / persistence.SNAPSHOT_NAME
    snapshots = persistence.Snapshots(path)
    _writer(snapshots, stop)
    committed = threading.Event()

    def commit() -> None:
        snapshots.commit()
        committed.set()

    with snapshots.changing():
        threading.Thread(target=commit, daemon=True).start()
        assert not committed.wait(0.5), "a snapshot was taken in the middle of a change"
        assert not path.exists()
    assert committed.wait(10)
    assert path.exists()
