"""``pmemsim``: create, inspect, reboot and break a simulated PMem platform.

pmemsim init --preset qemu              # state file named by PMEMSIM_STATE (or --state)
pmemsim init --sockets 2 --dimms-per-socket 6 --dimm-capacity 256 --generation 200
pmemsim show [--json]
pmemsim reboot [--fail-goal not-enough-resources]
pmemsim fault add --match "ndctl create-namespace" --error enospc [--nth 2] [--latency-ms 200]
pmemsim fault clear
pmemsim teardown                         # detach every loop device
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import loopdev, topology
from . import model as m
from .faults import ERRORS, add_fault


def state_path_from(args: argparse.Namespace) -> str:
    return args.state or m.state_path()


def cmd_init(args: argparse.Namespace) -> int:
    path = state_path_from(args)
    if os.path.exists(path) and not args.force:
        print(f"pmemsim: {path} exists; pass --force to replace it", file=sys.stderr)
        return 1
    if bool(args.blockdev_dir) != bool(args.backing_dir):
        print("pmemsim: --blockdev-dir and --backing-dir go together", file=sys.stderr)
        return 2
    try:
        state = topology.build_state(
            preset=args.preset,
            sockets=args.sockets,
            dimms_per_socket=args.dimms_per_socket,
            dimm_capacity=args.dimm_capacity,
            labels=not args.label_less,
            generation=args.generation,
            initial=args.initial,
            memory_mode_percent=args.memory_mode_percent,
        )
    except ValueError as exc:
        print(f"pmemsim: {exc}", file=sys.stderr)
        return 2
    if args.blockdev_dir:
        state["blockdev"] = {
            "dir": os.path.abspath(args.blockdev_dir),
            "backing_dir": os.path.abspath(args.backing_dir),
        }
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    if os.path.exists(path):
        with m.locked(path):
            old = m.load_state(path)
            loopdev.teardown(old)
            m.save_state(path, state)
    else:
        with m.locked(path):
            m.save_state(path, state)
    if state.get("blockdev"):
        with m.transaction(path) as txn:
            loopdev.reattach_all(txn.state)
            txn.touch()
    print(f"pmemsim: initialised {state['platform']['name']} in {path}")
    return 0


def summary(state: m.State) -> str:
    lines = []
    platform = state["platform"]
    kind = (
        f"Optane {platform['generation']} series" if platform.get("optane") else "no Optane (ipmctl unusable)"
    )
    lines.append(
        f"platform {platform['name']}: {kind}, {platform.get('sockets', 1)} socket(s), boots {state['boots']}"
    )
    for dimm in state["dimms"]:
        optane = dimm.get("optane")
        extra = ""
        if optane:
            extra = (
                f" {optane['dimm_id']} socket {dimm['socket']} memory {optane['memory_size'] // m.GIB} GiB"
                f" appdirect {optane['appdirect_size'] // m.GIB} GiB ({optane['ad_type'] or '-'})"
            )
        lines.append(
            f"  nmem{dimm['index']} {dimm['id']} capacity {dimm['capacity']} labels {dimm['labels']}"
            f"{' (label support)' if dimm['label_support'] else ' (no label support)'}{extra}"
        )
    for region in m.ordered_regions(state)[::-1]:
        state_word = "enabled" if region["enabled"] else "disabled"
        label = "labelled" if region["labelled"] else "label-less"
        lines.append(
            f"  region{region['id']} size {region['size']} available {m.available_size(region)}"
            f" max_extent {m.max_available_extent(region)} {label} {state_word}"
            f" resource {region['resource']:#x}"
        )
        for ns in sorted(region["namespaces"], key=lambda item: item["id"]):
            if ns["size"] == 0 and not ns["enabled"]:
                continue
            loop = f" loop {ns['loop']['device']}" if ns.get("loop") else ""
            lines.append(
                f"    namespace{region['id']}.{ns['id']} {ns['mode'] if ns['enabled'] else 'raw (disabled)'}"
                f" raw {ns['size']} usable {m.usable_size(ns)} offset {ns['offset']}"
                f" name {ns['name'] or '-'}{loop}"
            )
    for goal in state["goals"]:
        lines.append(
            f"  goal nmem{goal['dimm']} socket {goal['socket']} memory {goal['memory_size']}"
            f" appdirect {goal['appdirect_size']} {goal['type'] or '-'} status {goal['status']}"
        )
    if state.get("fail_next_goal"):
        lines.append(f"  next goal will fail: {state['fail_next_goal']}")
    for fault in state["faults"]:
        lines.append(f"  fault {json.dumps(fault, sort_keys=True)}")
    return "\n".join(lines) + "\n"


def cmd_show(args: argparse.Namespace) -> int:
    state = m.load_state(state_path_from(args))
    if args.json:
        print(json.dumps(state, indent=2, sort_keys=True))
    else:
        sys.stdout.write(summary(state))
    return 0


def reboot(state: m.State, fail: str | None = None) -> list[str]:
    """Power cycle: BIOS applies (or fails) goals, the kernel re-probes DIMMs and regions."""
    from .ndctl import rescan_region

    loopdev.teardown(state)
    failure = fail or state.get("fail_next_goal")
    status = topology.GOAL_FAILURES.get(failure, failure) if failure else None
    notes = topology.apply_goals(state, fail=status) if state.get("platform", {}).get("optane") else []
    state["fail_next_goal"] = None
    state["boots"] = state.get("boots", 0) + 1
    for dimm in state["dimms"]:
        dimm["labeling"] = dimm["labels"] == "valid"
    for region in state["regions"]:
        region["enabled"] = True
        region["rescan"] = False
        rescan_region(state, region)
        for ns in region["namespaces"]:
            if ns.get("dax"):
                ns["dax"].update(mode="devdax", online=False)
    loopdev.reattach_all(state)
    return notes


def cmd_reboot(args: argparse.Namespace) -> int:
    with m.transaction(state_path_from(args)) as txn:
        notes = reboot(txn.state, args.fail_goal)
        txn.touch()
    for note in notes:
        print(f"pmemsim: {note}")
    print("pmemsim: rebooted")
    return 0


def cmd_fail_goal(args: argparse.Namespace) -> int:
    with m.transaction(state_path_from(args)) as txn:
        txn.state["fail_next_goal"] = None if args.clear else args.status
        txn.touch()
    return 0


def cmd_fault(args: argparse.Namespace) -> int:
    with m.transaction(state_path_from(args)) as txn:
        if args.fault_command == "add":
            try:
                fault = add_fault(
                    txn.state,
                    error=args.error,
                    match=args.match,
                    nth=args.nth,
                    times=args.times,
                    latency_ms=args.latency_ms,
                )
            except ValueError as exc:
                print(f"pmemsim: {exc}", file=sys.stderr)
                return 2
            print(json.dumps(fault, sort_keys=True))
        elif args.fault_command == "clear":
            txn.state["faults"] = []
        else:
            for fault in txn.state["faults"]:
                print(json.dumps(fault, sort_keys=True))
            return 0
        txn.touch()
    return 0


HEALTH_STATES = (
    "Healthy",
    "Noncritical failure",
    "Critical failure",
    "Fatal failure",
    "Unmanageable",
    "Non-functional",
    "Unknown",
)
LOCK_STATES = ("Disabled", "Unlocked", "Locked", "Frozen", "Disabled, Frozen", "Not Supported", "Unknown")


def cmd_dimm(args: argparse.Namespace) -> int:
    """Change what a PMem module reports (health, lock state, temperature)."""
    with m.transaction(state_path_from(args)) as txn:
        wanted = args.dimm
        matches = [
            d
            for d in txn.state["dimms"]
            if d.get("optane") and wanted in (m.dimm_name(d), d["optane"]["dimm_id"], str(d["index"]))
        ]
        if not matches:
            print(
                f"pmemsim: dimm: no PMem module {wanted!r} (use nmemN or an ipmctl DimmID)", file=sys.stderr
            )
            return 2
        for dimm in matches:
            optane = dimm["optane"]
            if args.health:
                optane["health"] = args.health
            if args.lock_state:
                optane["lock_state"] = args.lock_state
            if args.temperature is not None:
                optane["media_temperature"] = args.temperature
        txn.touch()
    return 0


def cmd_teardown(args: argparse.Namespace) -> int:
    with m.transaction(state_path_from(args)) as txn:
        count = loopdev.teardown(txn.state)
        txn.touch()
    print(f"pmemsim: detached {count} loop device{'' if count == 1 else 's'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pmemsim", description="Simulated Optane PMem platform for ipmctl/ndctl/daxctl."
    )
    parser.add_argument("--state", help=f"state file (default: ${m.STATE_ENV})")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create a platform")
    init.add_argument("--preset", choices=topology.PRESETS)
    init.add_argument("--sockets", type=int, default=1)
    init.add_argument("--dimms-per-socket", type=int, default=6)
    init.add_argument("--dimm-capacity", type=int, default=128, choices=sorted(topology.MODULE_CAPACITY))
    init.add_argument("--generation", type=int, default=100, choices=sorted(topology.GENERATIONS))
    labels = init.add_mutually_exclusive_group()
    labels.add_argument(
        "--labels", dest="label_less", action="store_false", help="modules support labels (default)"
    )
    labels.add_argument("--label-less", dest="label_less", action="store_true")
    init.set_defaults(label_less=False)
    init.add_argument(
        "--initial",
        default="none",
        help="none (factory), appdirect, appdirect-not-interleaved, memorymode[:PERCENT]",
    )
    init.add_argument("--memory-mode-percent", type=int, default=0)
    init.add_argument("--blockdev-dir", help="expose namespaces as loop devices linked here (root)")
    init.add_argument("--backing-dir", help="sparse region backing files live here")
    init.add_argument("--force", action="store_true", help="replace an existing state file")
    init.set_defaults(func=cmd_init)

    show = sub.add_parser("show", help="print the platform")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    reboot_parser = sub.add_parser("reboot", help="apply goals, re-probe regions")
    reboot_parser.add_argument(
        "--fail-goal", choices=sorted(topology.GOAL_FAILURES), help="BIOS rejects pending goals"
    )
    reboot_parser.set_defaults(func=cmd_reboot)

    fail_goal = sub.add_parser("fail-goal", help="make the next reboot fail pending goals")
    fail_goal.add_argument(
        "status", nargs="?", choices=sorted(topology.GOAL_FAILURES), default="not-enough-resources"
    )
    fail_goal.add_argument("--clear", action="store_true")
    fail_goal.set_defaults(func=cmd_fail_goal)

    fault = sub.add_parser("fault", help="fault injection")
    fault_sub = fault.add_subparsers(dest="fault_command", required=True)
    add = fault_sub.add_parser("add")
    add.add_argument("--error", default="none", choices=ERRORS)
    add.add_argument("--match", help='substring of "tool args...", e.g. "ndctl create-namespace"')
    add.add_argument("--nth", type=int, help="fire on the Nth matching call (default: the next one)")
    add.add_argument("--times", type=int, default=1, help="how often it fires (0 = always)")
    add.add_argument("--latency-ms", type=int, default=0)
    fault_sub.add_parser("clear")
    fault_sub.add_parser("list")
    fault.set_defaults(func=cmd_fault)

    dimm = sub.add_parser("dimm", help="change a PMem module's health, lock state or temperature")
    dimm.add_argument("dimm", help="nmemN or an ipmctl DimmID such as 0x0001")
    dimm.add_argument("--health", choices=HEALTH_STATES)
    dimm.add_argument("--lock-state", choices=LOCK_STATES)
    dimm.add_argument("--temperature", type=int, help="media temperature in Celsius")
    dimm.set_defaults(func=cmd_dimm)

    teardown = sub.add_parser("teardown", help="detach all loop devices")
    teardown.set_defaults(func=cmd_teardown)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except m.StateError as exc:
        print(f"pmemsim: {exc}", file=sys.stderr)
        return 2
