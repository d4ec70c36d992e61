"""Value classes describing PMem state as ndctl, daxctl and ipmctl report it.

They are values: equal and hashable by their compared fields, and never changed after
they are built (nothing in the collection or the driver assigns to them).

They are declared like dataclasses (annotated fields, defaults, ``detail()`` for
fields left out of equality) but built by ``_value`` below, without generated code:
@dataclass compiles four functions per class at import, which was a quarter of the
time pmem_info spent loading this library, on every module call of every host.

Sizes are always int bytes. ``raw`` keeps the parsed JSON/XML object a value
came from so callers can reach fields the model does not name.
"""

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .naming import is_driver_namespace

NULL_UUID = "00000000-0000-0000-0000-000000000000"

_NO_DEFAULT = object()


class _Detail(object):
    """A field outside equality and hashing (as dataclasses.field(compare=False, hash=False))."""

    __slots__ = ("default", "factory", "shown")

    def __init__(self, default: Any, factory: Optional[Callable[[], Any]], shown: bool) -> None:
        self.default = default
        self.factory = factory
        self.shown = shown


def detail(default: Any = None, factory: Optional[Callable[[], Any]] = None, shown: bool = True) -> Any:
    """Declare a field that equality, hashing and (with shown=False) repr leave out."""
    return _Detail(default, factory, shown)


def _value(cls: Any) -> Any:
    """Give ``cls`` __init__, __eq__, __hash__ and __repr__ from its annotated fields.

    What @dataclass(unsafe_hash=True) gives, built from closures: keyword or positional
    arguments in declaration order, required fields before defaulted ones.
    """
    names: List[str] = []
    defaults: Dict[str, Any] = {}
    factories: Dict[str, Callable[[], Any]] = {}
    compared: List[str] = []
    shown: List[str] = []
    # The class's own annotations (inspect.get_annotations is Python 3.10+; targets run 3.8).
    for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063
        declared = cls.__dict__.get(name, _NO_DEFAULT)
        if isinstance(declared, _Detail):
            if declared.factory is not None:
                factories[name] = declared.factory
            else:
                defaults[name] = declared.default
            delattr(cls, name)
            if declared.shown:
                shown.append(name)
        else:
            if declared is not _NO_DEFAULT:
                defaults[name] = declared
            elif defaults or factories:
                raise TypeError("%s: required field %s follows a defaulted one" % (cls.__name__, name))
            compared.append(name)
            shown.append(name)
        names.append(name)
    field_names = tuple(names)
    known = frozenset(names)
    compared_names = tuple(compared)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(field_names):
            raise TypeError("%s() takes at most %d arguments" % (cls.__name__, len(field_names)))
        values = self.__dict__
        values.update(zip(field_names, args))  # noqa: B905 (checked above; strict= is 3.10+)
        for name, value in kwargs.items():
            if name not in known:
                raise TypeError("%s() got an unexpected keyword argument %r" % (cls.__name__, name))
            if name in values:
                raise TypeError("%s() got multiple values for argument %r" % (cls.__name__, name))
            values[name] = value
        for name in field_names[len(args) :]:
            if name not in values:
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise TypeError("%s() missing required argument %r" % (cls.__name__, name))

    def _key(self: Any) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in compared_names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _key(self) == _key(other)

    def __hash__(self: Any) -> int:
        return hash(_key(self))

    def __repr__(self: Any) -> str:
        return "%s(%s)" % (
            cls.__qualname__,
            ", ".join("%s=%r" % (name, getattr(self, name)) for name in shown),
        )

    cls.__init__ = __init__
    cls.__eq__ = __eq__
    cls.__hash__ = __hash__
    cls.__repr__ = __repr__
    cls._fields = field_names
    return cls


def _facts(value: Any) -> Any:
    """A JSON-safe copy of ``value``: model values become dicts of their fields, tuples
    lists, and the ``raw`` tool objects are left out at every depth (skipped before
    they are copied).
    """
    if isinstance(value, (list, tuple)):
        return [_facts(item) for item in value]
    if isinstance(value, dict):
        return {key: _facts(item) for key, item in value.items() if key != "raw"}
    if isinstance(value, _Facts):
        return {name: _facts(getattr(value, name)) for name in value._fields if name != "raw"}
    return value


class _Facts(object):
    """Base of the value classes: ``to_dict()`` gives JSON-safe facts without the ``raw`` copies."""

    _fields: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return _facts(self)


@_value
class Bus(_Facts):
    dev: str
    provider: Optional[str] = None
    raw: Dict[str, Any] = detail(factory=dict, shown=False)


@_value
class Dimm(_Facts):
    """An NVDIMM as ndctl sees it (nmemN)."""

    dev: str
    id: Optional[str] = None
    handle: Optional[int] = None
    phys_id: Optional[int] = None
    state: str = "enabled"
    security: Optional[str] = None
    flags: Tuple[str, ...] = ()
    health: Optional[Dict[str, Any]] = detail()
    firmware: Optional[Dict[str, Any]] = detail()
    raw: Dict[str, Any] = detail(factory=dict, shown=False)


