"""Building simulated platforms: presets (QEMU guests of the transcripts, Optane servers) and goals.

Sizes of the QEMU presets are the ones the reference transcripts recorded, so the
parity tests can replay them byte for byte:

* ``qemu``: the "aligned" guest (two ``size=4098M,label-size=2M`` NVDIMMs), regions of
  exactly 4 GiB at 0x100000000 and 0x200000000;
* ``qemu-misaligned``: the "labels" guest (``size=4G,label-size=2M``), regions of
  4 GiB - 2 MiB, the second one starting 2 MiB short of a 16 MiB boundary;
* ``qemu-nolabel``: the "nolabel" guest (no ``label-size``), permanently label-less;
* ``qemu-captures``: the SSH-driven guest of captures-ndctl76-qemu (two 1 GiB NVDIMMs
  with 128 KiB labels on two NUMA nodes), NVDIMMs placed with ``addr=``;
* ``qemu-captures-noaddr``: the same guest without ``addr=``: the second NVDIMM starts at
  0x13ffe0000, so fsdax/devdax on region1 fail with "misaligned to 16M".

Optane platforms follow ipmctl's model: each module has a volatile (Memory Mode)
partition, an App Direct partition and a reserved remainder; ``apply_goals`` is
what the BIOS does at reboot.
"""

from __future__ import annotations

from . import model as m

# typing only for the checkers: importing it costs each simulated ipmctl call ~20 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IPMCTL_VERSION = "03.00.00.0468-1"
QEMU_DIMM_IDS = [("8680-56341200", 1), ("8680-57341200", 2)]

GENERATIONS: dict[int, dict[str, Any]] = {
    100: {
        "imcs": 2,
        "channels": 3,
        "fw": "01.02.00.5435",
        "part": "NMA1XXD{size}GPS",
        "device_id": "0x5141",
        "date": "1837",
        "interface": "0x0201",
    },
    200: {
        "imcs": 4,
        "channels": 2,
        "fw": "02.02.00.1553",
        "part": "NMB1XXD{size}GPSU4",
        "device_id": "0x5141",
        "date": "2043",
        "interface": "0x0201",
    },
    300: {
        "imcs": 4,
        "channels": 2,
        "fw": "03.00.00.0552",
        "part": "NMC1XXD{size}GPSU4",
        "device_id": "0x5141",
        "date": "2212",
        "interface": "0x0201",
    },
}

# Raw capacity of each module size and what ipmctl reports as Capacity.
MODULE_CAPACITY = {
    128: int(126.742 * m.GIB) // 4096 * 4096,
    256: int(252.454 * m.GIB) // 4096 * 4096,
    512: int(502.599 * m.GIB) // 4096 * 4096,
}

PRESETS = (
    "qemu",
    "qemu-misaligned",
    "qemu-nolabel",
    "qemu-captures",
    "qemu-captures-noaddr",
    "optane-1s",
    "optane-2s",
    "no-optane",
)

GOAL_STATUS_NEW = "New"
GOAL_FAILURES = {
    "bad-request": "Failed - Bad request",
    "not-enough-resources": "Failed - Not enough resources",
    "firmware-error": "Failed - Firmware error",
    "unknown": "Failed - Unknown",
}


def empty_state(name: str) -> m.State:
    return {
        "format": m.FORMAT_VERSION,
        "platform": {"name": name, "optane": False, "generation": None, "sockets": 1, "ddr_per_socket": 0},
        "bus": {"provider": "ACPI.NFIT", "dev": "ndbus0"},
        "dimms": [],
        "regions": [],
        "goals": [],
        "fail_next_goal": None,
        "faults": [],
        "calls": 0,
        "blockdev": None,
        "boots": 0,
    }


def qemu_dimm(
    index: int, capacity: int, label_support: bool, numa_node: int = 0, label_area: int = 0
) -> dict[str, Any]:
    dimm_id, handle = QEMU_DIMM_IDS[index]
    return {
        "index": index,
        "id": dimm_id,
        "handle": handle,
        "phys_id": 0,
        "socket": numa_node,
        "numa_node": numa_node,
        "capacity": capacity,
        "label_area": label_area,
        "label_support": label_support,
        "labels": "empty",
        "labeling": False,
        "enabled": True,
        "optane": None,
    }


