"""``python -m pmem_sim.demo``: provision a small simulated fleet through the PMem library.

Three hosts (a 1-socket and a 2-socket Optane server, and a QEMU guest like the
reference lab's) get an App Direct goal where ipmctl can manage modules, a
reboot, and a few namespaces, all through plugins/module_utils (ipmctl.py,
ndctl.py, planner.py, apply.py) with the in-process simulator runner. Then
each host's DIMMs, regions and namespaces are printed as tables.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from types import ModuleType
from typing import Any

from .runner import SimRunner
from .testing import make_state, reboot

GIB = 1024**3
LIBRARY_PACKAGE = "pmem_optane_library"

FLEET = [
    {
        "host": "optane-1s",
        "topology": {
            "preset": None,
            "sockets": 1,
            "dimms_per_socket": 6,
            "dimm_capacity": 128,
            "generation": 100,
        },
        "namespaces": [
            {"name": "db", "mode": "fsdax", "size": "50%"},
            {"name": "cache", "mode": "devdax", "size": "96G"},
        ],
    },
    {
        "host": "optane-2s",
        "topology": {
            "preset": None,
            "sockets": 2,
            "dimms_per_socket": 4,
            "dimm_capacity": 256,
            "generation": 200,
        },
        "namespaces": [
            {"name": "data0", "mode": "fsdax", "size": "400G", "region": "region0"},
            {"name": "data1", "mode": "fsdax", "size": "400G", "region": "region1"},
            {"name": "journal", "mode": "sector", "size": "16G", "region": "region1"},
        ],
    },
    {
        "host": "qemu-guest",
        "topology": {"preset": "qemu"},
        "namespaces": [
            {"name": "vol1", "mode": "fsdax", "size": "1G", "region": "region0"},
            {"name": "vol2", "mode": "devdax", "size": "512M", "region": "region0"},
            {"name": "whole1", "mode": "fsdax", "region": "region1"},
        ],
    },
]


def repo_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(here))


def load_library(root: str | None = None) -> ModuleType:
    """plugins/module_utils as a package of its own (its files import each other relatively)."""
    if LIBRARY_PACKAGE in sys.modules:
        return sys.modules[LIBRARY_PACKAGE]
    directory = os.path.join(root or repo_root(), "plugins", "module_utils")
    init = os.path.join(directory, "__init__.py")
    if not os.path.exists(init):
        raise SystemExit(f"pmem_sim.demo: the PMem library is missing ({directory})")
    spec = importlib.util.spec_from_file_location(
        LIBRARY_PACKAGE, init, submodule_search_locations=[directory]
    )
    assert spec and spec.loader
    package = importlib.util.module_from_spec(spec)
    sys.modules[LIBRARY_PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def lib(name: str) -> Any:
    load_library()
    return importlib.import_module(f"{LIBRARY_PACKAGE}.{name}")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
    line = "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * width for width in widths)]
    out.extend(
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)) for row in cells
    )
    return "\n".join(out)


def gib(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / GIB:.2f} GiB"


def provision(host: dict[str, Any], workdir: str) -> dict[str, Any]:
    ipmctl_mod, ndctl_mod = lib("ipmctl"), lib("ndctl")
    planner, apply = lib("planner"), lib("apply")
    path = make_state(workdir, name=f"{host['host']}.json", **host["topology"])
    runner = SimRunner(path)
    ipmctl = ipmctl_mod.Ipmctl(runner)
    ndctl = ndctl_mod.Ndctl(runner)
    steps = []
    platform = ipmctl.platform()
    modules = []
    if platform.optane_present:
        modules = ipmctl.show_dimm()
        plan = planner.plan_goal(
            planner.DesiredGoal(persistent_memory_type="AppDirect"),
            modules,
            ipmctl.show_region(),
            ipmctl.show_goal(),
        )
        apply.apply_plan(plan, ndctl, ipmctl)
        steps.append(f"goal: {len(plan)} action(s) ({', '.join(a.kind for a in plan) or 'none'})")
        reboot(path)
        steps.append("reboot: BIOS applied the goal")
        modules = ipmctl.show_dimm()
    else:
        steps.append(f"ipmctl: {platform.reason}")
    desired = [planner.DesiredNamespace.from_dict(spec) for spec in host["namespaces"]]
    plan = planner.plan_namespaces(desired, ndctl.inventory(), allow_data_loss=True)
    apply.apply_plan(plan, ndctl, ipmctl, allow_data_loss=True)
    steps.append(f"namespaces: {len(plan)} action(s) ({', '.join(a.kind for a in plan)})")
    again = planner.plan_namespaces(desired, ndctl.inventory(), allow_data_loss=True)
    steps.append(f"second pass plans {len(again)} action(s)")
    inventory = ndctl.inventory()
    return {
        "host": host["host"],
        "steps": steps,
        "modules": modules,
        "inventory": inventory,
        "calls": len(runner.calls),
    }


def report(result: dict[str, Any]) -> str:
    inventory = result["inventory"]
    lines = [f"== {result['host']} ({result['calls']} simulated tool calls)"]
    lines.extend(f"   {step}" for step in result["steps"])
    by_dimm = {m.dimm_id: m for m in result["modules"]}
    dimm_rows = []
    for dimm in sorted(inventory.dimms, key=lambda d: d.dev):
        module = by_dimm.get(f"0x{dimm.handle:04x}") if dimm.handle is not None else None
        dimm_rows.append(
            [
                dimm.dev,
                dimm.id,
                f"0x{dimm.handle:04x}" if dimm.handle is not None else "-",
                gib(module.capacity) if module else "-",
                gib(module.app_direct_capacity) if module else "-",
                module.health_state if module else "-",
            ]
        )
    lines.append("DIMMs")
    lines.append(table(["dev", "id", "handle", "capacity", "app direct", "health"], dimm_rows))
    region_rows = [
        [
            region.dev,
            gib(region.size),
            gib(region.available_size),
            len(region.mappings),
            "label-less" if region.iset_id is None else f"{region.iset_id:#018x}",
            region.persistence_domain,
        ]
        for region in sorted(inventory.regions, key=lambda r: r.dev)
    ]
    lines.append("Regions")
    lines.append(table(["dev", "size", "available", "ways", "iset_id", "persistence"], region_rows))
    ns_rows = [
        [ns.dev, ns.name or "-", ns.mode, gib(ns.size), ns.blockdev or ns.chardev or "-", ns.region]
        for ns in sorted(inventory.namespaces(), key=lambda n: n.dev)
    ]
    lines.append("Namespaces")
    lines.append(
        table(["dev", "name", "mode", "usable", "device", "region"], ns_rows) if ns_rows else "(none)"
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="pmem-fleet-") as workdir:
        print(f"simulated fleet of {len(FLEET)} hosts (state files in {workdir})\n")
        for host in FLEET:
            print(report(provision(host, workdir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