@_value
class Mapping(_Facts):
    dimm: str
    offset: int
    length: int
    position: int


@_value
class DaxDevice(_Facts):
    chardev: str
    size: int
    # devdax or system-ram; None when the source (plain ndctl list) does not say.
    mode: Optional[str] = None
    target_node: Optional[int] = None
    align: Optional[int] = None
    online_memblocks: Optional[int] = None
    total_memblocks: Optional[int] = None
    movable: Optional[bool] = None
    state: Optional[str] = None
    raw: Dict[str, Any] = detail(factory=dict, shown=False)


@_value
class Namespace(_Facts):
    """A namespace. ``size`` is the usable size ndctl reports (after metadata).

    A disabled namespace is listed by ndctl as mode raw with its raw size,
    whatever its personality: ``state == "disabled"`` tells.
    """

    dev: str
    mode: str
    size: int
    map: Optional[str] = None
    uuid: Optional[str] = None
    raw_uuid: Optional[str] = None
    sector_size: Optional[int] = None
    align: Optional[int] = None
    blockdev: Optional[str] = None
    chardev: Optional[str] = None
    name: Optional[str] = None
    state: str = "enabled"
    numa_node: Optional[int] = None
    target_node: Optional[int] = None
    region: Optional[str] = None
    dax_devices: Tuple[DaxDevice, ...] = ()
    raw: Dict[str, Any] = detail(factory=dict, shown=False)

    @property
    def enabled(self) -> bool:
        return self.state != "disabled"

    @property
    def is_seed(self) -> bool:
        """The idle zero-size namespace every labelled region exposes (not a real namespace)."""
        return self.size == 0 and not self.enabled and (self.uuid in (None, NULL_UUID)) and not self.name

    @property
    def device(self) -> Optional[str]:
        """/dev path of the block or character device, when enabled."""
        if self.blockdev:
            return "/dev/" + self.blockdev
        if self.chardev:
            return "/dev/" + self.chardev
        return None

    @property
    def is_driver_owned(self) -> bool:
        return is_driver_namespace(self.name)

    @property
    def region_id(self) -> Optional[int]:
        """N of namespaceN.M."""
        try:
            return int(self.dev[len("namespace") :].split(".")[0])
        except (ValueError, IndexError):
            return None


@_value
class Region(_Facts):
    dev: str
    size: int
    align: int = 16 * 1024 * 1024
    available_size: int = 0
    max_available_extent: int = 0
    type: str = "pmem"
    iset_id: Optional[int] = None
    numa_node: Optional[int] = None
    target_node: Optional[int] = None
    persistence_domain: Optional[str] = None
    state: str = "enabled"
    mappings: Tuple[Mapping, ...] = ()
    namespaces: Tuple[Namespace, ...] = ()
    # Idle 0-size seed namespaces (seen with -i); kept apart from real namespaces.
    seeds: Tuple[Namespace, ...] = ()
    raw: Dict[str, Any] = detail(factory=dict, shown=False)

    @property
    def label_less(self) -> bool:
        """Label-less (legacy nd_namespace_io) regions have no interleave-set cookie."""
        return self.iset_id is None

    @property
    def interleave_ways(self) -> int:
        return max(1, len(self.mappings))

    @property
    def enabled(self) -> bool:
        return self.state != "disabled"

    @property
    def dimms(self) -> Tuple[str, ...]:
        return tuple(m.dimm for m in self.mappings)

    @property
    def region_id(self) -> Optional[int]:
        try:
            return int(self.dev[len("region") :])
        except ValueError:
            return None


@_value
class Inventory(_Facts):
    buses: Tuple[Bus, ...] = ()
    dimms: Tuple[Dimm, ...] = ()
    regions: Tuple[Region, ...] = ()

    def namespaces(self, include_disabled: bool = True) -> List[Namespace]:
        out = []
        for region in self.regions:
            for ns in region.namespaces:
                if include_disabled or ns.enabled:
                    out.append(ns)
        return out

    def iter_namespaces(self) -> Iterator[Namespace]:
        return iter(self.namespaces())

    def namespace_by_name(self, name: str) -> Optional[Namespace]:
        """The namespace called ``name`` (None when absent). Names are unique per host by convention."""
        for ns in self.namespaces():
            if ns.name == name:
                return ns
        return None

    def namespaces_by_name(self, name: str) -> List[Namespace]:
        return [ns for ns in self.namespaces() if ns.name == name]

    def namespace_by_dev(self, dev: str) -> Optional[Namespace]:
        for ns in self.namespaces():
            if ns.dev == dev:
                return ns
        return None

    def region_by_dev(self, dev: str) -> Optional[Region]:
        for region in self.regions:
            if region.dev == dev:
                return region
        return None

    def region_of(self, namespace: Namespace) -> Optional[Region]:
        return self.region_by_dev(namespace.region) if namespace.region else None

    def dimm_by_dev(self, dev: str) -> Optional[Dimm]:
        for dimm in self.dimms:
            if dimm.dev == dev:
                return dimm
        return None

    @property
    def label_less_regions(self) -> List[Region]:
        return [r for r in self.regions if r.label_less]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "buses": [b.to_dict() for b in self.buses],
            "dimms": [d.to_dict() for d in self.dimms],
            "regions": [
                dict(r.to_dict(), label_less=r.label_less, interleave_ways=r.interleave_ways)
                for r in self.regions
            ],
            "namespaces": [dict(ns.to_dict(), device=ns.device) for ns in self.namespaces()],
        }


