"""In-process runner: the library's CommandRunner protocol served by the simulator.

``SimRunner(state_path).run(["ndctl", "list", "-RDN", "-iv"])`` behaves like
running the console script (same stdout, stderr, exit status, faults and
locking) without starting a process, so fleet tests make thousands of calls
cheaply.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .dispatch import TOOLS, run_tool


def _library_command_result() -> Any:
    """CommandResult from plugins/module_utils/runner.py when the library is importable."""
    for name, module in list(sys.modules.items()):
        if name.endswith("module_utils.runner") and hasattr(module, "CommandResult"):
            return module.CommandResult
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(os.path.dirname(here)), "plugins", "module_utils", "runner.py")
    if os.path.exists(path):
        import importlib.util

        spec = importlib.util.spec_from_file_location("pmem_sim._library_runner", path)
        if spec and spec.loader:
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception:  # the library is being edited; fall back to our own type
                return None
            return getattr(module, "CommandResult", None)
    return None


@dataclass(frozen=True)
class SimCommandResult:
    """Same fields as the library's CommandResult (used when that one cannot be imported)."""

    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class SimRunner:
    """Runs ipmctl/ndctl/daxctl argv lists against a simulator state file, in process."""

    def __init__(self, state_path: str | os.PathLike[str], result_type: Any = None) -> None:
        self.state_path = os.fspath(state_path)
        self.result_type = result_type or _library_command_result() or SimCommandResult
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> Any:
        argv = tuple(str(arg) for arg in argv)
        self.calls.append(argv)
        tool = os.path.basename(argv[0]) if argv else ""
        if tool not in TOOLS:
            return self.result_type(argv=argv, rc=127, stdout="", stderr=f"{tool}: command not found\n")
        rc, stdout, stderr = run_tool(tool, list(argv[1:]), state_path=self.state_path, stdin=stdin or "")
        return self.result_type(argv=argv, rc=rc, stdout=stdout, stderr=stderr)
