"""ndctl wrapper: list/inventory parsing, namespace and region operations, error mapping.

One method per ndctl subcommand. Every call goes through the injected runner
with an argv list; failures become the typed errors of errors.py, chosen from
the exit code and ndctl's stderr text (pmem-tools.md section 2.3/2.4).
"""

import json
import re
import uuid as uuid_module
from decimal import Decimal
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .errors import (
    BadAlignment,
    BadSize,
    Busy,
    InsufficientCapacity,
    InvalidRequest,
    LabelLessRegion,
    NotFound,
    PmemError,
    ToolFailed,
    ToolMissing,
)
from .model import NULL_UUID, Bus, DaxDevice, Dimm, Inventory, Mapping, Namespace, Region
from .naming import MAX_NAMESPACE_NAME_LENGTH
from .runner import CommandResult, CommandRunner

UINT64_MASK = 0xFFFFFFFFFFFFFFFF

# The argv of the one call inventory() makes; real ndctl 76 printed this exact
# shape in the reference captures (dimms + regions with nested namespaces).
INVENTORY_ARGS = ("list", "-RDN", "-iv")

_DIMM_FLAG_KEYS = (
    "flag_failed_map",
    "flag_failed_save",
    "flag_failed_arm",
    "flag_failed_restore",
    "flag_failed_flush",
    "flag_smart_event",
)


# --- output parsing ---------------------------------------------------------------------


_DECODER = json.JSONDecoder()


def parse_json_objects(text: str) -> List[Any]:
    """Every JSON value in ``text``: nothing for empty output, several for create-namespace -c."""
    decoder = _DECODER
    values = []
    index = 0
    length = len(text)
    while True:
        while index < length and text[index] in " \t\r\n":
            index += 1
        if index >= length:
            return values
        value, index = decoder.raw_decode(text, index)
        values.append(value)


def _kind_of(obj: Dict[str, Any]) -> str:
    if "provider" in obj:
        return "buses"
    dev = str(obj.get("dev", ""))
    if dev.startswith("nmem"):
        return "dimms"
    if dev.startswith("region"):
        return "regions"
    if dev.startswith("namespace"):
        return "namespaces"
    if "chardev" in obj:
        return "devices"
    return "unknown"


_NAMESPACE_DEV_RE = re.compile(r"^namespace(\d+)\.\d+$")
_DIGITS_RE = re.compile(r"\d+")


def region_of_namespace(dev: str) -> Optional[str]:
    """namespaceN.M lives in regionN (a kernel naming rule)."""
    match = _NAMESPACE_DEV_RE.match(dev or "")
    return "region%s" % match.group(1) if match else None


def normalize_list(parsed: Any) -> Dict[str, List[Dict[str, Any]]]:
    """Turn whatever ``ndctl list`` printed into ``{"buses", "dimms", "regions", "namespaces"}``.

    Accepts None/"" (nothing matched), a bare array of one object type, a bare
    object (``-u`` with one element), an object of arrays, an array of buses
    (``-B``) and the bare array of regions with nested namespaces. Regions keep
    their nested ``namespaces``; the top-level ``namespaces`` list holds every
    namespace (nested or not), each tagged with its ``region``.
    """
    out: Dict[str, List[Dict[str, Any]]] = {"buses": [], "dimms": [], "regions": [], "namespaces": []}
    if parsed is None or parsed == "":
        return out

    def add_container(container: Dict[str, Any], bus: Optional[str]) -> None:
        for key in ("dimms", "regions", "namespaces"):
            for obj in container.get(key) or []:
                add(obj, bus)

    def add(obj: Any, bus: Optional[str]) -> None:
        if not isinstance(obj, dict):
            raise ValueError("unexpected ndctl list element: %r" % (obj,))
        kind = _kind_of(obj)
        if kind == "buses":
            out["buses"].append({k: v for k, v in obj.items() if k not in ("dimms", "regions", "namespaces")})
            add_container(obj, obj.get("dev"))
        elif kind == "regions":
            out["regions"].append(obj)
            for ns in obj.get("namespaces") or []:
                out["namespaces"].append(dict(ns, region=obj.get("dev")))
        elif kind == "namespaces":
            out["namespaces"].append(
                dict(obj, region=obj.get("region") or region_of_namespace(obj.get("dev")))
            )
        elif kind == "dimms":
            out["dimms"].append(obj)
        else:
            raise ValueError("unexpected ndctl list element: %r" % (obj,))

    if isinstance(parsed, list):
        for obj in parsed:
            add(obj, None)
    elif isinstance(parsed, dict):
        if "dev" in parsed or "provider" in parsed:
            add(parsed, None)
        else:
            unknown = set(parsed) - {"buses", "dimms", "regions", "namespaces"}
            if unknown:
                raise ValueError("unexpected ndctl list keys: %s" % ", ".join(sorted(unknown)))
            for bus in parsed.get("buses") or []:
                add(bus, None)
            add_container(parsed, None)
    else:
        raise ValueError("unexpected ndctl list output: %r" % (parsed,))
    return out