def new_region(
    region_id: int,
    size: int,
    resource: int,
    mappings: list[dict[str, Any]],
    *,
    cookie: int,
    cookie_alt: int,
    numa_node: int,
    target_node: int,
    persistence_domain: str,
    labelled: bool,
    ipmctl: dict[str, Any] | None = None,
) -> dict[str, Any]:
    region = {
        "id": region_id,
        "size": size,
        "align": m.default_region_align(size, len(mappings)),
        "resource": resource,
        "numa_node": numa_node,
        "target_node": target_node,
        "mappings": mappings,
        "iset_cookie": cookie,
        "iset_cookie_alt": cookie_alt,
        "persistence_domain": persistence_domain,
        "enabled": True,
        "labelled": labelled,
        "rescan": False,
        "ns_seed": 0,
        "namespaces": [],
        "ipmctl": ipmctl,
        "backing": f"region-{cookie:016x}.img",
    }
    m.reset_region_namespaces(region)
    return region


def qemu_state(
    name: str,
    *,
    region_size: int,
    label_size: int,
    resources: tuple[int, int],
    label_support: bool,
    numa_nodes: tuple[int, int] = (0, 0),
    region_dimm: tuple[int, int] = (1, 0),
) -> m.State:
    """Two QEMU NVDIMMs, one non-interleaved region each, label-less until init-labels."""
    state = empty_state(name)
    state["dimms"] = [
        qemu_dimm(index, region_size + label_size, label_support, numa_nodes[index], label_size)
        for index in (0, 1)
    ]
    # The interleave-set cookies belong to the NVDIMM (its handle), whichever region number it gets.
    cookies = [(0x2468AC00123456, 0xBA90120012B4DC), (0x2468AE00123457, 0xBA901C0012B4DD)]
    for region_id in (0, 1):
        dimm_index = region_dimm[region_id]
        numa = state["dimms"][dimm_index]["numa_node"]
        state["regions"].append(
            new_region(
                region_id,
                region_size,
                resources[region_id],
                [{"dimm": dimm_index, "offset": 0, "length": region_size, "position": 0}],
                cookie=cookies[dimm_index][0],
                cookie_alt=cookies[dimm_index][1],
                numa_node=numa,
                target_node=numa,
                persistence_domain="unknown",
                labelled=False,
            )
        )
    return state


def preset_state(name: str) -> m.State:
    if name == "qemu":
        return qemu_state(
            name,
            region_size=4 * m.GIB,
            label_size=2 * m.MIB,
            resources=(0x200000000, 0x100000000),
            label_support=True,
        )
    if name == "qemu-misaligned":
        return qemu_state(
            name,
            region_size=4 * m.GIB - 2 * m.MIB,
            label_size=2 * m.MIB,
            resources=(0x1FFE00000, 0x100000000),
            label_support=True,
        )
    if name == "qemu-nolabel":
        return qemu_state(
            name,
            region_size=4 * m.GIB,
            label_size=0,
            resources=(0x200000000, 0x100000000),
            label_support=False,
        )
    if name == "qemu-captures":
        return qemu_state(
            name,
            region_size=m.GIB - 128 * m.KIB,
            label_size=128 * m.KIB,
            resources=(0x100000000, 0x140000000),
            label_support=True,
            numa_nodes=(0, 1),
            region_dimm=(0, 1),
        )
    if name == "qemu-captures-noaddr":
        return qemu_state(
            name,
            region_size=m.GIB - 128 * m.KIB,
            label_size=128 * m.KIB,
            resources=(0x100000000, 0x13FFE0000),
            label_support=True,
            numa_nodes=(0, 1),
            region_dimm=(0, 1),
        )
    if name == "no-optane":
        state = empty_state(name)
        state["bus"] = None
        return state
    if name == "optane-1s":
        return optane_state(sockets=1, dimms_per_socket=6, module_gb=128, generation=100, initial="none")
    if name == "optane-2s":
        return optane_state(sockets=2, dimms_per_socket=6, module_gb=256, generation=200, initial="none")
    raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")


# --- Optane -----------------------------------------------------------------------------


