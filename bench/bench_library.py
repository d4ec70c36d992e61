"""Library benchmark: parse, plan and tool-call costs, printed as figures (no assertions).

Run: .venv/bin/python bench/bench_library.py
"""

import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from plugins.module_utils.ndctl import Ndctl, inventory_from_list, parse_list_output  # noqa: E402
from plugins.module_utils.planner import DesiredNamespace, plan_namespaces  # noqa: E402
from plugins.module_utils.runner import RecordingRunner  # noqa: E402
from plugins.module_utils.sizes import GIB, request_for, usable_size  # noqa: E402


def big_listing(regions=12, namespaces_per_region=8):
    """ndctl list -RDN -iv JSON of a 2-socket x 6-module AppDirectNotInterleaved host."""
    out = {"dimms": [], "regions": []}
    for r in range(regions):
        out["dimms"].append({"dev": f"nmem{r}", "id": f"8089-a2-1837-{r:08x}", "handle": r, "phys_id": r})
        nss = []
        for n in range(namespaces_per_region):
            nss.append(
                {
                    "dev": f"namespace{r}.{n}",
                    "mode": "fsdax",
                    "map": "dev",
                    "size": 4225761280,
                    "uuid": f"00000000-0000-0000-0000-{r * 100 + n:012d}",
                    "sector_size": 512,
                    "align": 2097152,
                    "blockdev": f"pmem{r}.{n}",
                    "name": f"vol-{r}-{n}",
                    "numa_node": r // 6,
                    "target_node": r // 6,
                }
            )
        out["regions"].append(
            {
                "dev": f"region{r}",
                "size": 253 * GIB,
                "align": 16777216,
                "available_size": 200 * GIB,
                "max_available_extent": 200 * GIB,
                "type": "pmem",
                "numa_node": r // 6,
                "target_node": r // 6,
                "iset_id": 1000 + r,
                "mappings": [{"dimm": f"nmem{r}", "offset": 0, "length": 253 * GIB, "position": 0}],
                "persistence_domain": "memory_controller",
                "namespaces": nss,
            }
        )
    return json.dumps(out, indent=2)


def timed(label, fn, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    per_call = (time.perf_counter() - start) / repeat
    print(f"{label:<58} {per_call * 1000:9.3f} ms")


def main():
    text = big_listing()
    print("PMem library benchmark (figures only)")
    timed(
        "parse + inventory of 12 regions x 8 namespaces",
        lambda: inventory_from_list(parse_list_output(text)),
        200,
    )
    inventory = inventory_from_list(parse_list_output(text))
    desired = [DesiredNamespace(f"vol-{r}-{n}", size=4 * GIB) for r in range(12) for n in range(8)]
    desired += [DesiredNamespace(f"new-{i}", size="1G") for i in range(20)]
    timed("plan 96 matching + 20 new namespaces", lambda: plan_namespaces(desired, inventory), 20)
    timed("usable_size(sector, 1 TiB) (multi-arena BTT)", lambda: usable_size("sector", 1024 * GIB), 2000)
    timed("request_for(fsdax, 100 GiB usable)", lambda: request_for(None, "fsdax", 100 * GIB), 2000)
    try:
        from pmem_sim.runner import SimRunner
        from pmem_sim.testing import make_state
    except ImportError:
        print("simulator not installed: skipping simulated inventory figures")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("qemu", "optane-2s"):
            runner = RecordingRunner(SimRunner(make_state(tmp, preset=preset, name=preset + ".json")))
            ndctl = Ndctl(runner)
            start = time.perf_counter()
            ndctl.inventory()
            elapsed = time.perf_counter() - start
            label = f"inventory on simulated host '{preset}' (in-process)"
            print(f"{label:<58} {elapsed * 1000:9.3f} ms  tool calls: {len(runner.calls)} (real ndctl: 1)")


if __name__ == "__main__":
    main()