def parse_list_output(stdout: str) -> Dict[str, List[Dict[str, Any]]]:
    values = parse_json_objects(stdout)
    if not values:
        return normalize_list(None)
    if len(values) > 1:
        merged = [v for value in values for v in (value if isinstance(value, list) else [value])]
        return normalize_list(merged)
    return normalize_list(values[0])


# ndctl -u prints hex numbers and --human rounded sizes, "4.00 GiB (4.29 GB)".
_HEX_NUMBER_RE = re.compile(r"^\s*0x([0-9a-fA-F]+)\s*$")
_HUMAN_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]iB|B)\b")
_HUMAN_UNITS = {"b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50}


def parse_ndctl_number(value: Any) -> Optional[int]:
    """A number as ndctl prints it: int, ``"0x..."`` (with -u) or ``"4.00 GiB (4.29 GB)"``.

    Human strings are rounded by ndctl, so the result is approximate; the library
    never asks for -u itself. None stays None. Here rather than in sizes.py: reading
    ndctl's output should not load the size rules (pmem_info compiles every file it
    imports on every call).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        hex_match = _HEX_NUMBER_RE.match(value)
        if hex_match:
            return int(hex_match.group(1), 16)
        human = _HUMAN_SIZE_RE.match(value)
        if human:
            return int(Decimal(human.group(1)) * _HUMAN_UNITS[human.group(2).lower()])
        if value.strip().lstrip("-").isdigit():
            return int(value)
    raise ValueError("not an ndctl number: %r" % (value,))


def _int(value: Any) -> Optional[int]:
    return parse_ndctl_number(value)


def normalize_iset_id(value: Any) -> Optional[int]:
    """iset_id as an unsigned 64-bit int (older builds print it signed, -u prints hex)."""
    number = parse_ndctl_number(value)
    return None if number is None else number & UINT64_MASK


def _dax_device(obj: Dict[str, Any]) -> DaxDevice:
    return DaxDevice(
        chardev=obj.get("chardev", ""),
        size=_int(obj.get("size")) or 0,
        mode=obj.get("mode"),
        target_node=obj.get("target_node"),
        align=_int(obj.get("align")),
        online_memblocks=obj.get("online_memblocks"),
        total_memblocks=obj.get("total_memblocks"),
        movable=obj.get("movable"),
        state=obj.get("state"),
        raw=obj,
    )


def namespace_from_json(obj: Dict[str, Any], region: Optional[str] = None) -> Namespace:
    dax_devices: Tuple[DaxDevice, ...] = ()
    chardev = obj.get("chardev")
    daxregion = obj.get("daxregion")
    if isinstance(daxregion, dict):
        dax_devices = tuple(_dax_device(d) for d in daxregion.get("devices") or [])
        if chardev is None and dax_devices:
            chardev = dax_devices[0].chardev
    elif chardev:
        # Plain ndctl list names the device but not its dax mode (that needs -X or daxctl).
        dax_devices = (
            DaxDevice(chardev=chardev, size=_int(obj.get("size")) or 0, align=_int(obj.get("align"))),
        )
    return Namespace(
        dev=obj["dev"],
        mode=obj.get("mode", "raw"),
        size=_int(obj.get("size")) or 0,
        map=obj.get("map"),
        uuid=obj.get("uuid"),
        raw_uuid=obj.get("raw_uuid"),
        sector_size=_int(obj.get("sector_size")),
        align=_int(obj.get("align")),
        blockdev=obj.get("blockdev"),
        chardev=chardev,
        name=obj.get("name"),
        state=obj.get("state", "enabled"),
        numa_node=obj.get("numa_node"),
        target_node=obj.get("target_node"),
        region=region or obj.get("region") or region_of_namespace(obj["dev"]),
        dax_devices=dax_devices,
        raw=obj,
    )


def region_from_json(obj: Dict[str, Any], namespaces: Sequence[Dict[str, Any]] = ()) -> Region:
    real: List[Namespace] = []
    seeds: List[Namespace] = []
    for ns_obj in list(obj.get("namespaces") or []) + list(namespaces):
        ns = namespace_from_json(ns_obj, region=obj.get("dev"))
        (seeds if ns.is_seed else real).append(ns)
    mappings = tuple(
        Mapping(
            dimm=m.get("dimm", ""),
            offset=_int(m.get("offset")) or 0,
            length=_int(m.get("length")) or 0,
            position=m.get("position", 0),
        )
        for m in obj.get("mappings") or []
    )
    return Region(
        dev=obj["dev"],
        size=_int(obj.get("size")) or 0,
        align=_int(obj.get("align")) or 16 * 1024 * 1024,
        available_size=_int(obj.get("available_size")) or 0,
        max_available_extent=_int(obj.get("max_available_extent")) or 0,
        type=obj.get("type", "pmem"),
        iset_id=normalize_iset_id(obj.get("iset_id")),
        numa_node=obj.get("numa_node"),
        target_node=obj.get("target_node"),
        persistence_domain=obj.get("persistence_domain"),
        state=obj.get("state", "enabled"),
        mappings=mappings,
        namespaces=tuple(sorted(real, key=_dev_sort_key)),
        seeds=tuple(sorted(seeds, key=_dev_sort_key)),
        raw=obj,
    )


def dimm_from_json(obj: Dict[str, Any]) -> Dimm:
    return Dimm(
        dev=obj["dev"],
        id=obj.get("id"),
        handle=_int(obj.get("handle")),
        phys_id=_int(obj.get("phys_id")),
        state=obj.get("state", "enabled"),
        security=obj.get("security"),
        flags=tuple(k for k in _DIMM_FLAG_KEYS if obj.get(k)),
        health=obj.get("health"),
        firmware=obj.get("firmware"),
        raw=obj,
    )


def _dev_sort_key(obj: Any) -> Tuple[int, ...]:
    dev = obj.dev if hasattr(obj, "dev") else obj.get("dev", "")
    numbers = _DIGITS_RE.findall(dev)
    return tuple(int(n) for n in numbers) or (0,)


def inventory_from_list(normalized: Dict[str, List[Dict[str, Any]]]) -> Inventory:
    """Build an Inventory from normalize_list() output (sorted by device number, not ndctl's order)."""
    regions: List[Region] = []
    nested = set()
    for region_obj in normalized["regions"]:
        for ns in region_obj.get("namespaces") or []:
            nested.add(ns.get("dev"))
    # Namespaces listed on their own (no -R) are attached to their region by name.
    loose: Dict[str, List[Dict[str, Any]]] = {}
    for ns in normalized["namespaces"]:
        if ns.get("dev") not in nested:
            loose.setdefault(ns.get("region") or "", []).append(ns)
    for region_obj in normalized["regions"]:
        regions.append(region_from_json(region_obj, loose.pop(region_obj.get("dev"), [])))
    regions.sort(key=_dev_sort_key)
    return Inventory(
        buses=tuple(
            Bus(dev=b.get("dev", ""), provider=b.get("provider"), raw=b) for b in normalized["buses"]
        ),
        dimms=tuple(sorted((dimm_from_json(d) for d in normalized["dimms"]), key=_dev_sort_key)),
        regions=tuple(regions),
    )


# --- error mapping ----------------------------------------------------------------------

_COUNT_RE = re.compile(
    r"^(destroyed|disabled|enabled|initialized|zeroed|created|reconfigured|checked) (\d+) "
)


def tool_message(stderr: str, stdout: str = "") -> str:
    """ndctl's own explanation: stderr lines without the usage text, ``Error:`` prefixes removed."""
    lines = []
    for line in (stderr or "").splitlines():
        if line.strip().startswith("usage:"):
            break
        text = line.strip()
        if not text:
            continue
        if text.startswith("Error:"):
            text = text[len("Error:") :].strip()
        lines.append(text)
    if not lines and stdout.strip() and not stdout.lstrip().startswith(("{", "[")):
        lines = [stdout.strip()]
    return "; ".join(lines)


def _usage_field(message: str) -> str:
    lowered = message.lower()
    for needle, name in (
        ("mode", "mode"),
        ("uuid", "uuid"),
        ("align", "align"),
        ("size", "size"),
        ("sector", "sector_size"),
        ("map", "map"),
        ("name", "name"),
        ("region", "region"),
        ("namespace", "namespace"),
        ("parameter", "argv"),
    ):
        if needle in lowered:
            return name
    return "argv"


def error_for(result: CommandResult, action: str) -> PmemError:
    """The typed error for a failed ndctl/daxctl call (``action`` says what we tried)."""
    message = tool_message(result.stderr, result.stdout)
    text = result.stderr + "\n" + result.stdout
    kwargs = {
        "argv": result.argv,
        "rc": result.rc,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "tool_message": message or None,
    }
    summary = "%s failed" % action

    if (
        result.rc == 127
        or "command not found" in text
        or ("No such file or directory" in text and result.rc == 2)
    ):
        return ToolMissing("%s: %s is not installed" % (summary, result.argv[0]), **kwargs)
    if "Legacy / label-less namespaces do not support sub-dividing" in text:
        return LabelLessRegion(
            "%s: the region is label-less and cannot be sub-divided (initialise labels first)" % summary,
            **kwargs,
        )
    if "initialized 0 nmem" in text:
        return LabelLessRegion("%s: the DIMMs do not support namespace labels" % summary, **kwargs)
    if result.rc == 129 or "unknown extra parameter" in text or "unknown switch" in text:
        first = message.split(";", maxsplit=1)[0] if message else "usage error"
        return InvalidRequest(_usage_field(first), first, **kwargs)
    if "is misaligned" in text or "misaligned to" in text or "must align to interleave-width" in text:
        return BadAlignment("%s: size or placement is misaligned" % summary, **kwargs)
    if "unsupported align" in text or "does not support setting an alignment" in text:
        return InvalidRequest("align", message or "alignment not supported", **kwargs)
    if "unknown mode requested" in text:
        return InvalidRequest("mode", message, **kwargs)
    if "does not support btt sector_size" in text:
        return InvalidRequest("sector_size", message, **kwargs)
    if "must be >= 16MiB" in text or "must be >=" in text:
        return BadSize("%s: namespaces of this mode need at least 16 MiB" % summary, **kwargs)
    if "No space left on device" in text:
        return InsufficientCapacity("%s: not enough free capacity" % summary, **kwargs)
    if "is active" in text or "Device or resource busy" in text or "regions active" in text:
        return Busy("%s: the device is active or in use" % summary, **kwargs)
    if "No such device or address" in text or "No such device" in text:
        return NotFound("%s: no such device" % summary, **kwargs)
    # Unrecognised text: fall back on the errno ndctl/daxctl exit with ((-errno) & 0xff).
    if result.rc == 240:
        return Busy("%s: device or resource busy" % summary, **kwargs)
    if result.rc == 250:
        return NotFound("%s: no such device or address" % summary, **kwargs)
    if result.rc == 228:
        return InsufficientCapacity("%s: no space left on device" % summary, **kwargs)
    return ToolFailed(summary, **kwargs)


def parse_count(stderr: str) -> Optional[int]:
    """N from ``destroyed N namespaces`` / ``disabled N regions`` / ``initialized N nmems``."""
    for line in (stderr or "").splitlines():
        match = _COUNT_RE.match(line.strip())
        if match:
            return int(match.group(2))
    return None


_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# Whitespace (any Unicode space, as str.isspace) and control characters.
_NAME_FORBIDDEN_RE = re.compile(r"[\s\x00-\x1f\x7f]")


def _check_name(name: Optional[str]) -> None:
    if name is None:
        return
    if not isinstance(name, str) or not name:
        raise InvalidRequest("name", "must be a non-empty string", name)
    if len(name.encode("utf-8")) > MAX_NAMESPACE_NAME_LENGTH:
        raise InvalidRequest("name", "must be at most %d bytes" % MAX_NAMESPACE_NAME_LENGTH, name)
    if _NAME_FORBIDDEN_RE.search(name):
        raise InvalidRequest("name", "must not contain whitespace or control characters", name)


def _check_dev(field: str, value: str, pattern: str) -> None:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise InvalidRequest(field, "must look like %s" % pattern.strip("^$").replace("\\d+", "N"), value)


class Ndctl:
    """ndctl through an injected runner. ``binary`` may be a resolved absolute path."""

    def __init__(self, runner: CommandRunner, binary: str = "ndctl") -> None:
        self.runner = runner
        self.binary = binary

    def _run(self, args: Sequence[str]) -> CommandResult:
        return self.runner.run([self.binary, *args])

    def _checked(self, args: Sequence[str], action: str) -> CommandResult:
        result = self._run(args)
        if result.rc != 0:
            raise error_for(result, action)
        return result

    # --- reads -------------------------------------------------------------------------

    @staticmethod
    def list_args(
        buses: bool = False,
        dimms: bool = False,
        regions: bool = False,
        namespaces: bool = False,
        idle: bool = False,
        verbose: bool = False,
        human: bool = False,
        health: bool = False,
        firmware: bool = False,
        capabilities: bool = False,
        dax: bool = False,
        media_errors: bool = False,
        region: Optional[str] = None,
        namespace: Optional[str] = None,
        dimm: Optional[str] = None,
        bus: Optional[str] = None,
        mode: Optional[str] = None,
        numa_node: Optional[int] = None,
        type: Optional[str] = None,
    ) -> List[str]:
        """The argv (after the binary) for ``ndctl list`` with these flags, in the transcripts' style."""
        cluster = "".join(
            letter
            for letter, wanted in (
                ("B", buses),
                ("R", regions),
                ("D", dimms),
                ("N", namespaces),
                ("X", dax),
                ("C", capabilities),
                ("H", health),
                ("F", firmware),
                ("M", media_errors),
            )
            if wanted
        )
        args = ["list"]
        if idle and not verbose:
            cluster += "i"
        if cluster:
            args.append("-" + cluster)
        if verbose:
            args.append("-iv" if idle else "-v")
        for flag, value in (
            ("-r", region),
            ("-n", namespace),
            ("-d", dimm),
            ("-b", bus),
            ("-m", mode),
            ("-t", type),
        ):
            if value is not None:
                args += [flag, str(value)]
        if numa_node is not None:
            args += ["-U", str(int(numa_node))]
        if human:
            args.append("-u")
        return args

    def list(self, **flags: Any) -> Dict[str, List[Dict[str, Any]]]:
        """``ndctl list`` normalised to buses/dimms/regions/namespaces lists (see normalize_list)."""
        from .sizes import MODES  # the size rules load only where a request is checked

        if flags.get("mode") is not None and flags["mode"] not in MODES:
            raise InvalidRequest("mode", "must be one of %s" % ", ".join(MODES), flags["mode"])
        result = self._checked(self.list_args(**flags), "ndctl list")
        try:
            return parse_list_output(result.stdout)
        except ValueError as exc:
            raise ToolFailed(
                "ndctl list printed output that is not ndctl JSON: %s" % exc,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            ) from None

    def inventory(self) -> Inventory:
        """Dimms, regions (with mappings, numa nodes) and all namespaces incl. disabled: ONE call."""
        result = self._checked(INVENTORY_ARGS, "ndctl list")
        try:
            return inventory_from_list(parse_list_output(result.stdout))
        except (ValueError, KeyError) as exc:
            raise ToolFailed(
                "ndctl list printed output that is not ndctl JSON: %s" % exc,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            ) from None

    def namespaces(self, region: Optional[str] = None, idle: bool = False) -> List[Namespace]:
        listed = self.list(namespaces=True, idle=idle, region=region)
        return sorted((namespace_from_json(ns) for ns in listed["namespaces"]), key=_dev_sort_key)

    def regions(self, region: Optional[str] = None) -> List[Region]:
        listed = self.list(regions=True, namespaces=True, region=region)
        return list(inventory_from_list(listed).regions)

    # --- namespace changes -------------------------------------------------------------

    @staticmethod
    def create_args(
        region: Optional[str] = None,
        mode: str = "fsdax",
        size: Optional[int] = None,
        name: Optional[str] = None,
        align: Optional[int] = None,
        map: Optional[str] = None,
        sector_size: Optional[int] = None,
        uuid: Optional[str] = None,
        force: bool = False,
        reconfig: Optional[str] = None,
        greedy: bool = False,
    ) -> List[str]:
        from .sizes import ndctl_size_arg, validate_mode_options  # see list()

        validate_mode_options(mode, align, map, sector_size)
        _check_name(name)
        if uuid is not None and not _UUID_RE.match(str(uuid)):
            raise InvalidRequest("uuid", "must be a UUID like 01234567-89ab-cdef-0123-456789abcdef", uuid)
        if uuid is not None and str(uuid) == NULL_UUID:
            raise InvalidRequest("uuid", "must not be the all-zero UUID", uuid)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
            raise InvalidRequest("size", "must be a positive number of bytes", size)
        if region is not None:
            _check_dev("region", str(region), r"^(region)?\d+$")
        if reconfig is not None:
            _check_dev("reconfig", reconfig, r"^namespace\d+\.\d+$")
        args = ["create-namespace"]
        if force:
            args.append("-f")
        if reconfig is not None:
            args += ["-e", reconfig]
        if greedy:
            args.append("-c")
        if region is not None:
            args += ["-r", str(region)]
        args += ["-m", mode]
        if size is not None:
            args += ["-s", ndctl_size_arg(size)]
        if name is not None:
            args += ["-n", name]
        if map is not None:
            args.append("--map=%s" % map)
        if align is not None:
            args.append("--align=%s" % ndctl_size_arg(align))
        if sector_size is not None:
            args += ["-l", str(sector_size)]
        if uuid is not None:
            args.append("--uuid=%s" % uuid)
        return args

    def create_namespace(
        self,
        region: Optional[str] = None,
        mode: str = "fsdax",
        size: Optional[int] = None,
        name: Optional[str] = None,
        align: Optional[int] = None,
        map: Optional[str] = None,
        sector_size: Optional[int] = None,
        uuid: Optional[str] = None,
        force: bool = False,
        reconfig: Optional[str] = None,
    ) -> Namespace:
        """Create (or with ``reconfig`` re-create, destroying its data) one namespace."""
        args = self.create_args(region, mode, size, name, align, map, sector_size, uuid, force, reconfig)
        action = "reconfigure namespace %s" % reconfig if reconfig else "create namespace"
        result = self._checked(args, action)
        created = self._parse_created(result)
        if not created:
            raise ToolFailed(
                "%s printed no namespace" % action,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            )
        return created[0]

    def create_namespaces_greedy(
        self,
        region: Optional[str] = None,
        mode: str = "fsdax",
        size: Optional[int] = None,
        **options: Any,
    ) -> List[Namespace]:
        """``create-namespace -c``: as many namespaces as fit (one per region); several JSON objects."""
        args = self.create_args(region, mode, size, greedy=True, **options)
        return self._parse_created(self._checked(args, "create namespaces"))

    @staticmethod
    def _parse_created(result: CommandResult) -> List[Namespace]:
        try:
            objects = parse_json_objects(result.stdout)
        except ValueError as exc:
            raise ToolFailed(
                "create-namespace printed unexpected output: %s" % exc,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            ) from None
        flat: List[Dict[str, Any]] = []
        for obj in objects:
            flat.extend(obj if isinstance(obj, list) else [obj])
        return [namespace_from_json(obj) for obj in flat if isinstance(obj, dict) and "dev" in obj]

    def reconfigure_namespace(self, dev: str, mode: str, force: bool = True, **options: Any) -> Namespace:
        """``create-namespace -f -e dev``: destroy and re-create in place (data is lost)."""
        return self.create_namespace(mode=mode, force=force, reconfig=dev, **options)

    def destroy_namespace(self, dev: str, force: bool = False, region: Optional[str] = None) -> int:
        """Destroy one namespace (or ``all``); returns how many ndctl destroyed."""
        return self._namespace_verb("destroy-namespace", dev, force=force, region=region)

    def disable_namespace(self, dev: str, region: Optional[str] = None) -> int:
        return self._namespace_verb("disable-namespace", dev, region=region)

    def enable_namespace(self, dev: str, region: Optional[str] = None) -> int:
        return self._namespace_verb("enable-namespace", dev, region=region)

    def _namespace_verb(self, verb: str, dev: str, force: bool = False, region: Optional[str] = None) -> int:
        if dev != "all":
            _check_dev("namespace", dev, r"^(namespace)?\d+\.\d+$")
        args = [verb]
        if force:
            args.append("-f")
        if region is not None:
            args += ["-r", str(region)]
        args.append(dev)
        result = self._checked(args, "%s %s" % (verb, dev))
        count = parse_count(result.stderr)
        return 0 if count is None else count

    # --- labels and regions ------------------------------------------------------------

    def init_labels(self, nmem: str = "all", force: bool = False) -> int:
        """Write a fresh label index (regions must be disabled first). Returns nmems initialised."""
        if nmem != "all":
            _check_dev("nmem", nmem, r"^(nmem)?\d+$")
        args = ["init-labels"]
        if force:
            args.append("-f")
        args.append(nmem)
        result = self._checked(args, "init-labels %s" % nmem)
        return parse_count(result.stderr) or 0

    def zero_labels(self, nmem: str = "all") -> int:
        if nmem != "all":
            _check_dev("nmem", nmem, r"^(nmem)?\d+$")
        result = self._checked(["zero-labels", nmem], "zero-labels %s" % nmem)
        return parse_count(result.stderr) or 0

    def disable_region(self, region: str = "all") -> int:
        return self._region_verb("disable-region", region)

    def enable_region(self, region: str = "all") -> int:
        return self._region_verb("enable-region", region)

    def _region_verb(self, verb: str, region: str) -> int:
        if region != "all":
            _check_dev("region", region, r"^(region)?\d+$")
        result = self._checked([verb, region], "%s %s" % (verb, region))
        return parse_count(result.stderr) or 0

    def version(self) -> str:
        return self._checked(["--version"], "ndctl --version").stdout.strip()


def new_uuid() -> str:
    return str(uuid_module.uuid4())
