"""The time budget of one invocation: an AWS call is started only while its worst case still fits.

Lambda cuts a function off at its timeout with no answer the sender can act on; stopping early with a 503 (or,
in the sweep, leaving the rest for the next run) keeps every outcome one the sender and the sweep understand.
"""

from __future__ import annotations

from collections.abc import Callable

from webhook_hub.aws.clients import CALL_BUDGET_SECONDS

ANSWER_MARGIN_SECONDS = 1
"""Left over after the last call, to build and return the answer."""


class Budget:
    def __init__(self, remaining_ms: Callable[[], int] | None = None) -> None:
        """``remaining_ms`` is the Lambda context's ``get_remaining_time_in_millis``; ``None`` means unbounded."""
        self._remaining_ms = remaining_ms

    def allows(self, calls: int = 1) -> bool:
        """Whether ``calls`` more AWS calls can run to their worst case and still leave time to answer."""
        if self._remaining_ms is None:
            return True
        return self._remaining_ms() >= (calls * CALL_BUDGET_SECONDS + ANSWER_MARGIN_SECONDS) * 1_000