def _cookie(*parts: str) -> int:
    import hashlib  # only when UIDs are made: ~5 ms a call otherwise

    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def optane_state(
    *,
    sockets: int,
    dimms_per_socket: int,
    module_gb: int,
    generation: int,
    initial: str = "none",
    memory_mode_percent: int = 0,
    labels: bool = True,
    ddr_gib_per_socket: int = 192,
    name: str | None = None,
) -> m.State:
    """An Optane server: ``initial`` is none (factory: unconfigured), appdirect,
    appdirect-not-interleaved or memorymode (``memory_mode_percent`` of each module)."""
    if generation not in GENERATIONS:
        raise ValueError(f"generation must be one of {sorted(GENERATIONS)}, got {generation}")
    if module_gb not in MODULE_CAPACITY:
        raise ValueError(f"dimm capacity must be one of {sorted(MODULE_CAPACITY)} (GB), got {module_gb}")
    gen = GENERATIONS[generation]
    slots = gen["imcs"] * gen["channels"]
    if not 1 <= dimms_per_socket <= slots:
        raise ValueError(
            f"dimms per socket must be 1..{slots} for the {generation} series, got {dimms_per_socket}"
        )
    if sockets < 1 or sockets > 8:
        raise ValueError(f"sockets must be 1..8, got {sockets}")
    state = empty_state(name or f"optane-{sockets}s")
    state["platform"].update(
        optane=True,
        generation=generation,
        sockets=sockets,
        ddr_per_socket=ddr_gib_per_socket * m.GIB,
        label_support=labels,
    )
    index = 0
    for socket in range(sockets):
        for slot in range(dimms_per_socket):
            imc = slot % gen["imcs"]
            channel = slot // gen["imcs"]
            handle = (socket << 12) | (imc << 8) | (channel << 4) | 1
            serial = 0x00000BE8 + index * 0x11 + socket * 0x101
            uid = f"8089-a2-{gen['date']}-{serial:08x}"
            state["dimms"].append(
                {
                    "index": index,
                    "id": uid,
                    "handle": handle,
                    "phys_id": 0x1C + index * 2,
                    "socket": socket,
                    "numa_node": socket,
                    "capacity": MODULE_CAPACITY[module_gb],
                    "label_area": 128 * m.KIB,
                    "label_support": labels,
                    "labels": "valid" if labels else "empty",
                    "labeling": labels,
                    "enabled": True,
                    "optane": {
                        "dimm_id": f"0x{handle:04x}",
                        "uid": uid,
                        "serial": f"0x{serial:08x}",
                        "part_number": gen["part"].format(size=module_gb),
                        "fw_version": gen["fw"],
                        "module_gb": module_gb,
                        "generation": generation,
                        "locator": f"CPU{socket + 1}_DIMM_{'ABCDEFGH'[slot % 8]}{2 if slot < 8 else 1}",
                        "imc": imc,
                        "channel": channel,
                        "health": "Healthy",
                        "lock_state": "Disabled",
                        "memory_size": 0,
                        "appdirect_size": 0,
                        "ad_type": None,
                        "media_temperature": 36,
                        "controller_temperature": 41,
                        "spares": 100,
                        "shutdown_count": 4,
                        "power_on_time": 1234567,
                        "uptime": 86400,
                        "power_cycles": 42,
                    },
                }
            )
            index += 1
    if initial != "none":
        kind, _, percent = initial.partition(":")
        if kind == "memorymode":
            goal_type = "AppDirect"
            memory_mode_percent = int(percent or memory_mode_percent or 100)
        elif kind == "appdirect":
            goal_type = "AppDirect"
        elif kind == "appdirect-not-interleaved":
            goal_type = "AppDirectNotInterleaved"
        else:
            raise ValueError(
                "initial allocation must be none, appdirect, appdirect-not-interleaved"
                " or memorymode[:PERCENT]"
            )
        state["goals"] = plan_goals(state, goal_type, memory_mode_percent, 0, None)
        apply_goals(state)
    return state


def usable_module_bytes(dimm: dict[str, Any]) -> int:
    """What partitions can use: the raw capacity rounded down to 1 GiB."""
    return m.align_down(dimm["capacity"], m.GIB)


