"""SQS for forwarding: the FIFO queue of tasks (one per event and destination) and the queue of parked tasks.

A task is small (ids and the time of its first attempt): the body is read from the events table when it is sent,
so a task never nears SQS's size limit and never holds a payload.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

SQS_BATCH = 10


@dataclass(frozen=True, slots=True)
class Task:
    destination_id: str
    event_id: str
    group: str
    """The FIFO message group (destination and chat)."""
    first_attempt_at: float
    """Epoch seconds when the task was queued; the retry window counts from here."""

    def json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, text: str) -> Task:
        value = json.loads(text)
        return cls(
            str(value["destination_id"]), str(value["event_id"]), str(value["group"]), float(value["first_attempt_at"])
        )


@dataclass(frozen=True, slots=True)
class Parked:
    task: Task
    reason: str
    attempts: int
    parked_at: float
    receipt: str = ""
    """Set when read from the queue: what deletes it."""


class TaskQueue:
    def __init__(self, client: SQSClient, tasks_url: str, parked_url: str) -> None:
        self._client = client
        self._tasks = tasks_url
        self._parked = parked_url

    def send(self, tasks: Sequence[tuple[Task, str]]) -> list[Task]:
        """Queue ``(task, deduplication id)`` pairs in order; returns the tasks SQS did not take."""
        failed: list[Task] = []
        for start in range(0, len(tasks), SQS_BATCH):
            chunk = tasks[start : start + SQS_BATCH]
            answer = self._client.send_message_batch(
                QueueUrl=self._tasks,
                Entries=[
                    {
                        "Id": str(index),
                        "MessageBody": task.json(),
                        "MessageGroupId": task.group,
                        "MessageDeduplicationId": dedup,
                    }
                    for index, (task, dedup) in enumerate(chunk)
                ],
            )
            failed += [chunk[int(entry["Id"])][0] for entry in answer.get("Failed", [])]
        return failed

    def delay(self, receipt: str, seconds: int) -> None:
        """The retry: the task comes back after ``seconds``; its group waits behind it meanwhile."""
        self._client.change_message_visibility(QueueUrl=self._tasks, ReceiptHandle=receipt, VisibilityTimeout=seconds)

    def release(self, receipts: Sequence[str]) -> None:
        """Tasks not tried in this batch (behind a failed one of their group): back at once, in their order."""
        for start in range(0, len(receipts), SQS_BATCH):
            self._client.change_message_visibility_batch(
                QueueUrl=self._tasks,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": receipt, "VisibilityTimeout": 0}
                    for index, receipt in enumerate(receipts[start : start + SQS_BATCH])
                ],
            )

    def park(self, parked: Parked) -> None:
        body = {**asdict(parked.task), "reason": parked.reason, "attempts": parked.attempts}
        body["parked_at"] = parked.parked_at
        self._client.send_message(QueueUrl=self._parked, MessageBody=json.dumps(body, separators=(",", ":")))

    def read_parked(self, hold_seconds: int = 30) -> list[Parked]:
        """Every parked task, each hidden for ``hold_seconds`` so one pass sees each once."""
        found: list[Parked] = []
        while True:
            batch = self._client.receive_message(
                QueueUrl=self._parked, MaxNumberOfMessages=SQS_BATCH, VisibilityTimeout=hold_seconds
            ).get("Messages", [])
            if not batch:
                return found
            for message in batch:
                value: dict[str, Any] = json.loads(message["Body"])
                found.append(
                    Parked(
                        Task.parse(message["Body"]),
                        str(value.get("reason", "")),
                        int(value.get("attempts", 0)),
                        float(value.get("parked_at", 0)),
                        message["ReceiptHandle"],
                    )
                )

    def show_parked(self, parked: Sequence[Parked]) -> None:
        """End the hold of parked tasks read but left parked, so the next reader sees them at once."""
        for start in range(0, len(parked), SQS_BATCH):
            self._client.change_message_visibility_batch(
                QueueUrl=self._parked,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": p.receipt, "VisibilityTimeout": 0}
                    for n, p in enumerate(parked[start : start + SQS_BATCH])
                ],
            )

    def unpark(self, parked: Sequence[Parked]) -> None:
        """Delete parked tasks that were queued again; the ones not given reappear after their hold."""
        for start in range(0, len(parked), SQS_BATCH):
            self._client.delete_message_batch(
                QueueUrl=self._parked,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": p.receipt} for n, p in enumerate(parked[start : start + SQS_BATCH])
                ],
            )
