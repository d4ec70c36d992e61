"""Plans: what has to change so the namespaces (and the goal) match what is desired.

plan_namespaces() is a pure function of the desired namespaces and an
Inventory: it returns ordered Actions and never runs anything. apply.apply_plan()
executes them. Refusals (data loss without consent, devices in use, differences
without ``reconfigure``) raise before any action exists, listing every reason.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from .errors import (
    BadSize,
    Busy,
    Incompatible,
    InsufficientCapacity,
    InvalidRequest,
    NotFound,
    SafeModeRefused,
)
from .model import Inventory, Namespace, Region
from .naming import DRIVER_NAMESPACE_PREFIX, MAX_NAMESPACE_NAME_LENGTH, is_driver_namespace
from .sizes import (
    MIN_NAMESPACE_BYTES,
    MODES,
    align_down,
    align_up,
    format_size,
    largest_namespace,
    parse_size,
    request_for,
    size_granule,
    usable_size,
    validate_mode_options,
)

STATES = ("present", "absent")
_PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")

# Action kinds, in the order a plan runs them.
DESTROY_NAMESPACE = "destroy_namespace"
INIT_LABELS = "init_labels"
ENABLE_NAMESPACE = "enable_namespace"
RECONFIGURE_NAMESPACE = "reconfigure_namespace"
CREATE_NAMESPACE = "create_namespace"


@dataclass(frozen=True)
class DesiredNamespace:
    """A namespace as the operator wants it, identified by ``name``.

    ``size``: raw bytes as ndctl's ``--size`` takes them (int or ``"16G"``), a
    share of the region (``"50%"``), or None for all the space that remains.
    Unset ``align``/``map``/``sector_size`` mean "whatever ndctl chooses".
    """

    name: str
    mode: str = "fsdax"
    size: Union[int, str, None] = None
    region: Optional[str] = None
    numa_node: Optional[int] = None
    align: Optional[int] = None
    map: Optional[str] = None
    sector_size: Optional[int] = None
    state: str = "present"

    @classmethod
    def from_dict(cls, data: Dict[str, Any], field_prefix: str = "namespaces") -> "DesiredNamespace":
        """Build from module/role input, converting sizes with units and rejecting unknown keys."""
        known = {"name", "mode", "size", "region", "numa_node", "align", "map", "sector_size", "state"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidRequest(
                "%s.%s" % (field_prefix, unknown[0]),
                "is not a namespace option (%s)" % ", ".join(sorted(known)),
            )
        values = {k: v for k, v in data.items() if v is not None}
        if "align" in values:
            values["align"] = parse_size(values["align"], "%s.align" % field_prefix)
        if "region" in values and isinstance(values["region"], int):
            values["region"] = "region%d" % values["region"]
        return cls(**values)


@dataclass(frozen=True)
class Action:
    kind: str
    target: str
    params: Dict[str, Any] = field(default_factory=dict, hash=False)
    reason: str = ""
    destroys_data: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "params": dict(self.params),
            "reason": self.reason,
            "destroys_data": self.destroys_data,
        }


# --- validation ----------------------------------------------------------------------------


def _field(index: int, name: str) -> str:
    return "namespaces[%d].%s" % (index, name)


def _validate(desired: Sequence[DesiredNamespace]) -> None:
    seen: Dict[str, int] = {}
    for index, want in enumerate(desired):
        if not isinstance(want.name, str) or not want.name:
            raise InvalidRequest(_field(index, "name"), "is required (a non-empty string)", want.name)
        if len(want.name.encode("utf-8")) > MAX_NAMESPACE_NAME_LENGTH:
            raise InvalidRequest(_field(index, "name"), "must be at most 63 bytes", want.name)
        if any(c.isspace() or ord(c) < 32 for c in want.name):
            raise InvalidRequest(_field(index, "name"), "must not contain whitespace", want.name)
        if is_driver_namespace(want.name):
            raise InvalidRequest(
                _field(index, "name"),
                "must not start with %r: that prefix belongs to the CSI driver's namespaces"
                % DRIVER_NAMESPACE_PREFIX,
                want.name,
            )
        if want.name in seen:
            raise InvalidRequest(
                _field(index, "name"), "is declared twice (also namespaces[%d])" % seen[want.name]
            )
        seen[want.name] = index
        if want.state not in STATES:
            raise InvalidRequest(_field(index, "state"), "must be present or absent", want.state)
        if want.mode not in MODES:
            raise InvalidRequest(_field(index, "mode"), "must be one of %s" % ", ".join(MODES), want.mode)
        try:
            validate_mode_options(want.mode, want.align, want.map, want.sector_size)
        except InvalidRequest as exc:
            raise InvalidRequest(_field(index, exc.field), exc.rule, exc.value) from None
        if want.region is not None and not re.match(r"^region\d+$", str(want.region)):
            raise InvalidRequest(_field(index, "region"), "must look like regionN", want.region)
        if want.numa_node is not None and (
            isinstance(want.numa_node, bool) or not isinstance(want.numa_node, int)
        ):
            raise InvalidRequest(_field(index, "numa_node"), "must be an integer", want.numa_node)
        _size_spec(want, index)


def _size_spec(want: DesiredNamespace, index: int) -> Tuple[str, Any]:
    """('all', None) | ('percent', float) | ('bytes', int)."""
    if want.size is None:
        return ("all", None)
    if isinstance(want.size, str):
        match = _PERCENT_RE.match(want.size)
        if match:
            percent = float(match.group(1))
            if not 0 < percent <= 100:
                raise InvalidRequest(
                    _field(index, "size"), "a percentage must be above 0 and at most 100", want.size
                )
            return ("percent", percent)
    size = parse_size(want.size, _field(index, "size"))
    if size <= 0:
        raise InvalidRequest(_field(index, "size"), "must be positive", want.size)
    if want.mode != "raw" and size < MIN_NAMESPACE_BYTES:
        raise InvalidRequest(
            _field(index, "size"), "%s namespaces need at least 16 MiB" % want.mode, want.size
        )
    return ("bytes", size)


# --- capacity model ------------------------------------------------------------------------


class _Space:
    """Free space of one region while a plan is being built (conservative)."""

    def __init__(self, region: Region) -> None:
        self.region = region
        self.label_less = region.label_less
        self.available = region.available_size
        self.extent = region.max_available_extent
        self.live = list(region.namespaces)

    def view(self) -> Dict[str, Any]:
        return {
            "dev": self.region.dev,
            "size": self.region.size,
            "align": self.region.align,
            "max_available_extent": self.extent,
            "label_less": self.label_less,
            "interleave_ways": self.region.interleave_ways,
        }

    def init_labels(self) -> None:
        self.label_less = False
        self.available = self.extent = align_down(self.region.size, self.region.align or 1)
        self.live = []

    def release(self, ns: Namespace) -> None:
        raw = raw_size_of(ns, self.region)
        self.live = [n for n in self.live if n.dev != ns.dev]
        self.available += raw
        # The freed hole is at least this big; an emptied region is one extent again.
        self.extent = self.available if not self.live else max(self.extent, raw)

    def take(self, raw: int) -> None:
        self.available -= raw
        self.extent -= raw


def raw_size_of(ns: Namespace, region: Optional[Region] = None) -> int:
    """The raw size behind a namespace's usable ``size`` (exact for sizes ndctl accepted)."""
    if not ns.enabled or ns.mode == "raw":
        return ns.size
    try:
        return request_for(
            region,
            ns.mode,
            ns.size,
            align=ns.align if ns.align in (4096, 2 << 20, 1 << 30) else None,
            map=ns.map,
            sector_size=ns.sector_size if ns.mode == "sector" else None,
        )
    except InvalidRequest:
        return ns.size


