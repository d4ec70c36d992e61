"""One simulated tool call: lock the state, apply faults and latency, run the tool, save.

Used by the console scripts (``entry.py``) and by the in-process ``SimRunner``.
Imports stay light: a simulated ``ndctl list`` must start and finish in well
under 50 ms.
"""

from __future__ import annotations

import sys

from . import model as m
from . import readcache
from .result import Output

TOOLS = ("ndctl", "daxctl", "ipmctl")
RC_STATE_ERROR = 2


def _execute(tool: str, state: m.State, args: list[str], tty: bool, stdin) -> tuple[Output, bool]:
    if tool == "ndctl":
        from . import ndctl

        return ndctl.execute(state, args, tty=tty)
    if tool == "daxctl":
        from . import daxctl

        return daxctl.execute(state, args)
    from . import ipmctl

    return ipmctl.execute(state, args, stdin=stdin)


def run_tool(
    tool: str,
    args: list[str],
    *,
    state_path: str | None = None,
    tty: bool = False,
    stdin=None,
) -> tuple[int, str, str]:
    """Run ``tool args...`` against the state file; returns (rc, stdout, stderr)."""
    try:
        path = state_path or m.state_path()
        latency = 0
        with m.transaction(path) as txn:
            state = txn.state
            fault = None
            if state["faults"]:
                from . import faults

                fault = faults.select(state, tool, args)
                txn.touch()
            state["calls"] = state.get("calls", 0) + 1 if state["faults"] or fault else state.get("calls", 0)
            if fault is not None:
                latency = fault["latency_ms"]
            if fault is not None and fault["error"] != "none":
                from . import faults

                out = faults.fault_output(state, tool, args, fault["error"])
                changed = False
            else:
                out, changed = _execute(tool, state, args, tty, stdin)
                if changed:
                    txn.touch()
            stdout, stderr = out.text()
            # A clean read's answer is kept for the launchers (readcache.py), under the lock.
            if not changed and out.rc == 0 and not stderr and not tty and not state["faults"]:
                readcache.remember(txn.path, txn.key, tool, args, stdout)
        if latency:
            m.sleep_ms(latency)
    except m.StateError as exc:
        return RC_STATE_ERROR, "", f"{tool} (pmem-sim): {exc}\n"
    return out.rc, stdout, stderr


def _read_line() -> str:
    try:
        return sys.stdin.readline()
    except (OSError, ValueError):
        return ""


def main(tool: str, argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # ipmctl's prompt reads one line only when it asks; a callable defers the read.
    rc, stdout, stderr = run_tool(tool, args, tty=sys.stdout.isatty(), stdin=_read_line)
    if stdout:
        sys.stdout.write(stdout)
        sys.stdout.flush()
    if stderr:
        sys.stderr.write(stderr)
        sys.stderr.flush()
    return rc
