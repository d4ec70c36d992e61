"""ipmctl wrapper: reads through ``-o nvmxml -u B``, goal changes, platform probe.

ipmctl prints everything on stdout (errors too). Sizes are requested in bytes
(``-u B`` prints ``94489280512 B``) so no rounding happens. The XML layout is
ipmctl's Printer.c renderer (pmem-tools.md section 1.3); it is parsed with
xml.etree, never with regexes. A host without Optane answers every command with
one plain-text line, recognised by no_pmem_modules() and nowhere else.
"""

import re
import xml.etree.ElementTree as ET
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import (
    Busy,
    GoalFailed,
    InvalidRequest,
    NoPmemModules,
    NotFound,
    PmemError,
    SafeModeRefused,
    ToolFailed,
    ToolMissing,
)
from .model import (
    Firmware,
    Goal,
    IpmctlRegion,
    MemoryResources,
    Platform,
    PmemModule,
    Sensor,
    TopologyEntry,
)
from .runner import CommandResult, CommandRunner

PERSISTENT_MEMORY_TYPES = ("AppDirect", "AppDirectNotInterleaved")
READ_OPTIONS = ("-o", "nvmxml", "-u", "B")

# Every wording ipmctl has used for "this host has no (functional) Optane modules".
_NO_MODULES_TEXTS = (
    "No PMem modules in the system",
    "No functional PMem modules in the system",
    "No DIMMs in the system",
    "No functional DIMMs in the system",
    "No manageable PMem modules in the system",
)
_ROOT_TEXT = "requires root privileges"
_STATUS_RE = re.compile(r"Error\s+(\d+)\s*-\s*(.*)")
# NVM status codes meaning "the object does not exist" (MatchCliReturnCode NOT_FOUND class).
_NOT_FOUND_CODES = {11, 111, 122}
# "Namespaces exist on specified PMem modules" and "goal already exists".
_NAMESPACES_EXIST = 124
_GOAL_EXISTS = 115
_NO_GOAL_ON_MODULE = 122


def no_pmem_modules(text: str) -> bool:
    """True when ipmctl said the host has no (functional) PMem modules: THE one place this is decided."""
    return any(phrase in (text or "") for phrase in _NO_MODULES_TEXTS)


def parse_status(text: str) -> Tuple[Optional[int], str]:
    """(code, message) from ``<Header> failed: Error <code> - <message>``; (None, text) otherwise."""
    for line in (text or "").splitlines():
        match = _STATUS_RE.search(line)
        if match:
            rest = text[text.index(line) + len(line) :].strip()
            message = match.group(2).strip()
            if rest:
                message = message + " " + " ".join(x.strip() for x in rest.splitlines() if x.strip())
            return int(match.group(1)), message
    return None, (text or "").strip()


# --- XML -----------------------------------------------------------------------------------

_BARE_AMP_RE = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")


