#!/usr/bin/env python3
"""Build a simulated PMem fleet: one simulator state per host plus an inventory.

Every host gets its own state file (``PMEMSIM_STATE``) initialised with
``pmemsim init`` in factory condition (no goal, no regions), and inventory
variables that run it over a local connection with the simulator's tools on
PATH. The demo, the benchmark and the tests use it; the roles and playbooks
never know they talk to a simulator.

    python scripts/simfleet.py --dir /tmp/fleet --hosts 10
    ansible-playbook -i /tmp/fleet/inventory.yml pmem.optane.provision
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Topology:
    """A simulated platform: what ``pmemsim init`` gets and what the host declares."""

    name: str
    init_args: tuple[str, ...]
    sockets: int
    layout: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    label_less: bool = False


def _layout_for(sockets: int) -> tuple[dict[str, Any], ...]:
    """Per socket: a 16 GiB fsdax namespace, half the rest devdax, then what remains."""
    entries: list[dict[str, Any]] = []
    for node in range(sockets):
        entries += [
            {"name": f"db{node}", "numa_node": node, "mode": "fsdax", "size": "16G"},
            {"name": f"cache{node}", "numa_node": node, "mode": "devdax", "align": "2M", "size": "50%"},
            {"name": f"scratch{node}", "numa_node": node, "mode": "fsdax", "size": "remaining"},
        ]
    return tuple(entries)


def _optane(sockets: int) -> Topology:
    args = ("--sockets", str(sockets), "--dimms-per-socket", "2", "--dimm-capacity", "128")
    return Topology(f"{sockets}s", args, sockets, _layout_for(sockets))


# A QEMU-like guest: NVDIMMs that ndctl sees, no Optane modules for ipmctl.
NVDIMM = Topology(
    "nvdimm",
    ("--preset", "qemu"),
    1,
    (
        {"name": "db0", "region": "region0", "mode": "fsdax", "size": "1G"},
        {"name": "scratch0", "region": "region1", "mode": "devdax", "align": "2M", "size": "remaining"},
    ),
    label_less=True,
)

TOPOLOGIES: dict[str, Topology] = {"1s": _optane(1), "2s": _optane(2), "nvdimm": NVDIMM}


@dataclass
class Host:
    name: str
    topology: Topology
    state: Path
    fail_goal: bool = False


def tool_dir() -> Path:
    """Directory holding pmemsim, ndctl, ipmctl and daxctl (the simulator's console scripts)."""
    found = shutil.which("pmemsim")
    if found:
        return Path(found).resolve().parent
    candidate = Path(sys.executable).parent
    if (candidate / "pmemsim").exists():
        return candidate
    raise SystemExit("pmemsim not found: install the simulator (make venv) or put .venv/bin on PATH")


def plan_hosts(directory: Path, count: int, topologies: list[str], fail_goal: set[int]) -> list[Host]:
    hosts = []
    width = max(3, len(str(count)))
    for index in range(count):
        topology = TOPOLOGIES[topologies[index % len(topologies)]]
        name = f"sim-{index + 1:0{width}d}"
        hosts.append(Host(name, topology, directory / "states" / f"{name}.json", index + 1 in fail_goal))
    return hosts


def init_state(host: Host, tools: Path) -> None:
    host.state.parent.mkdir(parents=True, exist_ok=True)
    host.state.unlink(missing_ok=True)
    env = dict(os.environ, PMEMSIM_STATE=str(host.state))
    commands = [[str(tools / "pmemsim"), "init", *host.topology.init_args]]
    if host.fail_goal:
        # The simulated BIOS rejects the next goal at the reboot, as real ones do.
        commands.append([str(tools / "pmemsim"), "fail-goal", "bad-request"])
    for argv in commands:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=60)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")


def inventory(hosts: list[Host], tools: Path) -> dict[str, Any]:
    path = os.pathsep.join(
        [str(tools), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
    )
    host_vars: dict[str, Any] = {}
    for host in hosts:
        reboot = [str(tools / "pmemsim"), "reboot"]
        host_vars[host.name] = {
            "pmem_environment": {
                "PMEMSIM_STATE": str(host.state),
                # One host lock per simulated host, as on real machines.
                "PMEM_OPTANE_LOCK": str(host.state.with_suffix(".lock")),
                "PATH": path,
            },
            "pmemsim_topology": host.topology.name,
            "appdirect_reboot_command": reboot,
            "namespaces_layout": list(host.topology.layout),
        }
        if host.topology.label_less:
            # Fresh QEMU NVDIMMs are label-less: naming a namespace means
            # initialising the labels, which discards the raw namespace.
            host_vars[host.name]["namespaces_allow_data_loss"] = True
    return {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                # A simulated "reboot" is `pmemsim reboot`: safe to allow.
                "appdirect_allow_reboot": True,
                # No block devices without the simulator's loop-device backing.
                "namespaces_filesystems": False,
            },
            "hosts": host_vars,
        }
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", required=True, type=Path, help="directory for states/ and inventory.yml")
    parser.add_argument("--hosts", type=int, default=4, help="number of simulated hosts (1-1000)")
    parser.add_argument(
        "--topologies",
        default="1s,2s",
        help=f"comma-separated, cycled over the hosts: {', '.join(TOPOLOGIES)}",
    )
    parser.add_argument(
        "--fail-goal", default="", help="comma-separated host numbers (1-based) whose BIOS fails the goal"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.hosts <= 1000:
        parser.error("--hosts: must be between 1 and 1000")
    topologies = [t.strip() for t in args.topologies.split(",") if t.strip()]
    unknown = [t for t in topologies if t not in TOPOLOGIES]
    if unknown or not topologies:
        parser.error(
            f"--topologies: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(TOPOLOGIES)}"
        )
    try:
        fail_goal = {int(n) for n in args.fail_goal.split(",") if n.strip()}
    except ValueError:
        parser.error("--fail-goal: host numbers must be integers")
    tools = tool_dir()
    directory: Path = args.dir.resolve()
    hosts = plan_hosts(directory, args.hosts, topologies, fail_goal)
    for host in hosts:
        init_state(host, tools)
    # JSON is valid YAML: ansible-inventory reads it as inventory.yml.
    (directory / "inventory.yml").write_text(json.dumps(inventory(hosts, tools), indent=2) + "\n")
    print(f"{len(hosts)} simulated hosts in {directory / 'inventory.yml'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
