"""The ``webhook-hub`` command: one subcommand per module, each registering itself on the parser."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import (
    destinations_cmd,
    docs_cmd,
    events_cmd,
    inspect_cmd,
    instances_cmd,
    message_cmd,
    replay_cmd,
    run_cmd,
    send_cmd,
    show_cmd,
)

COMMANDS = (
    run_cmd,
    send_cmd,
    events_cmd,
    show_cmd,
    message_cmd,
    replay_cmd,
    instances_cmd,
    destinations_cmd,
    inspect_cmd,
    docs_cmd,
)
"""Each module exposes ``register(subparsers)``, which adds its parser and sets ``func(args) -> exit code``."""


class _OneLinePerCommand(argparse.HelpFormatter):
    """argparse measures command names one indent short, and puts the help of a name over 8 letters on the next
    line; measured with the indent they are shown with, every command's help stays on its own line."""

    def add_argument(self, action: argparse.Action) -> None:
        if not isinstance(action, argparse._SubParsersAction):
            super().add_argument(action)
            return
        self._indent()
        super().add_argument(action)
        self._dedent()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webhook-hub",
        formatter_class=_OneLinePerCommand,
        description="Webhook Hub: receive ApiEuAtendo / Evolution API webhooks, classify them, fan them out.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (the console script exits with it)."""
    args = build_parser().parse_args(argv)
    exit_code: int = args.func(args)
    return exit_code