def _resolve_raw(want: DesiredNamespace, spec: Tuple[str, Any], space: _Space) -> int:
    """Raw size to request in this region (0 when nothing fits)."""
    kind, value = spec
    view = space.view()
    granule = size_granule(want.mode, space.region.align, space.region.interleave_ways, want.align)
    if kind == "bytes":
        # ndctl only takes multiples of region align x interleave ways, which operators
        # cannot be expected to know: round up, so the namespace is never smaller.
        return align_up(int(value), granule)
    if kind == "percent":
        return align_down(int(space.region.size * value / 100.0), granule)
    if space.label_less:
        # All remaining: once labels are initialised the region is one aligned extent.
        view = dict(
            view,
            label_less=False,
            max_available_extent=align_down(space.region.size, space.region.align or 1),
        )
    return largest_namespace(view, want.mode, want.align, want.map, want.sector_size)


def _fits(raw: int, want: DesiredNamespace, space: _Space) -> bool:
    if raw <= 0:
        return False
    extent = align_down(space.region.size, space.region.align or 1) if space.label_less else space.extent
    if raw > extent:
        return False
    granule = size_granule(want.mode, space.region.align, space.region.interleave_ways, want.align)
    return raw % granule == 0 and usable_size(want.mode, raw, want.align, want.map, want.sector_size) > 0


