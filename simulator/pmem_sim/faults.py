"""Fault injection: fail the Nth call or a matching command with a real tool error, add latency.

A fault is stored in the state file::

    {"id": 1, "match": "ndctl create-namespace", "nth": 2, "error": "enospc",
     "latency_ms": 0, "times": 1, "seen": 0}

Each tool call that matches (``match`` is a substring of "tool arg arg ..."; no
match means every call) counts as seen; the fault fires on the ``nth`` matching
call (every matching call when unset), up to ``times`` times (unlimited when 0).
The error output is what the real tool prints for that failure in that command.
"""

from __future__ import annotations

from typing import Any

from . import model as m
from .result import EBUSY, EINVAL, ENODEV, ENOSPC, ENXIO, STRERROR, Output, exit_code

ERRNO_BY_NAME = {"enospc": ENOSPC, "ebusy": EBUSY, "enxio": ENXIO, "einval": EINVAL, "enodev": ENODEV}
ERRORS = (
    "enospc",
    "ebusy",
    "enxio",
    "einval",
    "enodev",
    "misaligned",
    "no-modules",
    "goal-exists",
    "namespaces-exist",
    "none",
)


def add_fault(
    state: m.State,
    *,
    error: str,
    match: str | None = None,
    nth: int | None = None,
    times: int = 1,
    latency_ms: int = 0,
) -> dict[str, Any]:
    if error not in ERRORS:
        raise ValueError(f"error must be one of {', '.join(ERRORS)}, got {error!r}")
    if nth is not None and nth < 1:
        raise ValueError(f"--nth must be 1 or more, got {nth}")
    if times < 0:
        raise ValueError(f"--times must be 0 (always) or more, got {times}")
    if latency_ms < 0:
        raise ValueError(f"--latency-ms must be 0 or more, got {latency_ms}")
    fault = {
        "id": max((f["id"] for f in state["faults"]), default=0) + 1,
        "match": match,
        "nth": nth,
        "error": error,
        "latency_ms": latency_ms,
        "times": times,
        "seen": 0,
        "fired": 0,
    }
    state["faults"].append(fault)
    return fault


def select(state: m.State, tool: str, args: list[str]) -> dict[str, Any] | None:
    """Count this call against every matching fault; return the first that fires (and consume it)."""
    command_line = " ".join([tool, *args])
    firing = None
    for fault in list(state["faults"]):
        if fault["match"] and fault["match"] not in command_line:
            continue
        fault["seen"] += 1
        if fault["nth"] is not None and fault["seen"] != fault["nth"]:
            continue
        if firing is None:
            firing = dict(fault)
            fault["fired"] += 1
            if fault["times"] and fault["fired"] >= fault["times"]:
                state["faults"].remove(fault)
    return firing


def _option(args: list[str], short: str, long: str) -> str | None:
    for index, arg in enumerate(args):
        if arg in (short, long) and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(long + "="):
            return arg.split("=", 1)[1]
        if short and arg.startswith(short) and len(arg) > 2 and not arg.startswith("--"):
            return arg[2:]
    return None


def _seed_name(state: m.State, args: list[str]) -> str:
    region_filter = _option(args, "-r", "--region")
    for region in m.ordered_regions(state):
        if region_filter in (None, "all", m.region_name(region), str(region["id"])):
            return f"namespace{region['id']}.{region.get('ns_seed', 0)}"
    return "namespace0.0"


def fault_output(state: m.State, tool: str, args: list[str], error: str) -> Output:
    out = Output()
    command = args[0] if args else ""
    rest = args[1:]
    errno_value = ERRNO_BY_NAME.get(error, EINVAL)
    if tool == "ipmctl":
        return _ipmctl_fault(args, error)
    if tool == "ndctl" and command == "create-namespace":
        reconfig = _option(rest, "-e", "--reconfig")
        verb = "reconfigure" if reconfig else "create"
        if error == "misaligned":
            target = reconfig or _seed_name(state, rest)
            out.error(f"{target} misaligned to 16M, adjust region alignment and retry\n")
            errno_value = EINVAL
        elif error == "ebusy" and reconfig:
            out.error(f"{reconfig} is active, specify --force for re-configuration\n")
        out.err(f"failed to {verb} namespace: {STRERROR[errno_value]}\n")
        out.rc = exit_code(-errno_value) if reconfig else exit_code(-ENODEV)
        return out
    if tool == "ndctl" and command in ("destroy-namespace", "disable-namespace", "enable-namespace"):
        action = command.split("-")[0]
        target = next((arg for arg in rest if not arg.startswith("-")), "namespace0.0")
        if error == "ebusy":
            if action == "destroy" and "-f" not in rest and "--force" not in rest:
                out.error(f"{target} is active, specify --force for re-configuration\n")
            else:
                out.err(
                    f"libndctl: ndctl_namespace_disable_safe: {target}: "
                    f"pmem{target[len('namespace') :].replace('.0', '')} failed exclusive open: "
                    f"{STRERROR[EBUSY]}\n"
                )
        gerund = {"destroy": "destroying", "disable": "disabling", "enable": "enabling"}[action]
        past = {"destroy": "destroyed", "disable": "disabled", "enable": "enabled"}[action]
        out.err(f"error {gerund} namespaces: {STRERROR[errno_value]}\n")
        out.err(f"{past} 0 namespaces\n")
        out.rc = exit_code(-errno_value)
        return out
    if tool == "ndctl" and command in ("init-labels", "zero-labels"):
        target = next((arg for arg in rest if not arg.startswith("-")), "nmem0")
        if error == "ebusy":
            out.err(f"{target}: regions active, abort label write\n")
        out.err(f"{'initialized' if command == 'init-labels' else 'zeroed'} 0 nmem\n")
        out.rc = 1
        return out
    if tool == "ndctl" and command in ("enable-region", "disable-region"):
        action = command.split("-")[0]
        out.err(f"error {action}ing regions: {STRERROR[errno_value]}\n")
        out.err(f"{action}d 0 regions\n")
        out.rc = exit_code(-errno_value)
        return out
    if tool == "daxctl" and command == "reconfigure-device":
        out.err(f"error reconfiguring devices: {STRERROR[errno_value]}\n")
        out.err("reconfigured 0 devices\n")
        out.rc = exit_code(-errno_value)
        return out
    # list and anything else: the tool could not talk to the kernel
    out.err(f"{tool}: {command or tool}: {STRERROR[errno_value]}\n")
    out.rc = exit_code(-errno_value)
    return out


def _ipmctl_fault(args: list[str], error: str) -> Output:
    out = Output()
    xml = "nvmxml" in args
    if error == "no-modules":
        out.out("Initialization failed. No PMem modules in the system.\n")
        out.rc = 1
        return out
    if error == "goal-exists":
        message = (
            "Create region configuration goal failed: Error 115 - PMem modules on one or more sockets "
            "already have a configured goal. Delete this existing goal before creating a new one."
        )
    elif error == "namespaces-exist":
        message = (
            "Create region configuration goal failed: Error 124 - "
            "Namespaces exist on specified PMem modules. "
            "They have to be removed before running this command.\n"
            "WARNING: Removing Namespaces will erase existing data. Please make a backup first."
        )
    else:
        message = "Error: The specified device is not manageable by the driver."
    if xml:
        out.out(f'<?xml version="1.0"?>\n<Error Type = "1">\n{message}\n</Error>\n')
    else:
        out.out(message + "\n")
    out.rc = 1
    return out
