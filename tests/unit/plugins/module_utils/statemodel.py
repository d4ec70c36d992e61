"""An in-memory NVDIMM host for planner tests: real extents, ndctl's rules, ndctl-shaped JSON.

It stands in for ndctl behind apply_plan() (same method names as Ndctl) and
reports its state as ``ndctl list -RDN -iv`` JSON, parsed by the real parser.
"""

import uuid as uuid_module
from dataclasses import dataclass, field

from plugins.module_utils import errors
from plugins.module_utils.ndctl import inventory_from_list, namespace_from_json, normalize_list
from plugins.module_utils.sizes import DEFAULT_DAX_ALIGN, align_down, check_request, usable_size


@dataclass
class FakeNamespace:
    index: int
    mode: str
    start: int
    raw: int
    name: str | None = None
    align: int | None = None
    map: str | None = None
    sector_size: int | None = None
    uuid: str | None = None
    enabled: bool = True


@dataclass
class FakeRegion:
    index: int
    size: int
    numa_node: int = 0
    label_less: bool = False
    align: int = 16 << 20
    enabled: bool = True
    namespaces: list[FakeNamespace] = field(default_factory=list)

    @property
    def dev(self) -> str:
        return f"region{self.index}"

    @property
    def nmem(self) -> str:
        return f"nmem{self.index}"

    @property
    def capacity(self) -> int:
        return align_down(self.size, self.align)

    def free_intervals(self) -> list[list[int]]:
        used = sorted((ns.start, ns.start + ns.raw) for ns in self.namespaces if not self.label_less)
        free, cursor = [], 0
        for start, end in used:
            if start > cursor:
                free.append([cursor, start])
            cursor = max(cursor, end)
        if cursor < self.capacity:
            free.append([cursor, self.capacity])
        return free

    def available(self) -> int:
        return 0 if self.label_less else sum(e - s for s, e in self.free_intervals())

    def max_extent(self) -> int:
        return 0 if self.label_less else max([e - s for s, e in self.free_intervals()] or [0])