# --- ipmctl views ---------------------------------------------------------------------


@_value
class PmemModule(_Facts):
    """An Optane PMem module as ipmctl shows it (show -dimm -a)."""

    dimm_id: str
    socket_id: Optional[int] = None
    capacity: Optional[int] = None
    health_state: Optional[str] = None
    lock_state: Optional[str] = None
    fw_version: Optional[str] = None
    dimm_uid: Optional[str] = None
    memory_capacity: Optional[int] = None
    app_direct_capacity: Optional[int] = None
    unconfigured_capacity: Optional[int] = None
    inaccessible_capacity: Optional[int] = None
    reserved_capacity: Optional[int] = None
    configuration_status: Optional[str] = None
    sku_violation: Optional[bool] = None
    manageability_state: Optional[str] = None
    attributes: Dict[str, str] = detail(factory=dict)


@_value
class MemoryResources(_Facts):
    """show -memoryresources: capacity per memory type, for DDR, PMem modules and in total."""

    volatile: Dict[str, Optional[int]] = detail(factory=dict)
    app_direct: Dict[str, Optional[int]] = detail(factory=dict)
    cache: Dict[str, Optional[int]] = detail(factory=dict)
    inaccessible: Dict[str, Optional[int]] = detail(factory=dict)
    physical: Dict[str, Optional[int]] = detail(factory=dict)

    @property
    def pmem_app_direct(self) -> int:
        return int(self.app_direct.get("pmem_module") or 0)

    @property
    def pmem_volatile(self) -> int:
        return int(self.volatile.get("pmem_module") or 0)


@_value
class Goal(_Facts):
    """A memory allocation goal on one module (show -goal)."""

    socket_id: Optional[int]
    dimm_id: str
    memory_size: Optional[int] = None
    app_direct1_size: Optional[int] = None
    app_direct2_size: Optional[int] = None
    app_direct1_settings: Optional[str] = None
    app_direct2_settings: Optional[str] = None
    app_direct1_index: Optional[str] = None
    app_direct2_index: Optional[str] = None
    status: Optional[str] = None
    attributes: Dict[str, str] = detail(factory=dict)

    @property
    def status_prefix(self) -> Optional[str]:
        """``New``, ``Unknown``, ``Failed - Bad request``...: the part of Status before ':'."""
        if self.status is None:
            return None
        return self.status.split(":", 1)[0].strip()

    @property
    def failed(self) -> bool:
        return bool(self.status_prefix and self.status_prefix.startswith("Failed"))

    @property
    def pending(self) -> bool:
        return self.status_prefix in (None, "New")


@_value
class IpmctlRegion(_Facts):
    socket_id: Optional[int]
    persistent_memory_type: Optional[str] = None
    capacity: Optional[int] = None
    free_capacity: Optional[int] = None
    health_state: Optional[str] = None
    dimm_ids: Tuple[str, ...] = ()
    region_id: Optional[int] = None
    iset_id: Optional[int] = None
    attributes: Dict[str, str] = detail(factory=dict)


@_value
class TopologyEntry(_Facts):
    dimm_id: str
    memory_type: Optional[str] = None
    capacity: Optional[int] = None
    physical_id: Optional[str] = None
    device_locator: Optional[str] = None
    socket_id: Optional[int] = None
    attributes: Dict[str, str] = detail(factory=dict)

    @property
    def is_pmem(self) -> bool:
        return self.dimm_id not in ("N/A", "") and not (self.memory_type or "").startswith("DDR")


@_value
class Sensor(_Facts):
    dimm_id: str
    type: str
    current_value: Optional[str] = None
    attributes: Dict[str, str] = detail(factory=dict)


@_value
class Firmware(_Facts):
    dimm_id: str
    active_fw_version: Optional[str] = None
    staged_fw_version: Optional[str] = None
    attributes: Dict[str, str] = detail(factory=dict)


@_value
class Platform(_Facts):
    """Can this host be managed with ipmctl? ``reason`` explains a False."""

    optane_present: bool
    ipmctl_usable: bool
    reason: str = ""
    module_count: int = 0