class XmlDocument:
    """One parsed nvmxml document: ``kind`` is data, results or error."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root
        self.kind = {"Results": "results", "Error": "error"}.get(root.tag, "data")

    @property
    def text(self) -> str:
        return "\n".join(line.strip() for line in "".join(self.root.itertext()).splitlines() if line.strip())

    @property
    def error_type(self) -> Optional[int]:
        value = self.root.attrib.get("Type")
        return int(value) if value is not None and value.strip().lstrip("-").isdigit() else None

    def records(self, element: Optional[str] = None) -> List[Dict[str, str]]:
        """The data set rows: each child element of the root as {key: text}."""
        if self.kind != "data":
            return []
        children = list(self.root)
        if not children:
            return []
        # Single-level data sets (show -system -capabilities) are key/value children of the root.
        if all(len(child) == 0 for child in children):
            return [{c.tag: (c.text or "").strip() for c in children}]
        rows = []
        for child in children:
            if element is not None and child.tag != element:
                continue
            rows.append({c.tag: (c.text or "").strip() for c in child})
        return rows


def parse_xml(stdout: str) -> Optional[XmlDocument]:
    """Parse nvmxml output; None when stdout holds no XML document."""
    start = stdout.find("<?xml")
    if start < 0:
        start = stdout.find("<")
        if start < 0:
            return None
    body = stdout[start:]
    # ipmctl does not escape values; a bare & would break the parser.
    body = _BARE_AMP_RE.sub("&amp;", body)
    try:
        root = ET.fromstring(body)  # noqa: S314 - local tool output
    except ET.ParseError:
        return None
    return XmlDocument(root)


# --- values --------------------------------------------------------------------------------

_BYTES_RE = re.compile(r"^\s*(\d+)\s*B\s*$")


def size_value(text: Optional[str]) -> Optional[int]:
    """``94489280512 B`` -> int; ``-``, ``N/A`` or empty -> None."""
    if text is None:
        return None
    match = _BYTES_RE.match(text)
    if match:
        return int(match.group(1))
    text = text.strip()
    if text.isdigit():
        return int(text)
    return None


def int_value(text: Optional[str]) -> Optional[int]:
    """``0x0001`` or ``1`` -> int; anything else -> None."""
    if text is None:
        return None
    text = text.strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def bool_value(text: Optional[str]) -> Optional[bool]:
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "enabled"):
        return True
    if lowered in ("0", "false", "no", "disabled"):
        return False
    return None


def _opt(row: Dict[str, str], key: str) -> Optional[str]:
    value = row.get(key)
    if value is None:
        return None
    value = value.strip()
    return None if value in ("", "N/A") else value


def module_from_row(row: Dict[str, str]) -> PmemModule:
    return PmemModule(
        dimm_id=row.get("DimmID", ""),
        socket_id=int_value(row.get("SocketID")),
        capacity=size_value(row.get("Capacity")),
        health_state=_opt(row, "HealthState"),
        lock_state=_opt(row, "LockState"),
        fw_version=_opt(row, "FWVersion"),
        dimm_uid=_opt(row, "DimmUID"),
        memory_capacity=size_value(row.get("MemoryCapacity")),
        app_direct_capacity=size_value(row.get("AppDirectCapacity")),
        unconfigured_capacity=size_value(row.get("UnconfiguredCapacity")),
        inaccessible_capacity=size_value(row.get("InaccessibleCapacity")),
        reserved_capacity=size_value(row.get("ReservedCapacity")),
        configuration_status=_opt(row, "ConfigurationStatus"),
        sku_violation=bool_value(row.get("SKUViolation")),
        manageability_state=_opt(row, "ManageabilityState"),
        attributes=dict(row),
    )


def goal_from_row(row: Dict[str, str]) -> Goal:
    return Goal(
        socket_id=int_value(row.get("SocketID")),
        dimm_id=row.get("DimmID", ""),
        memory_size=size_value(row.get("MemorySize")),
        app_direct1_size=size_value(row.get("AppDirect1Size")),
        app_direct2_size=size_value(row.get("AppDirect2Size")),
        app_direct1_settings=_opt(row, "AppDirect1Settings"),
        app_direct2_settings=_opt(row, "AppDirect2Settings"),
        app_direct1_index=_opt(row, "AppDirect1Index"),
        app_direct2_index=_opt(row, "AppDirect2Index"),
        status=_opt(row, "Status"),
        attributes=dict(row),
    )


def region_from_row(row: Dict[str, str]) -> IpmctlRegion:
    dimms = tuple(d.strip() for d in (row.get("DimmID") or "").split(",") if d.strip())
    return IpmctlRegion(
        socket_id=int_value(row.get("SocketID")),
        persistent_memory_type=_opt(row, "PersistentMemoryType"),
        capacity=size_value(row.get("Capacity")),
        free_capacity=size_value(row.get("FreeCapacity")),
        health_state=_opt(row, "HealthState"),
        dimm_ids=dimms,
        region_id=int_value(row.get("RegionID")),
        iset_id=int_value(row.get("ISetID")),
        attributes=dict(row),
    )


def topology_from_row(row: Dict[str, str]) -> TopologyEntry:
    return TopologyEntry(
        dimm_id=row.get("DimmID", ""),
        memory_type=_opt(row, "MemoryType"),
        capacity=size_value(row.get("Capacity")),
        physical_id=_opt(row, "PhysicalID"),
        device_locator=_opt(row, "DeviceLocator"),
        socket_id=int_value(row.get("SocketID")),
        attributes=dict(row),
    )


_MEMORY_COLUMNS = (("DDR", "ddr"), ("PMemModule", "pmem_module"), ("Total", "total"))


def memory_resources_from_rows(rows: Sequence[Dict[str, str]]) -> MemoryResources:
    table: Dict[str, Dict[str, Optional[int]]] = {}
    for row in rows:
        kind = (row.get("MemoryType") or "").strip().lower()
        table[kind] = {name: size_value(row.get(column)) for column, name in _MEMORY_COLUMNS}
    return MemoryResources(
        volatile=table.get("volatile", {}),
        app_direct=table.get("appdirect", {}),
        cache=table.get("cache", {}),
        inaccessible=table.get("inaccessible", {}),
        physical=table.get("physical", {}),
    )


def _sockets_arg(sockets: Optional[Sequence[int]]) -> List[str]:
    if sockets is None:
        return []
    values = list(sockets)
    if not values or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in values):
        raise InvalidRequest("sockets", "must be a non-empty list of socket numbers (0, 1, ...)", sockets)
    return ["-socket", ",".join(str(s) for s in sorted(set(values)))]


class Ipmctl:
    """ipmctl through an injected runner. ``binary`` may be a resolved absolute path."""

    def __init__(self, runner: CommandRunner, binary: str = "ipmctl") -> None:
        self.runner = runner
        self.binary = binary
        self._dimm_cache: Optional[List[PmemModule]] = None

    # --- plumbing --------------------------------------------------------------------------

    def _call(self, args: Sequence[str], action: str) -> Tuple[CommandResult, Optional[XmlDocument]]:
        result = self.runner.run([self.binary, *args])
        text = result.stdout + "\n" + result.stderr
        if no_pmem_modules(text):
            raise NoPmemModules(
                "%s: ipmctl found no Optane PMem modules on this host" % action,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
                tool_message=text.strip().splitlines()[0].strip() if text.strip() else None,
            )
        if result.rc == 127:
            raise ToolMissing(
                "%s: %s is not installed" % (action, self.binary),
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            )
        doc = parse_xml(result.stdout)
        if result.rc != 0 or (doc is not None and doc.kind == "error"):
            raise self._error(result, doc, action)
        if doc is None and result.stdout.strip():
            raise ToolFailed(
                "%s: ipmctl printed no nvmxml document" % action,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            )
        return result, doc

    @staticmethod
    def _error(result: CommandResult, doc: Optional[XmlDocument], action: str) -> PmemError:
        message_text = doc.text if doc is not None else (result.stdout.strip() or result.stderr.strip())
        code, message = parse_status(message_text)
        kwargs = {
            "argv": result.argv,
            "rc": result.rc,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "tool_message": message or None,
            "status_code": code,
        }
        summary = "%s failed" % action
        if _ROOT_TEXT in message_text:
            return ToolFailed("%s: ipmctl must run as root" % summary, **kwargs)
        if code == _NAMESPACES_EXIST:
            return SafeModeRefused(
                "%s: namespaces exist on the PMem modules; remove them first (this destroys their data)"
                % summary,
                **kwargs,
            )
        if code == _GOAL_EXISTS:
            return Busy("%s: a goal is already pending; delete it first" % summary, **kwargs)
        if code in _NOT_FOUND_CODES:
            return NotFound(summary, **kwargs)
        if result.rc == 201 or message_text.startswith("Syntax Error"):
            return InvalidRequest("argv", message or "ipmctl rejected the command line", **kwargs)
        return ToolFailed(summary, **kwargs)

    def _read(self, target: Sequence[str], element: str, action: str, all_attributes: bool = False):
        args = ["show"]
        if all_attributes:
            args.append("-a")
        args += [*READ_OPTIONS, *target]
        _result, doc = self._call(args, action)
        return doc.records(element) if doc is not None else []

    # --- reads -----------------------------------------------------------------------------

    def show_dimm(self, sockets: Optional[Sequence[int]] = None) -> List[PmemModule]:
        """Every module with socket, capacities, health, lock state and firmware (``-a``)."""
        if sockets is None and self._dimm_cache is not None:
            cached, self._dimm_cache = self._dimm_cache, None
            return cached
        target = ["-dimm", *_sockets_arg(sockets)]
        rows = self._read(target, "Dimm", "show -dimm", all_attributes=True)
        return [module_from_row(row) for row in rows]

    def show_topology(self) -> List[TopologyEntry]:
        return [topology_from_row(r) for r in self._read(["-topology"], "DimmTopology", "show -topology")]

    def show_memory_resources(self) -> MemoryResources:
        return memory_resources_from_rows(self._read(["-memoryresources"], "data", "show -memoryresources"))

    def show_region(self, sockets: Optional[Sequence[int]] = None) -> List[IpmctlRegion]:
        rows = self._read(["-region", *_sockets_arg(sockets)], "Region", "show -region", all_attributes=True)
        return [region_from_row(r) for r in rows]

    def show_goal(self, sockets: Optional[Sequence[int]] = None) -> List[Goal]:
        rows = self._read(["-goal", *_sockets_arg(sockets)], "ConfigGoal", "show -goal", all_attributes=True)
        return [goal_from_row(r) for r in rows]

    def show_sensor(self) -> List[Sensor]:
        rows = self._read(["-sensor"], "Sensor", "show -sensor")
        return [
            Sensor(
                dimm_id=row.get("DimmID", ""),
                type=row.get("Type", ""),
                current_value=_opt(row, "CurrentValue"),
                attributes=dict(row),
            )
            for row in rows
        ]

    def show_firmware(self) -> List[Firmware]:
        rows = self._read(["-dimm", "-firmware"], "DimmFirmware", "show -firmware")
        return [
            Firmware(
                dimm_id=row.get("DimmID", ""),
                active_fw_version=_opt(row, "ActiveFWVersion"),
                staged_fw_version=_opt(row, "StagedFWVersion"),
                attributes=dict(row),
            )
            for row in rows
        ]

    def show_system_capabilities(self) -> Dict[str, str]:
        rows = self._read(
            ["-system", "-capabilities"], "SystemCapabilities", "show -system -capabilities", True
        )
        return rows[0] if rows else {}

    def version(self) -> str:
        result = self.runner.run([self.binary, "version"])
        if result.rc != 0:
            raise ToolFailed("ipmctl version failed", argv=result.argv, rc=result.rc, stdout=result.stdout)
        match = re.search(r"Version\s+(\d+\.\d+\.\d+\.\d+\S*)", result.stdout)
        return match.group(1) if match else result.stdout.strip()

    def platform(self) -> Platform:
        """Is Optane here and can ipmctl manage it? One ``show -dimm`` call; never raises for absence.

        The module list it read is kept for the next show_dimm() of this object, so
        probing and then listing costs one call.
        """
        try:
            modules = self.show_dimm()
        except ToolMissing as exc:
            return Platform(False, False, "ipmctl is not installed: %s" % exc.message)
        except NoPmemModules as exc:
            return Platform(False, False, exc.tool_message or "no PMem modules in the system")
        except PmemError as exc:
            return Platform(False, False, "ipmctl failed: %s" % exc)
        self._dimm_cache = modules
        if not modules:
            return Platform(False, False, "ipmctl lists no PMem modules", 0)
        unusable = [m.dimm_id for m in modules if (m.manageability_state or "Manageable") != "Manageable"]
        if len(unusable) == len(modules):
            return Platform(
                True, False, "no manageable PMem modules (%s)" % ", ".join(unusable), len(modules)
            )
        return Platform(True, True, "", len(modules))

    # --- changes ---------------------------------------------------------------------------

    @staticmethod
    def create_goal_args(
        persistent_memory_type: str = "AppDirect",
        memory_mode: int = 0,
        reserved: Optional[int] = None,
        sockets: Optional[Sequence[int]] = None,
        namespace_label_version: Optional[str] = None,
    ) -> List[str]:
        if persistent_memory_type not in PERSISTENT_MEMORY_TYPES:
            raise InvalidRequest(
                "persistent_memory_type",
                "must be AppDirect or AppDirectNotInterleaved",
                persistent_memory_type,
            )
        for field, value in (("memory_mode", memory_mode), ("reserved", reserved or 0)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                raise InvalidRequest(field, "must be a percentage between 0 and 100", value)
        if memory_mode + (reserved or 0) > 100:
            raise InvalidRequest("memory_mode", "memory_mode plus reserved must not exceed 100", memory_mode)
        if namespace_label_version not in (None, "1.1", "1.2"):
            raise InvalidRequest("namespace_label_version", "must be 1.1 or 1.2", namespace_label_version)
        # -o nvmxml implies -force: ipmctl never prompts.
        args = ["create", *READ_OPTIONS, "-goal", *_sockets_arg(sockets)]
        args.append("MemoryMode=%d" % memory_mode)
        if memory_mode + (reserved or 0) < 100:
            args.append("PersistentMemoryType=%s" % persistent_memory_type)
        if reserved:
            args.append("Reserved=%d" % reserved)
        if namespace_label_version:
            args.append("NamespaceLabelVersion=%s" % namespace_label_version)
        return args

    def create_goal(
        self,
        persistent_memory_type: str = "AppDirect",
        memory_mode: int = 0,
        reserved: Optional[int] = None,
        sockets: Optional[Sequence[int]] = None,
        namespace_label_version: Optional[str] = None,
    ) -> List[Goal]:
        """Store a memory allocation goal (applied by the BIOS at the next reboot); returns the goals."""
        args = self.create_goal_args(
            persistent_memory_type, memory_mode, reserved, sockets, namespace_label_version
        )
        _result, doc = self._call(args, "create -goal")
        return [goal_from_row(r) for r in doc.records("ConfigGoal")] if doc is not None else []

    def delete_goal(self, sockets: Optional[Sequence[int]] = None) -> List[str]:
        """Delete pending goals; modules without a goal are not an error. Returns ipmctl's lines."""
        args = ["delete", "-o", "nvmxml", "-goal", *_sockets_arg(sockets)]
        result = self.runner.run([self.binary, *args])
        text = result.stdout + "\n" + result.stderr
        if no_pmem_modules(text):
            raise NoPmemModules(
                "delete -goal: ipmctl found no Optane PMem modules on this host",
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            )
        doc = parse_xml(result.stdout)
        lines = [ln for ln in (doc.text if doc is not None else result.stdout).splitlines() if ln.strip()]
        problems = []
        for line in lines:
            code, _message = parse_status(line)
            if code is not None and code != _NO_GOAL_ON_MODULE:
                problems.append(line)
        only_no_goal = bool(lines) and all(parse_status(ln)[0] == _NO_GOAL_ON_MODULE for ln in lines)
        if problems or (result.rc != 0 and not only_no_goal):
            raise self._error(result, doc, "delete -goal")
        return lines


def failed_goals(goals: Sequence[Goal]) -> List[Goal]:
    return [g for g in goals if g.failed]


def raise_for_failed_goals(goals: Sequence[Goal]) -> None:
    """GoalFailed listing every module whose goal the BIOS rejected (Status ``Failed - ...``)."""
    failed = failed_goals(goals)
    if failed:
        raise GoalFailed(
            "the BIOS rejected the memory allocation goal: %s"
            % "; ".join("%s on module %s" % (g.status_prefix, g.dimm_id) for g in failed),
            tool_message="; ".join(sorted({g.status or "" for g in failed})),
        )