# --- comparison ----------------------------------------------------------------------------


def _expected_usable(want: DesiredNamespace, spec: Tuple[str, Any], region: Region) -> Optional[int]:
    kind, _value = spec
    if kind == "all":
        return None
    raw = _resolve_raw(want, spec, _Space(region))
    return usable_size(want.mode, raw, want.align, want.map, want.sector_size)


def _differences(
    want: DesiredNamespace, spec: Tuple[str, Any], ns: Namespace, region: Region
) -> Tuple[List[str], List[str]]:
    """(personality differences, size/placement differences) between ``ns`` and ``want``."""
    personality: List[str] = []
    geometry: List[str] = []
    label = "%s (%s)" % (want.name, ns.dev)
    if ns.mode != want.mode:
        personality.append("%s: mode is %s, wanted %s" % (label, ns.mode, want.mode))
    if want.align is not None and ns.mode in ("fsdax", "devdax") and ns.align != want.align:
        personality.append("%s: align is %s, wanted %s" % (label, _fmt(ns.align), _fmt(want.align)))
    if want.map is not None and ns.mode in ("fsdax", "devdax") and (ns.map or "dev") != want.map:
        personality.append("%s: map is %s, wanted %s" % (label, ns.map, want.map))
    if want.sector_size is not None and ns.sector_size != want.sector_size:
        personality.append("%s: sector_size is %s, wanted %s" % (label, ns.sector_size, want.sector_size))
    if want.region is not None and ns.region != want.region:
        geometry.append("%s: lives in %s, wanted %s" % (label, ns.region, want.region))
    if want.numa_node is not None and region.numa_node != want.numa_node:
        geometry.append("%s: is on NUMA node %s, wanted %s" % (label, region.numa_node, want.numa_node))
    if not personality:
        expected = _expected_usable(want, spec, region)
        if expected is not None and ns.size != expected:
            geometry.append(
                "%s: usable size is %d (%s), the requested size gives %d (%s)"
                % (label, ns.size, format_size(ns.size), expected, format_size(expected))
            )
    elif spec[0] != "all":
        # A reconfigure keeps the raw size: compare raw sizes when the personality changes.
        current_raw = raw_size_of(ns, region)
        wanted_raw = _resolve_raw(want, spec, _Space(region))
        if current_raw != wanted_raw:
            geometry.append(
                "%s: raw size is %s, wanted %s" % (label, format_size(current_raw), format_size(wanted_raw))
            )
    return personality, geometry


def _fmt(value: Optional[int]) -> str:
    return "unset" if value is None else format_size(value)


def _in_use(ns: Namespace, in_use: FrozenSet[str]) -> bool:
    names = {ns.dev, ns.blockdev, ns.chardev, ns.device}
    names.update("/dev/" + d.chardev for d in ns.dax_devices if d.chardev)
    names.update(d.chardev for d in ns.dax_devices if d.chardev)
    names.discard(None)
    return bool(names & in_use)


def _create_params(want: DesiredNamespace, region: str, raw: int) -> Dict[str, Any]:
    params: Dict[str, Any] = {"region": region, "mode": want.mode, "size": raw, "name": want.name}
    for key in ("align", "map", "sector_size"):
        value = getattr(want, key)
        if value is not None:
            params[key] = value
    return params


# --- the planner ---------------------------------------------------------------------------


