"""The local emulator's state on disk, so that a restart finds the token, the events and every resource again.

moto 5.x keeps its backends in memory only. Its recorder (``moto_api/_internal/recorder``) appends every
request to a file and replays them all on start: the file grows forever, and the replay cannot reproduce SQS
(receipt handles are random, so recorded deletes no longer match) nor anything that depended on time. The
backends themselves pickle (moto keeps S3 keys picklable on purpose; locks are made anew here), so the runner
snapshots the backends of the services the stack uses, whole, to one file.

Durability is by group commit: the gateway answers a webhook only once a snapshot taken after the handler's
writes is on disk (written to a temporary file, flushed to the disk, then renamed over the old one), so an event
acknowledged to the sender survives a crash of this process or of the machine; when the snapshot cannot be
written (disk full), the answer is 503 and the sender retries. Changes not followed by an answer (the tap
deleting notifications it showed, a recovery sweep) ask for a snapshot without waiting for it.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

from webhook_hub_cli.local_aws import ACCOUNT_ID

SERVICES = ("dynamodb", "s3", "sns", "sqs", "secretsmanager")
"""What the stack creates on the emulator (the secret holds the webhook token)."""
SNAPSHOT_NAME = "emulator.snapshot"
FORMAT = 1
STOP_CHECK_SECONDS = 1.0
RETRY_WRITE_SECONDS = 1.0
_DUMP_ATTEMPTS = 3

_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())


class SnapshotError(Exception):
    """A snapshot this moto cannot read (another moto version, or a damaged file)."""


class NotSaved(Exception):
    """The snapshot that should hold a change could not be written."""


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        """A lock is made anew when the snapshot is read: its state is meaningless in another process."""
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, _RLOCK):
            return threading.RLock, ()
        if isinstance(obj, _LOCK):
            return threading.Lock, ()
        return NotImplemented


def _backends(service: str) -> Any:
    from moto.backends import get_backend  # noqa: PLC0415 - moto is imported by the local runner only

    return get_backend(service)  # type: ignore[call-overload]


def dump() -> bytes:
    """Header line (format, moto version), then the pickled backends of this account, region by region."""
    regions: dict[str, dict[str, Any]] = {}
    for service in SERVICES:
        account = dict.get(_backends(service), ACCOUNT_ID)
        if account is not None:
            regions[service] = dict(dict.items(account))
    buffer = io.BytesIO()
    buffer.write(json.dumps({"format": FORMAT, "moto": version("moto")}).encode() + b"\n")
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(regions)
    return buffer.getvalue()


def restore(path: Path) -> bool:
    """Load the snapshot at ``path`` into moto's backends (before the emulator serves); ``False`` if none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return False
    header_line, _, body = data.partition(b"\n")
    try:
        header = json.loads(header_line)
    except ValueError as error:
        raise SnapshotError(f"{path} is not a webhook-hub snapshot") from error
    if header.get("format") != FORMAT or header.get("moto") != version("moto"):
        raise SnapshotError(
            f"{path} was written by moto {header.get('moto')} (format {header.get('format')}); "
            f"this is moto {version('moto')}"
        )
    try:
        regions = pickle.loads(body)  # noqa: S301 - the user's own file, written by this module
    except Exception as error:
        raise SnapshotError(f"{path} is damaged: {type(error).__name__}") from error
    for service, backends in regions.items():
        account = _backends(service)[ACCOUNT_ID]
        for region, backend in backends.items():
            dict.__setitem__(account, region, backend)
    return True


def write_atomically(path: Path, data: bytes) -> None:
    """The old file or the new one, whole, whatever happens during the write."""
    temporary = path.with_name(path.name + ".tmp")
    # Readable by the user only on POSIX (it holds the webhook token); O_BINARY: no newline translation on Windows.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    with os.fdopen(os.open(temporary, flags, 0o600), "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


class _Gate:
    """Many of our AWS calls at once, or one snapshot alone; a waiting snapshot goes before new calls."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._snapshotting = False
        self._waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            while self._snapshotting or self._waiting:
                self._condition.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._waiting += 1
            while self._snapshotting or self._active:
                self._condition.wait()
            self._waiting -= 1
            self._snapshotting = True
        try:
            yield
        finally:
            with self._condition:
                self._snapshotting = False
                self._condition.notify_all()


class Snapshots:
    """Group commit of the emulator's state to ``path`` (``None``: nothing is kept, commits return at once)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._gate = _Gate()
        self._condition = threading.Condition()
        self._requested = 0
        self._written = 0
        self._failed = 0
        """The last change number whose snapshot failed."""
        self._failure = ""
        self._stopped = False

    @contextmanager
    def changing(self) -> Iterator[None]:
        """Around our calls that change the emulator: a snapshot never sees one half done."""
        with self._gate.shared():
            yield

    def changed(self) -> int:
        """Ask for a snapshot of what has changed so far; returns the change number to wait for."""
        with self._condition:
            self._requested += 1
            self._condition.notify_all()
            return self._requested

    def commit(self) -> None:
        """Return once the changes made before this call are on disk; raise ``NotSaved`` if they cannot be."""
        if self.path is None:
            return
        target = self.changed()
        with self._condition:
            while self._written < target and not self._stopped:
                if self._failed >= target:
                    raise NotSaved(self._failure)
                self._condition.wait(timeout=STOP_CHECK_SECONDS)

    def run(self, stop: threading.Event) -> None:
        """The writer thread: one snapshot per batch of changes; a last one when ``stop`` is set."""
        if self.path is None:
            return
        while True:
            with self._condition:
                while self._written == self._requested and not stop.is_set():
                    self._condition.wait(timeout=STOP_CHECK_SECONDS)
                target = self._requested
                if stop.is_set() and self._written == target:
                    self._stopped = True
                    self._condition.notify_all()
                    return
            try:
                self.write()
            except OSError as error:
                with self._condition:
                    self._failed, self._failure = target, f"cannot write {self.path}: {error.strerror or error}"
                    self._condition.notify_all()
                if stop.wait(RETRY_WRITE_SECONDS) and self._written < target:
                    with self._condition:  # no last snapshot possible: let waiting answers go
                        self._stopped = True
                        self._condition.notify_all()
                    return
                continue
            with self._condition:
                self._written = target
                self._condition.notify_all()

    def write(self) -> None:
        assert self.path is not None
        for attempt in range(_DUMP_ATTEMPTS):
            try:
                with self._gate.exclusive():
                    data = dump()
            except RuntimeError:  # a client not behind the gate (the user's own) changed a dict mid-dump
                if attempt == _DUMP_ATTEMPTS - 1:
                    raise
                time.sleep(0.05)
                continue
            write_atomically(self.path, data)
            return
