"""`webhook-hub run` must work on Windows: no POSIX-only call anywhere on its path.

No Windows machine runs these tests, so the check is static: every first-party module the run path imports
(the command, and in each container the ingest and recovery functions with the hub library) is parsed and
searched for calls, names and imports that fail, or silently do something else, on Windows.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {"webhook_hub_cli": ROOT / "cli", "webhook_hub": ROOT / "layers" / "hub"}
FUNCTIONS = {"app": ROOT / "functions" / "ingest" / "app.py", "recover": ROOT / "functions" / "recover" / "recover.py"}
ENTRY = ("webhook_hub_cli.main", "webhook_hub_cli.run_cmd", "app", "recover")

POSIX_MODULES = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "syslog", "crypt", "readline"}
POSIX_ATTRIBUTES = {
    # os.kill on Windows terminates the process for any signal but CTRL_C/CTRL_BREAK_EVENT: even os.kill(pid, 0).
    "os": {"kill", "killpg", "fork", "forkpty", "getuid", "geteuid", "getgid", "getegid", "setsid", "setpgrp",
           "getpgid", "chown", "lchown", "mkfifo", "getloadavg", "sysconf", "nice", "wait3", "wait4", "WNOHANG"},
    "signal": {"SIGHUP", "SIGKILL", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD", "SIGPIPE", "SIGSTOP",
               "SIGCONT", "alarm", "setitimer", "pause", "pthread_kill", "siginterrupt"},
}  # fmt: skip
SILENT_ON_WINDOWS = {"chmod", "lchmod", "fchmod"}
"""No error, and no effect beyond the read-only flag: a file's privacy must not rest on them."""
POSIX_START_METHODS = {"fork", "forkserver"}


def _module_file(name: str) -> Path | None:
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    top = name.split(".", 1)[0]
    if top not in SOURCES:
        return None
    base = SOURCES[top].joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def run_path_modules() -> dict[str, Path]:
    """Every first-party module reachable by imports from the run command and the functions it hosts."""
    found: dict[str, Path] = {}
    pending = list(ENTRY)
    while pending:
        name = pending.pop()
        path = _module_file(name)
        if path is None or name in found:
            continue
        found[name] = path
        pending += _imported(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py")
        if "." in name:
            pending.append(name.rpartition(".")[0])  # a package's __init__ runs first
    return found


def posix_only_uses(source: str) -> list[str]:
    findings = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            findings += [f"{where}: import {m}" for m in modules if m.split(".")[0] in POSIX_MODULES]
            if isinstance(node, ast.ImportFrom) and node.module in POSIX_ATTRIBUTES:
                bad = POSIX_ATTRIBUTES[node.module] | SILENT_ON_WINDOWS
                findings += [f"{where}: from {node.module} import {a.name}" for a in node.names if a.name in bad]
        elif isinstance(node, ast.Attribute):
            owner = node.value.id if isinstance(node.value, ast.Name) else None
            if owner in POSIX_ATTRIBUTES and node.attr in POSIX_ATTRIBUTES[owner]:
                findings.append(f"{where}: {owner}.{node.attr}")
            elif node.attr in SILENT_ON_WINDOWS:
                findings.append(f"{where}: .{node.attr}() (no effect on Windows)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get_context":
            methods = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
            findings += [f"{where}: start method {m!r}" for m in methods if m in POSIX_START_METHODS]
    return findings


def test_the_scan_sees_the_whole_run_path() -> None:
    modules = run_path_modules()

    for expected in ("webhook_hub_cli.run_cmd", "webhook_hub_cli.local_state", "webhook_hub_cli.persistence",
                     "webhook_hub_cli.inspector", "webhook_hub_cli.send_cmd", "app", "recover",
                     "webhook_hub.ingest", "webhook_hub.aws.event_store"):  # fmt: skip
        assert expected in modules


def test_no_posix_only_call_on_the_run_path() -> None:
    findings = {
        name: found
        for name, path in sorted(run_path_modules().items())
        if (found := posix_only_uses(path.read_text(encoding="utf-8")))
    }

    assert findings == {}


def test_the_scan_finds_what_breaks_on_windows() -> None:
    """What local_state.py and a runner could have had; each line must be found."""
    source = "\n".join(
        [
            "import os, signal, fcntl",
            "os.kill(pid, 0)",
            "path.chmod(0o600)",
            "signal.signal(signal.SIGHUP, handler)",
            "from os import getuid",
            "multiprocessing.get_context('fork')",
        ]
    )

    found = posix_only_uses(source)

    assert {finding.split(": ", 1)[1] for finding in found} == {
        "import fcntl",
        "os.kill",
        ".chmod() (no effect on Windows)",
        "signal.SIGHUP",
        "from os import getuid",
        "start method 'fork'",
    }