def plan_namespaces(
    desired: Iterable[DesiredNamespace],
    inventory: Inventory,
    *,
    reconfigure: bool = False,
    allow_data_loss: bool = False,
    in_use: Iterable[str] = frozenset(),
    force: bool = False,
) -> List[Action]:
    """Ordered actions that make ``inventory`` hold the ``desired`` namespaces.

    - present and matching: nothing; present and different: Incompatible (every
      difference listed) unless ``reconfigure`` and ``allow_data_loss``;
    - absent: destroyed, refused with Busy while in use unless ``force``;
    - namespaces not named in ``desired`` (including the CSI driver's) are never touched;
    - a label-less region chosen for a namespace gets its labels initialised first,
      which discards its raw namespace (needs ``allow_data_loss`` when it is enabled).
    """
    wanted = list(desired)
    _validate(wanted)
    busy_names = frozenset(in_use or ())
    spaces = {region.dev: _Space(region) for region in inventory.regions}
    regions = {region.dev: region for region in inventory.regions}

    destroys: List[Action] = []
    fixes: List[Action] = []
    creates: List[Tuple[int, DesiredNamespace, Tuple[str, Any]]] = []
    incompatible: List[str] = []
    refused: List[str] = []
    busy: List[str] = []

    for index, want in enumerate(wanted):
        spec = _size_spec(want, index)
        matches = inventory.namespaces_by_name(want.name)
        if want.state == "absent":
            for ns in matches:
                if _in_use(ns, busy_names) and not force:
                    busy.append("%s (%s) is in use" % (want.name, ns.device or ns.dev))
                    continue
                destroys.append(
                    Action(
                        DESTROY_NAMESPACE,
                        ns.dev,
                        {"name": want.name, "force": True},
                        "state is absent",
                        destroys_data=True,
                    )
                )
                if ns.region in spaces:
                    spaces[ns.region].release(ns)
            continue
        if len(matches) > 1:
            incompatible.append(
                "%s: %d namespaces carry this name (%s)"
                % (want.name, len(matches), ", ".join(n.dev for n in matches))
            )
            continue
        if not matches:
            if want.region is not None and want.region not in regions:
                raise NotFound(
                    "%s: no region %s on this host (regions: %s)"
                    % (_field(index, "region"), want.region, ", ".join(sorted(regions)) or "none")
                )
            creates.append((index, want, spec))
            continue
        ns = matches[0]
        region = regions.get(ns.region or "")
        if region is None:
            incompatible.append("%s (%s): its region %s is not listed" % (want.name, ns.dev, ns.region))
            continue
        if not ns.enabled:
            fixes.append(
                Action(
                    ENABLE_NAMESPACE,
                    ns.dev,
                    {"name": want.name},
                    "the namespace is disabled; enable it before comparing",
                )
            )
            continue
        personality, geometry = _differences(want, spec, ns, region)
        if not personality and not geometry:
            continue
        differences = personality + geometry
        if not reconfigure:
            incompatible.extend(differences)
            continue
        if not allow_data_loss:
            refused.extend(differences)
            continue
        if _in_use(ns, busy_names) and not force:
            busy.append("%s (%s) is in use and would be re-created" % (want.name, ns.device or ns.dev))
            continue
        if not geometry:
            if usable_size(want.mode, raw_size_of(ns, region), want.align, want.map, want.sector_size) <= 0:
                raise BadSize(
                    "%s: %s of %s with align %s leaves no usable space"
                    % (
                        _field(index, "align"),
                        want.mode,
                        format_size(raw_size_of(ns, region)),
                        _fmt(want.align),
                    )
                )
            params: Dict[str, Any] = {"mode": want.mode, "name": want.name}
            for key in ("align", "map", "sector_size"):
                if getattr(want, key) is not None:
                    params[key] = getattr(want, key)
            fixes.append(
                Action(RECONFIGURE_NAMESPACE, ns.dev, params, "; ".join(differences), destroys_data=True)
            )
        else:
            destroys.append(
                Action(
                    DESTROY_NAMESPACE,
                    ns.dev,
                    {"name": want.name, "force": True},
                    "re-create: " + "; ".join(differences),
                    destroys_data=True,
                )
            )
            spaces[region.dev].release(ns)
            creates.append((index, want, spec))

    if incompatible:
        raise Incompatible(
            "namespaces exist but differ from the request (set reconfigure and allow_data_loss to re-create "
            "them, which destroys their data): " + "; ".join(incompatible),
            differences=incompatible,
        )
    if refused:
        raise SafeModeRefused(
            "allow_data_loss: re-creating these namespaces destroys their data: " + "; ".join(refused)
        )
    if busy:
        raise Busy("refusing to destroy namespaces in use (force overrides): " + "; ".join(busy))

    inits: List[Action] = []
    placed: List[Action] = []
    for index, want, spec in creates:
        space, raw = _place(want, spec, spaces, index)
        if space.label_less:
            inits.append(_init_labels_action(space, busy_names, allow_data_loss, force))
            space.init_labels()
            if spec[0] == "all":
                raw = _resolve_raw(want, spec, space)
        reason = "%s is absent" % want.name
        if spec[0] == "bytes" and raw != spec[1]:
            reason += "; size %s rounded up to %s (a multiple of %s in %s)" % (
                format_size(spec[1]),
                format_size(raw),
                format_size(
                    size_granule(want.mode, space.region.align, space.region.interleave_ways, want.align)
                ),
                space.region.dev,
            )
        placed.append(
            Action(CREATE_NAMESPACE, space.region.dev, _create_params(want, space.region.dev, raw), reason)
        )
        space.take(raw)
    return destroys + inits + fixes + placed