def plan_goals(
    state: m.State, ad_type: str, memory_mode: int, reserved: int, sockets: list[int] | None
) -> list[dict[str, Any]]:
    goals = []
    for dimm in state["dimms"]:
        if sockets is not None and dimm["socket"] not in sockets:
            continue
        usable = usable_module_bytes(dimm)
        memory = m.align_down(usable * memory_mode // 100, m.GIB)
        reserved_bytes = m.align_up(usable * reserved // 100, m.GIB) if reserved else 0
        appdirect = max(0, usable - memory - reserved_bytes)
        goals.append(
            {
                "dimm": dimm["index"],
                "socket": dimm["socket"],
                "memory_size": memory,
                "appdirect_size": appdirect,
                "appdirect2_size": 0,
                "type": ad_type if appdirect else None,
                "memory_mode": memory_mode,
                "reserved": reserved,
                "status": GOAL_STATUS_NEW,
            }
        )
    return goals


def apply_goals(state: m.State, fail: str | None = None) -> list[str]:
    """The BIOS at boot: turn New goals into partitions and regions; failed goals stay."""
    pending = [goal for goal in state["goals"] if goal["status"] == GOAL_STATUS_NEW]
    if not pending:
        return []
    if fail:
        for goal in pending:
            goal["status"] = fail
        return [f"goal failed: {fail}"]
    touched_sockets = sorted({goal["socket"] for goal in pending})
    for goal in pending:
        optane = state["dimms"][goal["dimm"]]["optane"]
        optane["memory_size"] = goal["memory_size"]
        optane["appdirect_size"] = goal["appdirect_size"]
        optane["ad_type"] = goal["type"]
    state["goals"] = [goal for goal in state["goals"] if goal["status"] != GOAL_STATUS_NEW]
    kept = [region for region in state["regions"] if region["ipmctl"]["socket"] not in touched_sockets]
    rebuilt = []
    for socket in touched_sockets:
        dimms = [
            dimm for dimm in state["dimms"] if dimm["socket"] == socket and dimm["optane"]["appdirect_size"]
        ]
        interleaved = [d for d in dimms if d["optane"]["ad_type"] == "AppDirect"]
        separate = [d for d in dimms if d["optane"]["ad_type"] == "AppDirectNotInterleaved"]
        groups = ([interleaved] if interleaved else []) + [[d] for d in separate]
        for group in groups:
            rebuilt.append(build_optane_region(state, socket, group))
    regions = kept + rebuilt
    regions.sort(key=lambda region: (region["ipmctl"]["socket"], region["mappings"][0]["dimm"]))
    place_regions(state, regions)
    return [f"socket {socket}: goal applied" for socket in touched_sockets]


def build_optane_region(state: m.State, socket: int, dimms: list[dict[str, Any]]) -> dict[str, Any]:
    size = sum(dimm["optane"]["appdirect_size"] for dimm in dimms)
    mappings = [
        {
            "dimm": dimm["index"],
            "offset": dimm["optane"]["memory_size"],
            "length": dimm["optane"]["appdirect_size"],
            "position": position,
        }
        for position, dimm in enumerate(dimms)
    ]
    cookie = _cookie(*(dimm["id"] for dimm in dimms), str(state.get("boots", 0)))
    ad_type = dimms[0]["optane"]["ad_type"]
    sockets = state["platform"]["sockets"]
    return new_region(
        0,
        size,
        0,
        mappings,
        cookie=cookie,
        cookie_alt=cookie,
        numa_node=socket,
        target_node=sockets + socket,
        persistence_domain="memory_controller",
        labelled=all(dimm["labeling"] for dimm in dimms),
        ipmctl={"socket": socket, "type": ad_type},
    )


def place_regions(state: m.State, regions: list[dict[str, Any]]) -> None:
    """Number regions in NFIT (SPA) order and give each a 1 GiB aligned physical range."""
    sockets = state["platform"]["sockets"]
    ddr = state["platform"].get("ddr_per_socket", 0)
    base = m.align_up(0x100000000 + ddr * sockets, m.GIB)
    volatile = sum(dimm["optane"]["memory_size"] for dimm in state["dimms"] if dimm.get("optane"))
    cursor = m.align_up(base + volatile, m.GIB)
    for region_id, region in enumerate(regions):
        region["id"] = region_id
        if not region["resource"]:
            region["resource"] = cursor
        cursor = m.align_up(max(cursor, region["resource"] + region["size"]), m.GIB)
    state["regions"] = regions


def build_state(
    *,
    preset: str | None = None,
    sockets: int = 1,
    dimms_per_socket: int = 6,
    dimm_capacity: int = 128,
    labels: bool = True,
    generation: int = 100,
    initial: str = "none",
    memory_mode_percent: int = 0,
) -> m.State:
    if preset:
        return preset_state(preset)
    return optane_state(
        sockets=sockets,
        dimms_per_socket=dimms_per_socket,
        module_gb=dimm_capacity,
        generation=generation,
        initial=initial,
        memory_mode_percent=memory_mode_percent,
        labels=labels,
    )
