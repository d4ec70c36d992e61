"""SubprocessRunner: the driver's CommandRunner (the library itself never starts processes).

argv lists only, never a shell; C locale; a timeout on every call.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from . import pmemlib

CommandResult = pmemlib.runner.CommandResult

DEFAULT_TIMEOUT_SECONDS = 120.0


class SubprocessRunner:
    """Runs one tool call; rc != 0 is returned, not raised."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, env: Mapping[str, str] | None = None):
        self.timeout = timeout
        base = dict(os.environ if env is None else env)
        base.update(pmemlib.runner.TOOL_ENV)
        self._env = base

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> CommandResult:
        if isinstance(argv, str | bytes) or not argv:
            raise TypeError("argv must be a non-empty list of arguments, never a command string")
        args = [str(a) for a in argv]
        try:
            done = subprocess.run(
                args,
                input=stdin,
                capture_output=True,
                text=True,
                env=self._env,
                timeout=self.timeout,
                check=False,
                shell=False,
                stdin=None if stdin is not None else subprocess.DEVNULL,
                errors="replace",
            )
        except FileNotFoundError as exc:
            raise pmemlib.errors.ToolMissing(f"{args[0]} is not installed or not on PATH", argv=args) from exc
        except PermissionError as exc:
            raise pmemlib.errors.ToolMissing(
                f"{args[0]} cannot be executed: {exc.strerror}", argv=args
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise pmemlib.errors.ToolFailed(
                f"{args[0]} did not finish within {self.timeout:g} s", argv=args, rc=-1
            ) from exc
        return CommandResult(argv=tuple(args), rc=done.returncode, stdout=done.stdout, stderr=done.stderr)


class CountingRunner:
    """Counts calls per tool (benchmarks and tests) around another runner."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> CommandResult:
        self.calls.append(tuple(argv))
        return self.inner.run(argv, stdin=stdin)

    def reset(self) -> None:
        self.calls.clear()