def _init_labels_action(space: _Space, in_use: FrozenSet[str], allow_data_loss: bool, force: bool) -> Action:
    region = space.region
    raw_namespaces = [ns for ns in space.live if ns.enabled]
    if any(_in_use(ns, in_use) for ns in raw_namespaces) and not force:
        raise Busy(
            "%s is label-less and its namespace %s is in use; initialising labels would discard it"
            % (region.dev, ", ".join(ns.dev for ns in raw_namespaces))
        )
    if raw_namespaces and not allow_data_loss:
        raise SafeModeRefused(
            "allow_data_loss: %s is label-less; initialising its labels discards the raw namespace %s "
            "(%s) and any data on it" % (region.dev, raw_namespaces[0].dev, format_size(region.size))
        )
    return Action(
        INIT_LABELS,
        region.dev,
        {"nmems": list(region.dimms)},
        "%s is label-less: namespaces can only be named and sub-divided with labels" % region.dev,
        destroys_data=bool(raw_namespaces),
    )


def _place(
    want: DesiredNamespace, spec: Tuple[str, Any], spaces: Dict[str, _Space], index: int
) -> Tuple[_Space, int]:
    """Choose the region: the named one, else best fit among the NUMA node's (or all) regions."""
    if want.region is not None:
        candidates = [spaces[want.region]]
        numa = candidates[0].region.numa_node
        if want.numa_node is not None and numa != want.numa_node:
            raise InvalidRequest(
                _field(index, "numa_node"),
                "conflicts with region %s, which is on NUMA node %s" % (want.region, numa),
                want.numa_node,
            )
    else:
        candidates = [
            s
            for s in spaces.values()
            if s.region.type == "pmem"
            and s.region.enabled
            and (want.numa_node is None or s.region.numa_node == want.numa_node)
        ]
        if not candidates:
            raise InsufficientCapacity(
                "%s: no PMem region%s"
                % (
                    _field(index, "numa_node" if want.numa_node is not None else "region"),
                    " on NUMA node %s" % want.numa_node if want.numa_node is not None else "",
                )
            )
    fitting = []
    for space in candidates:
        raw = _resolve_raw(want, spec, space)
        if _fits(raw, want, space):
            fitting.append((space, raw))
    if not fitting:
        raise InsufficientCapacity(
            "%s: no region has room for %s namespace %s (%s); free extents: %s"
            % (
                _field(index, "size"),
                want.mode,
                want.name,
                "all remaining space" if spec[0] == "all" else str(want.size),
                ", ".join(
                    "%s %s" % (s.region.dev, format_size(s.extent if not s.label_less else s.region.size))
                    for s in candidates
                ),
            )
        )
    if spec[0] == "all":
        # Take the roomiest region; labelled ones before label-less ones.
        fitting.sort(key=lambda item: (item[0].label_less, -item[1], item[0].region.region_id or 0))
    else:
        # Best fit: the smallest free extent that holds it; labelled regions first.
        fitting.sort(key=lambda item: (item[0].label_less, item[0].extent, item[0].region.region_id or 0))
    return fitting[0]


# --- goals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredGoal:
    """What pmem_goal asks ipmctl for. ``sockets`` None means every socket with modules."""

    persistent_memory_type: str = "AppDirect"
    memory_mode: int = 0
    reserved: int = 0
    sockets: Optional[Tuple[int, ...]] = None
    state: str = "present"


def _goal_socket_config(modules, regions, socket: int) -> Dict[str, Any]:
    mods = [m for m in modules if m.socket_id == socket]
    capacity = sum(m.capacity or 0 for m in mods)
    memory = sum(m.memory_capacity or 0 for m in mods)
    socket_regions = [r for r in regions if r.socket_id == socket]
    types = sorted({r.persistent_memory_type or "" for r in socket_regions})
    return {
        "modules": len(mods),
        "memory_mode": round(100.0 * memory / capacity) if capacity else 0,
        "persistent_memory_type": ",".join(types) if types else None,
        "regions": len(socket_regions),
    }