class FakeHost:
    """Regions of one NVDIMM each. Label-less regions start with their full-size raw namespace."""

    def __init__(self, regions: list[FakeRegion]) -> None:
        self.regions = {r.dev: r for r in regions}
        for region in regions:
            if region.label_less and not region.namespaces:
                region.namespaces.append(FakeNamespace(0, "raw", 0, region.size))
        self.calls: list[tuple] = []

    # --- views -------------------------------------------------------------------------------

    def ns_json(self, region: FakeRegion, ns: FakeNamespace) -> dict:
        dev = f"namespace{region.index}.{ns.index}"
        suffix = "" if ns.index == 0 else f".{ns.index}"
        out: dict = {"dev": dev}
        if not ns.enabled:
            out.update(
                {"mode": "raw", "size": ns.raw, "uuid": ns.uuid, "sector_size": 512, "state": "disabled"}
            )
            if ns.name:  # ndctl prints alt_name whatever the state (util/json.c)
                out["name"] = ns.name
            return out
        out["mode"] = ns.mode
        if ns.mode in ("fsdax", "devdax"):
            out["map"] = ns.map or "dev"
        out["size"] = usable_size(ns.mode, ns.raw, ns.align, ns.map, ns.sector_size)
        if ns.uuid:
            out["uuid"] = ns.uuid
        if ns.mode == "devdax":
            out["chardev"] = f"dax{region.index}.{ns.index}"
        else:
            out["sector_size"] = ns.sector_size or (4096 if ns.mode == "sector" else 512)
        if ns.mode in ("fsdax", "devdax"):
            out["align"] = ns.align or DEFAULT_DAX_ALIGN
        if ns.mode != "devdax":
            out["blockdev"] = f"pmem{region.index}{suffix}{'s' if ns.mode == 'sector' else ''}"
        if ns.name:
            out["name"] = ns.name
        out["numa_node"] = region.numa_node
        out["target_node"] = region.numa_node
        return out

    def list_json(self) -> dict:
        regions = []
        for region in sorted(self.regions.values(), key=lambda r: -r.index):
            obj: dict = {
                "dev": region.dev,
                "size": region.size,
                "align": region.align,
                "available_size": region.available(),
                "max_available_extent": region.max_extent(),
                "type": "pmem",
                "numa_node": region.numa_node,
                "target_node": region.numa_node,
            }
            if not region.label_less:
                obj["iset_id"] = 0x1000 + region.index
            obj["mappings"] = [{"dimm": region.nmem, "offset": 0, "length": region.size, "position": 0}]
            if not region.enabled:
                obj["state"] = "disabled"
            obj["persistence_domain"] = "unknown"
            namespaces = [
                self.ns_json(region, ns) for ns in sorted(region.namespaces, key=lambda n: -n.index)
            ]
            if namespaces:
                obj["namespaces"] = namespaces
            regions.append(obj)
        dimms = [
            {"dev": r.nmem, "id": f"8680-{r.index:08x}", "handle": r.index + 1, "phys_id": 0}
            for r in sorted(self.regions.values(), key=lambda r: -r.index)
        ]
        return {"dimms": dimms, "regions": regions}

    def inventory(self):
        return inventory_from_list(normalize_list(self.list_json()))

    def region_view(self, region: FakeRegion) -> dict:
        return {
            "dev": region.dev,
            "size": region.size,
            "align": region.align,
            "max_available_extent": region.max_extent(),
            "iset_id": None if region.label_less else 1,
            "mappings": [1],
        }

    # --- ndctl verbs ---------------------------------------------------------------------------

    def _find(self, dev: str):
        for region in self.regions.values():
            for ns in region.namespaces:
                if f"namespace{region.index}.{ns.index}" == dev:
                    return region, ns
        raise errors.NotFound(f"no namespace {dev}")

    def destroy_namespace(self, dev: str, force: bool = False, region: str | None = None) -> int:
        self.calls.append(("destroy", dev))
        reg, ns = self._find(dev)
        if reg.label_less:
            ns.enabled = False  # label-less: stays as a disabled raw namespace
            return 1
        reg.namespaces.remove(ns)
        return 1

    def enable_namespace(self, dev: str, region: str | None = None) -> int:
        self.calls.append(("enable", dev))
        self._find(dev)[1].enabled = True
        return 1

    def disable_region(self, region: str = "all") -> int:
        self.calls.append(("disable-region", region))
        self.regions[region].enabled = False
        return 1

    def enable_region(self, region: str = "all") -> int:
        self.calls.append(("enable-region", region))
        self.regions[region].enabled = True
        return 1

    def init_labels(self, nmem: str = "all", force: bool = False) -> int:
        self.calls.append(("init-labels", nmem))
        for region in self.regions.values():
            if region.nmem == nmem:
                if region.enabled:
                    raise errors.Busy(f"{nmem}: regions active, abort label write")
                region.label_less = False
                region.namespaces = []
                return 1
        raise errors.NotFound(nmem)

    def create_namespace(
        self,
        region=None,
        mode="fsdax",
        size=None,
        name=None,
        align=None,
        map=None,
        sector_size=None,
        uuid=None,
        force=False,
        reconfig=None,
    ):
        self.calls.append(("create", region, mode, size, name, reconfig))
        if reconfig is not None:
            reg, ns = self._find(reconfig)
            ns.mode, ns.align, ns.map, ns.sector_size = mode, align, map, sector_size
            ns.name = name if name is not None else ns.name
            ns.uuid = str(uuid_module.uuid4())
            return namespace_from_json(self.ns_json(reg, ns), reg.dev)
        reg = self.regions[region]
        if not reg.enabled:
            raise errors.NotFound("region disabled")
        raw = check_request(self.region_view(reg), mode, size, align, map, sector_size)
        start = None
        for free_start, free_end in reg.free_intervals():
            if free_end - free_start >= raw:
                start = free_start
                break
        if start is None:  # check_request compared with the largest extent already
            raise errors.InsufficientCapacity("no extent")
        used = {ns.index for ns in reg.namespaces}
        index = min(i for i in range(len(used) + 1) if i not in used)
        ns = FakeNamespace(index, mode, start, raw, name, align, map, sector_size, str(uuid_module.uuid4()))
        reg.namespaces.append(ns)
        return namespace_from_json(self.ns_json(reg, ns), reg.dev)

    def add_existing(self, region: str, mode: str, raw: int, name: str | None) -> bool:
        """Pre-populate (test set-up); False when it does not fit."""
        reg = self.regions[region]
        if reg.label_less or raw > reg.max_extent():
            return False
        try:
            self.create_namespace(region=region, mode=mode, size=raw, name=name)
        except errors.PmemError:
            return False
        finally:
            self.calls.clear()
        return True