def plan_goal(
    desired: DesiredGoal,
    modules: Sequence[Any],
    regions: Sequence[Any],
    goals: Sequence[Any],
    namespaces: Sequence[Namespace] = (),
    *,
    allow_data_loss: bool = False,
    tolerance: int = 2,
) -> List[Action]:
    """Goal actions for ipmctl views (show -dimm/-region/-goal) and the namespaces on those sockets.

    Nothing when the applied configuration (or a pending goal) already matches.
    A change while namespaces exist or App Direct regions would be replaced
    needs ``allow_data_loss``; the namespaces are destroyed first (ipmctl
    refuses a goal while they exist). Failed goals raise GoalFailed.
    """
    from .ipmctl import Ipmctl, raise_for_failed_goals  # local: keeps planner free of ipmctl at import

    if desired.state not in STATES:
        raise InvalidRequest("state", "must be present or absent", desired.state)
    # The same checks create_goal makes, before anything is planned (check mode sees them too).
    Ipmctl.create_goal_args(
        desired.persistent_memory_type, desired.memory_mode, desired.reserved, desired.sockets
    )

    sockets = sorted(
        set(desired.sockets) if desired.sockets else {m.socket_id for m in modules if m.socket_id is not None}
    )
    socket_goals = [g for g in goals if g.socket_id in sockets]
    label = "sockets %s" % ",".join(str(s) for s in sockets)
    if desired.state == "absent":
        return (
            [Action("delete_goal", label, {"sockets": desired.sockets}, "goals exist")]
            if socket_goals
            else []
        )
    raise_for_failed_goals(socket_goals)
    differences = []
    for socket in sockets:
        config = _goal_socket_config(modules, regions, socket)
        pending = [g for g in socket_goals if g.socket_id == socket]
        if pending:
            total = sum(
                (g.memory_size or 0) + (g.app_direct1_size or 0) + (g.app_direct2_size or 0) for g in pending
            )
            memory = sum(g.memory_size or 0 for g in pending)
            share = 100.0 * memory / total if total else 0
            if abs(share - desired.memory_mode) > tolerance:
                differences.append(
                    "socket %d: the pending goal has %d%% Memory Mode" % (socket, round(share))
                )
            continue
        if abs(config["memory_mode"] - desired.memory_mode) > tolerance:
            differences.append(
                "socket %d: Memory Mode is %d%%, wanted %d%%"
                % (socket, config["memory_mode"], desired.memory_mode)
            )
            continue
        if desired.memory_mode + desired.reserved < 100:
            wanted_regions = 1 if desired.persistent_memory_type == "AppDirect" else config["modules"]
            if (
                config["persistent_memory_type"] != desired.persistent_memory_type
                or config["regions"] != wanted_regions
            ):
                differences.append(
                    "socket %d: App Direct is %s in %d region(s), wanted %s"
                    % (
                        socket,
                        config["persistent_memory_type"] or "absent",
                        config["regions"],
                        desired.persistent_memory_type,
                    )
                )
    if not differences:
        return []
    replaced = [s for s in sockets if _goal_socket_config(modules, regions, s)["regions"]]
    destroys = bool(replaced or namespaces)
    if destroys and not allow_data_loss:
        raise SafeModeRefused(
            "allow_data_loss: a new goal replaces the App Direct regions (%s) and needs the namespaces %s "
            "removed first: %s"
            % (
                ", ".join("socket %d" % s for s in replaced) or "none",
                ", ".join(ns.dev for ns in namespaces) or "none",
                "; ".join(differences),
            )
        )
    actions: List[Action] = []
    if socket_goals:
        actions.append(Action("delete_goal", label, {"sockets": desired.sockets}, "the pending goal differs"))
    for ns in namespaces:
        actions.append(
            Action(
                DESTROY_NAMESPACE,
                ns.dev,
                {"name": ns.name, "force": True},
                "ipmctl refuses a goal while namespaces exist",
                destroys_data=True,
            )
        )
    actions.append(
        Action(
            "create_goal",
            label,
            {
                "persistent_memory_type": desired.persistent_memory_type,
                "memory_mode": desired.memory_mode,
                "reserved": desired.reserved or None,
                "sockets": desired.sockets,
            },
            "; ".join(differences),
            destroys_data=destroys,
        )
    )
    return actions
