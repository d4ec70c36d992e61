"""Simulated ipmctl 03.00.00.0468 (Debian build): show, create/delete -goal, text and nvmxml.

Output follows ipmctl's Printer.c as pmem-tools.md section 1.3 describes it:
tables with capped column widths (last header cell padded, last data cell not),
list views for ``-a``/``-d``, nvmxml with one space of indentation per depth,
message-only ``<Results>`` and ``<Error Type = "rc">``. Everything goes to stdout.
A platform without Optane answers every command but ``version``/``help`` with
"Initialization failed. No PMem modules in the system." and exit code 1.
"""

from __future__ import annotations

import os

from . import model as m
from . import topology
from .result import Output

# typing only for the checkers: importing it costs each simulated ipmctl call ~20 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION_LINE = "Intel(R) Optane(TM) Persistent Memory Command Line Interface Version 03.00.00.0468-1"
NO_MODULES = "Initialization failed. No PMem modules in the system."
RC_SYNTAX = 201
VERBS = ("show", "create", "delete", "set", "load", "dump", "start", "stop", "help", "version")
TARGETS = (
    "-dimm",
    "-socket",
    "-goal",
    "-region",
    "-topology",
    "-memoryresources",
    "-system",
    "-capabilities",
    "-sensor",
    "-firmware",
    "-performance",
    "-error",
    "-pcd",
    "-preferences",
    "-namespace",
    "-cap",
    "-session",
)
UNITS = {
    "b": ("B", 1),
    "mb": ("MB", 1000**2),
    "mib": ("MiB", 1024**2),
    "gb": ("GB", 1000**3),
    "gib": ("GiB", 1024**3),
    "tb": ("TB", 1000**4),
    "tib": ("TiB", 1024**4),
}
COLMAX = {
    "DimmID": 22,
    "Capacity": 25,
    "LockState": 31,
    "HealthState": 19,
    "FWVersion": 13,
    "SocketID": 9,
    "ISetID": 20,
    "PersistentMemoryType": 24,
    "FreeCapacity": 25,
    "MemorySize": 18,
    "AppDirect1Size": 18,
    "AppDirect2Size": 18,
    "MemoryType": 30,
    "DDR": 25,
    "PMemModule": 25,
    "Total": 25,
    "DeviceLocator": 15,
    "Type": 30,
    "CurrentValue": 20,
    "MappedMemoryLimit": 23,
    "TotalMappedMemory": 18,
}
REGION_HEALTH_COLMAX = 17
GOAL_STATUS_TEXT = {
    "Unknown": "Unknown: The status cannot be determined.",
    "New": "New: A reboot is required for the memory allocation goal to be processed by the BIOS.",
    "Failed - Bad request": (
        "Failed - Bad request: The BIOS failed to process the memory allocation goal because it was invalid."
    ),
    "Failed - Not enough resources": (
        "Failed - Not enough resources: There were not enough resources for the BIOS to process the "
        "memory allocation goal."
    ),
    "Failed - Firmware error": (
        "Failed - Firmware error: The BIOS failed to process the memory allocation goal "
        "due to a firmware error."
    ),
    "Failed - Unknown": (
        "Failed - Unknown: The BIOS failed to process the memory allocation goal due to an unknown error."
    ),
}
REBOOT_REQUIRED = "A reboot is required to process new memory allocation goals."
SENSOR_TYPES = (
    "Health",
    "MediaTemperature",
    "ControllerTemperature",
    "PercentageRemaining",
    "LatchedDirtyShutdownCount",
    "PowerOnTime",
    "UpTime",
    "PowerCycles",
    "FwErrorCount",
    "UnlatchedDirtyShutdownCount",
)


class IpmctlError(Exception):
    def __init__(self, message: str, rc: int) -> None:
        super().__init__(message)
        self.message = message
        self.rc = rc


class Request:
    """A parsed ipmctl command line."""

    def __init__(self) -> None:
        self.verb = ""
        self.force = False
        self.output = "text"
        self.units: tuple[str, int] = UNITS["gib"]
        self.all = False
        self.display: list[str] | None = None
        self.help = False
        self.targets: dict[str, str | None] = {}
        self.properties: dict[str, str] = {}


def parse(argv: list[str]) -> Request:
    request = Request()
    request.verb = argv[0]
    tokens = argv[1:]
    index = 0
    force_seen = set()
    while index < len(tokens):
        token = tokens[index]
        index += 1
        lowered = token.lower()
        if lowered in ("-f", "-force"):
            force_seen.add(lowered)
            if len(force_seen) > 1:
                raise IpmctlError("Syntax Error: Options -f and -force can not be used together.", RC_SYNTAX)
            request.force = True
        elif lowered in ("-o", "-output"):
            if index >= len(tokens):
                raise IpmctlError(f"Syntax Error: Invalid or unexpected token {token}.", RC_SYNTAX)
            value = tokens[index]
            index += 1
            if value.lower() not in ("text", "nvmxml"):
                raise IpmctlError(f"Syntax Error: Invalid or unexpected token {value}.", RC_SYNTAX)
            request.output = value.lower()
        elif lowered in ("-u", "-units"):
            if index >= len(tokens):
                raise IpmctlError(f"Syntax Error: Invalid or unexpected token {token}.", RC_SYNTAX)
            value = tokens[index]
            index += 1
            if value.lower() not in UNITS:
                raise IpmctlError(f"Syntax Error: Incorrect value for option {token}.", RC_SYNTAX)
            request.units = UNITS[value.lower()]
        elif lowered in ("-a", "-all"):
            request.all = True
        elif lowered in ("-d", "-display"):
            if index >= len(tokens):
                raise IpmctlError(f"Syntax Error: Invalid or unexpected token {token}.", RC_SYNTAX)
            request.display = [item.strip() for item in tokens[index].split(",") if item.strip()]
            index += 1
        elif lowered in ("-h", "-help"):
            request.help = True
        elif lowered in TARGETS:
            value = None
            if index < len(tokens) and not tokens[index].startswith("-") and "=" not in tokens[index]:
                value = tokens[index]
                index += 1
            request.targets[lowered] = value
        elif "=" in token and not token.startswith("-"):
            key, _, value = token.partition("=")
            request.properties[key.lower()] = value
        else:
            raise IpmctlError(f"Syntax Error: Invalid or unexpected token {token}.", RC_SYNTAX)
    return request


# --- formatting -------------------------------------------------------------------------


def fmt_size(size: int, units: tuple[str, int]) -> str:
    name, factor = units
    if factor == 1:
        return f"{size} B"
    return f"{size / factor:.3f} {name}"


def render_table(headers: list[str], rows: list[list[str]], colmax: dict[str, int] | None = None) -> str:
    limits = colmax or COLMAX
    widths = []
    for column, header in enumerate(headers):
        width = max([len(header) + 1] + [len(row[column]) + 1 for row in rows])
        widths.append(min(limits.get(header, 25), width))
    header_line = "|".join(" " + header.ljust(width) for header, width in zip(headers, widths, strict=True))
    lines = [header_line, "=" * len(header_line)]
    for row in rows:
        cells = []
        for column, value in enumerate(row):
            if column == len(row) - 1:
                cells.append(" " + value)
            else:
                cells.append(" " + value.ljust(widths[column])[: widths[column]])
        lines.append("|".join(cells))
    return "\n".join(lines) + "\n"


def render_list(records: list[dict[str, str]]) -> str:
    lines = []
    for record in records:
        items = list(record.items())
        key, value = items[0]
        lines.append(f"---{key}={value}---")
        lines.extend(f"   {name}={text}" for name, text in items[1:])
    return "\n".join(lines) + "\n" if lines else ""


def render_xml(root: str, element: str, records: list[dict[str, str]]) -> str:
    lines = ['<?xml version="1.0"?>', f" <{root}>"]
    for record in records:
        lines.append(f"  <{element}>")
        for key, value in record.items():
            tag = "".join(key.split())
            lines.append(f"   <{tag}>{str(value).strip()}</{tag}>")
        lines.append(f"  </{element}>")
    lines.append(f" </{root}>")
    return "\n".join(lines) + "\n"


def render_xml_flat(root: str, record: dict[str, str]) -> str:
    lines = ['<?xml version="1.0"?>', f" <{root}>"]
    for key, value in record.items():
        tag = "".join(key.split())
        lines.append(f"  <{tag}>{str(value).strip()}</{tag}>")
    lines.append(f" </{root}>")
    return "\n".join(lines) + "\n"


def render_results(message: str) -> str:
    return f'<?xml version="1.0"?>\n<Results>\n<Result>\n{message}\n</Result>\n</Results>\n'


def render_error(message: str, rc: int) -> str:
    return f'<?xml version="1.0"?>\n<Error Type = "{rc}">\n{message}\n</Error>\n'


def select_attributes(
    record: dict[str, str], request: Request, default: list[str], key: str
) -> dict[str, str]:
    if request.all:
        return record
    if request.display:
        wanted = {name.lower() for name in request.display}
        return {name: value for name, value in record.items() if name == key or name.lower() in wanted}
    return {name: record[name] for name in default if name in record}


# --- platform views ---------------------------------------------------------------------


def pmem_dimms(state: m.State) -> list[dict[str, Any]]:
    return sorted((d for d in state["dimms"] if d.get("optane")), key=lambda d: d["handle"])


def parse_id_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            values.append(int(item, 0))
        except ValueError:
            raise IpmctlError(f"Syntax Error: Invalid or unexpected token {item}.", RC_SYNTAX) from None
    return values


def target_dimms(state: m.State, request: Request) -> list[dict[str, Any]]:
    dimms = pmem_dimms(state)
    sockets = parse_id_list(request.targets.get("-socket"))
    ids = parse_id_list(request.targets.get("-dimm"))
    if sockets is not None:
        known = {d["socket"] for d in dimms}
        for socket in sockets:
            if socket not in known:
                raise IpmctlError("The specified SocketID is not valid.", 201)
        dimms = [d for d in dimms if d["socket"] in sockets]
    if ids is not None:
        known_ids = {d["handle"] for d in dimms}
        for dimm_id in ids:
            if dimm_id not in known_ids:
                raise IpmctlError(f"Failed to find DimmID 0x{dimm_id:04x}.", 201)
        dimms = [d for d in dimms if d["handle"] in ids]
    return dimms


def dimm_partitions(dimm: dict[str, Any]) -> dict[str, int]:
    optane = dimm["optane"]
    usable = topology.usable_module_bytes(dimm)
    configured = optane["ad_type"] is not None or optane["memory_size"] > 0
    memory = optane["memory_size"]
    appdirect = optane["appdirect_size"]
    return {
        "MemoryCapacity": memory,
        "AppDirectCapacity": appdirect,
        "UnconfiguredCapacity": 0 if configured else usable,
        "InaccessibleCapacity": dimm["capacity"] - usable,
        "ReservedCapacity": (usable - memory - appdirect) if configured else 0,
    }


def dimm_record(state: m.State, dimm: dict[str, Any], units: tuple[str, int]) -> dict[str, str]:
    optane = dimm["optane"]
    parts = dimm_partitions(dimm)
    configured = optane["ad_type"] is not None or optane["memory_size"] > 0
    failed_goal = any(g["dimm"] == dimm["index"] and g["status"].startswith("Failed") for g in state["goals"])
    status = "Valid" if configured else "Not configured"
    if failed_goal and not configured:
        status = "Failed - Bad configuration"
    generation = optane["generation"]
    return {
        "DimmID": optane["dimm_id"],
        "Capacity": fmt_size(dimm["capacity"], units),
        "LockState": optane["lock_state"],
        "HealthState": optane["health"],
        "FWVersion": optane["fw_version"],
        "FWAPIVersion": {100: "01.17", 200: "02.00", 300: "03.00"}[generation],
        "InterfaceFormatCode": "0x0201 (Non-Energy Backed Byte Addressable)",
        "ManageabilityState": "Manageable",
        "PhysicalID": f"0x{dimm['phys_id']:04x}",
        "DimmHandle": f"0x{dimm['handle']:04x}",
        "DimmUID": optane["uid"],
        "SocketID": f"0x{dimm['socket']:04x}",
        "MemControllerID": f"0x{optane['imc']:04x}",
        "ChannelID": f"0x{optane['channel']:04x}",
        "ChannelPos": "1",
        "MemoryType": "Logical Non-Volatile Device",
        "Manufacturer": "Intel",
        "VendorID": "0x8089",
        "DeviceID": "0x5141",
        "RevisionID": "0x0000",
        "SubsystemVendorID": "0x8089",
        "SubsystemDeviceID": {100: "0x097a", 200: "0x097b", 300: "0x097c"}[generation],
        "SubsystemRevisionID": "0x0018",
        "DeviceLocator": optane["locator"],
        "SerialNumber": optane["serial"],
        "PartNumber": optane["part_number"],
        "ManufacturingInfoValid": "1",
        "ManufacturingLocation": "0xa2",
        "MemoryCapacity": fmt_size(parts["MemoryCapacity"], units),
        "AppDirectCapacity": fmt_size(parts["AppDirectCapacity"], units),
        "UnconfiguredCapacity": fmt_size(parts["UnconfiguredCapacity"], units),
        "InaccessibleCapacity": fmt_size(parts["InaccessibleCapacity"], units),
        "ReservedCapacity": fmt_size(parts["ReservedCapacity"], units),
        "PackageSparingCapable": "1",
        "PackageSparingEnabled": "1",
        "PackageSparesAvailable": "1",
        "IsNew": "0",
        "ConfigurationStatus": status,
        "SKUViolation": "0",
        "ARSStatus": "Completed",
        "OverwriteStatus": "Unknown",
        "AitDramEnabled": "1",
        "BootStatus": "Success",
        "LatchedLastShutdownStatus": "PM ADR Command Received, DDRT Power Fail Command Received",
        "MaxAveragePowerLimit": "18000 mW",
        "AveragePowerLimit": "15000 mW",
    }


DIMM_TABLE = ["DimmID", "Capacity", "LockState", "HealthState", "FWVersion"]
DIMM_XML_DEFAULT = ["Capacity", "HealthState", "LockState", "FWVersion", "DimmID"]


def show_dimm(state: m.State, request: Request, out: Output) -> None:
    dimms = target_dimms(state, request)
    records = [dimm_record(state, dimm, request.units) for dimm in dimms]
    if request.output == "nvmxml":
        chosen = [select_attributes(r, request, DIMM_XML_DEFAULT, "DimmID") for r in records]
        out.out(render_xml("DimmList", "Dimm", chosen))
    elif request.all or request.display:
        out.out(render_list([select_attributes(r, request, DIMM_TABLE, "DimmID") for r in records]))
    else:
        out.out(render_table(DIMM_TABLE, [[r[h] for h in DIMM_TABLE] for r in records]))


def ddr_rows(state: m.State) -> list[dict[str, Any]]:
    rows = []
    per_socket = state["platform"].get("ddr_per_socket", 0)
    if not per_socket:
        return rows
    count = 6
    for socket in range(state["platform"]["sockets"]):
        for slot in range(count):
            rows.append(
                {
                    "socket": socket,
                    "capacity": per_socket // count,
                    "phys_id": 0x40 + socket * 0x20 + slot * 2,
                    "locator": f"CPU{socket + 1}_DIMM_{'ABCDEF'[slot]}1",
                }
            )
    return rows


def show_topology(state: m.State, request: Request, out: Output) -> None:
    records = []
    for dimm in target_dimms(state, request):
        optane = dimm["optane"]
        records.append(
            {
                "DimmID": optane["dimm_id"],
                "MemoryType": "Logical Non-Volatile Device",
                "Capacity": fmt_size(dimm["capacity"], request.units),
                "PhysicalID": f"0x{dimm['phys_id']:04x}",
                "DeviceLocator": optane["locator"],
                "SocketID": f"0x{dimm['socket']:04x}",
                "MemControllerID": f"0x{optane['imc']:04x}",
                "ChannelID": f"0x{optane['channel']:04x}",
                "ChannelPos": "1",
                "NodeControllerID": "0x0000",
                "BankLabel": f"NODE {dimm['socket']}",
            }
        )
    for ddr in ddr_rows(state):
        records.append(
            {
                "DimmID": "N/A",
                "MemoryType": "DDR4",
                "Capacity": fmt_size(ddr["capacity"], request.units),
                "PhysicalID": f"0x{ddr['phys_id']:04x}",
                "DeviceLocator": ddr["locator"],
                "SocketID": f"0x{ddr['socket']:04x}",
                "MemControllerID": "N/A",
                "ChannelID": "N/A",
                "ChannelPos": "N/A",
                "NodeControllerID": "N/A",
                "BankLabel": f"NODE {ddr['socket']}",
            }
        )
    table = ["DimmID", "MemoryType", "Capacity", "PhysicalID", "DeviceLocator"]
    if request.output == "nvmxml":
        chosen = [select_attributes(r, request, table, "DimmID") for r in records]
        out.out(render_xml("DimmTopologyList", "DimmTopology", chosen))
    elif request.all or request.display:
        out.out(render_list([select_attributes(r, request, table, "DimmID") for r in records]))
    else:
        out.out(render_table(table, [[r[h] for h in table] for r in records]))


def memory_resources(state: m.State) -> dict[str, dict[str, int | None]]:
    dimms = pmem_dimms(state)
    ddr = state["platform"].get("ddr_per_socket", 0) * state["platform"].get("sockets", 1)
    memory = sum(d["optane"]["memory_size"] for d in dimms)
    appdirect = sum(d["optane"]["appdirect_size"] for d in dimms)
    raw = sum(d["capacity"] for d in dimms)
    inaccessible = raw - memory - appdirect
    cache = ddr if memory else 0
    volatile_ddr = 0 if memory else ddr
    return {
        "Volatile": {"DDR": volatile_ddr, "PMemModule": memory, "Total": volatile_ddr + memory},
        "AppDirect": {"DDR": None, "PMemModule": appdirect, "Total": appdirect},
        "Cache": {"DDR": cache, "PMemModule": None, "Total": cache},
        "Inaccessible": {"DDR": 0, "PMemModule": inaccessible, "Total": inaccessible},
        "Physical": {"DDR": ddr, "PMemModule": raw, "Total": ddr + raw},
    }


def show_memory_resources(state: m.State, request: Request, out: Output) -> None:
    table = ["MemoryType", "DDR", "PMemModule", "Total"]
    records = []
    for kind, values in memory_resources(state).items():
        record = {"MemoryType": kind}
        for column in ("DDR", "PMemModule", "Total"):
            value = values[column]
            record[column] = "-" if value is None else fmt_size(value, request.units)
        records.append(record)
    if request.output == "nvmxml":
        out.out(render_xml("MemoryResources", "data", records))
    else:
        out.out(render_table(table, [[r[h] for h in table] for r in records]))


def region_ipmctl_view(state: m.State, region: dict[str, Any]) -> dict[str, Any]:
    dimms = sorted((state["dimms"][mp["dimm"]] for mp in region["mappings"]), key=lambda d: d["handle"])
    sockets = {d["socket"] for d in dimms}
    pending = any(g["status"] == "New" and g["socket"] in sockets for g in state["goals"])
    used = sum(ns["size"] for ns in region["namespaces"] if ns["size"] > 0)
    return {
        "socket": region["ipmctl"]["socket"],
        "type": region["ipmctl"]["type"],
        "capacity": region["size"],
        "free": max(0, region["size"] - used),
        "health": "Pending" if pending else "Healthy",
        "dimm_ids": ", ".join(d["optane"]["dimm_id"] for d in dimms),
        "iset": f"0x{region['iset_cookie']:016x}",
    }


def show_region(state: m.State, request: Request, out: Output) -> None:
    sockets = parse_id_list(request.targets.get("-socket"))
    regions = [r for r in sorted(state["regions"], key=lambda r: r["id"]) if r.get("ipmctl")]
    if sockets is not None:
        regions = [r for r in regions if r["ipmctl"]["socket"] in sockets]
    if not regions:
        message = "There are no Regions defined in the system."
        out.out(render_results(message) if request.output == "nvmxml" else message + "\n")
        return
    records = []
    for index, region in enumerate(regions, start=1):
        view = region_ipmctl_view(state, region)
        records.append(
            {
                "SocketID": f"0x{view['socket']:04x}",
                "PersistentMemoryType": view["type"],
                "Capacity": fmt_size(view["capacity"], request.units),
                "FreeCapacity": fmt_size(view["free"], request.units),
                "HealthState": view["health"],
                "DimmID": view["dimm_ids"],
                "RegionID": str(index),
                "ISetID": view["iset"],
            }
        )
    table = ["SocketID", "ISetID", "PersistentMemoryType", "Capacity", "FreeCapacity", "HealthState"]
    if request.output == "nvmxml":
        if request.display:
            records = [select_attributes(r, request, table, "SocketID") for r in records]
        out.out(render_xml("RegionList", "Region", records))
    elif request.all or request.display:
        ordered = [
            {"RegionID": r["RegionID"], **{k: v for k, v in r.items() if k != "RegionID"}} for r in records
        ]
        out.out(render_list([select_attributes(r, request, table, "RegionID") for r in ordered]))
    else:
        limits = dict(COLMAX, HealthState=REGION_HEALTH_COLMAX)
        out.out(render_table(table, [[r[h] for h in table] for r in records], limits))


def goal_records(state: m.State, goals: list[dict[str, Any]], units: tuple[str, int]) -> list[dict[str, str]]:
    records = []
    by_socket: dict[tuple[int, str], int] = {}
    for goal in sorted(goals, key=lambda g: state["dimms"][g["dimm"]]["handle"]):
        dimm = state["dimms"][goal["dimm"]]
        ways = sum(
            1
            for other in goals
            if other["socket"] == goal["socket"] and other["type"] == "AppDirect" and other["appdirect_size"]
        )
        if goal["type"] == "AppDirect" and goal["appdirect_size"]:
            settings = f"x{ways} - 4KB iMC x 4KB Channel"
            index = by_socket.setdefault((goal["socket"], "i"), len(by_socket) + 1)
        elif goal["type"] == "AppDirectNotInterleaved" and goal["appdirect_size"]:
            settings = "x1 (ByOne)"
            index = len(by_socket) + 1
            by_socket[(goal["socket"], dimm["optane"]["dimm_id"])] = index
        else:
            settings, index = "N/A", None
        records.append(
            {
                "SocketID": f"0x{goal['socket']:04x}",
                "DimmID": dimm["optane"]["dimm_id"],
                "MemorySize": fmt_size(goal["memory_size"], units),
                "AppDirect1Size": fmt_size(goal["appdirect_size"], units),
                "AppDirect2Size": fmt_size(goal["appdirect2_size"], units),
                "AppDirect1Index": str(index) if index else "N/A",
                "AppDirect1Settings": settings,
                "AppDirect2Index": "N/A",
                "AppDirect2Settings": "N/A",
                "Status": GOAL_STATUS_TEXT.get(goal["status"], goal["status"]),
            }
        )
    return records


GOAL_TABLE = ["SocketID", "DimmID", "MemorySize", "AppDirect1Size", "AppDirect2Size"]


def render_goals(records: list[dict[str, str]], request: Request) -> str:
    if request.output == "nvmxml":
        return render_xml(
            "ConfigGoalList",
            "ConfigGoal",
            [select_attributes(r, request, GOAL_TABLE, "SocketID") for r in records],
        )
    if request.all or request.display:
        return render_list([select_attributes(r, request, GOAL_TABLE, "SocketID") for r in records])
    return render_table(GOAL_TABLE, [[r[h] for h in GOAL_TABLE] for r in records])


def show_goal(state: m.State, request: Request, out: Output) -> None:
    dimms = {d["index"] for d in target_dimms(state, request)}
    goals = [g for g in state["goals"] if g["dimm"] in dimms]
    if not goals:
        where = "on the specified socket" if "-socket" in request.targets else "in the system"
        message = (
            f"There are no goal configs defined {where}.\n"
            "Please use 'show -region' to display currently valid persistent memory regions."
        )
        out.out(render_results(message) if request.output == "nvmxml" else message + "\n")
        return
    out.out(render_goals(goal_records(state, goals, request.units), request))
    if request.output != "nvmxml":
        out.out(REBOOT_REQUIRED + "\n")


def sensor_value(dimm: dict[str, Any], kind: str) -> str:
    optane = dimm["optane"]
    return {
        "Health": optane["health"],
        "MediaTemperature": f"{optane['media_temperature']}C",
        "ControllerTemperature": f"{optane['controller_temperature']}C",
        "PercentageRemaining": f"{optane['spares']}%",
        "LatchedDirtyShutdownCount": "4",
        "PowerOnTime": f"{optane['power_on_time']}s",
        "UpTime": f"{optane['uptime']}s",
        "PowerCycles": str(optane["power_cycles"]),
        "FwErrorCount": "0",
        "UnlatchedDirtyShutdownCount": str(optane["shutdown_count"]),
    }[kind]


def show_sensor(state: m.State, request: Request, out: Output) -> None:
    wanted = request.targets.get("-sensor")
    kinds = list(SENSOR_TYPES)
    if wanted:
        names = {name.strip().lower() for name in wanted.split(",")}
        kinds = [kind for kind in SENSOR_TYPES if kind.lower() in names]
        if not kinds:
            raise IpmctlError(f"Syntax Error: Invalid or unexpected token {wanted}.", RC_SYNTAX)
    rows = []
    for dimm in target_dimms(state, request):
        for kind in kinds:
            rows.append(
                {"DimmID": dimm["optane"]["dimm_id"], "Type": kind, "CurrentValue": sensor_value(dimm, kind)}
            )
    if request.output == "nvmxml":
        squashed = [
            {"Type": r["Type"], "CurrentValue": r["CurrentValue"], "DimmID": r["DimmID"]} for r in rows
        ]
        out.out(render_xml("SensorList", "Sensor", squashed))
    else:
        table = ["DimmID", "Type", "CurrentValue"]
        out.out(render_table(table, [[r[h] for h in table] for r in rows]))


def show_firmware(state: m.State, request: Request, out: Output) -> None:
    records = [
        {
            "DimmID": d["optane"]["dimm_id"],
            "ActiveFWVersion": d["optane"]["fw_version"],
            "StagedFWVersion": "N/A",
        }
        for d in target_dimms(state, request)
    ]
    table = ["DimmID", "ActiveFWVersion", "StagedFWVersion"]
    if request.output == "nvmxml":
        out.out(render_xml("DimmFirmwareList", "DimmFirmware", records))
    else:
        out.out(render_table(table, [[r[h] for h in table] for r in records]))


def show_capabilities(state: m.State, request: Request, out: Output) -> None:
    two_lm = any(d["optane"]["memory_size"] for d in pmem_dimms(state))
    record = {
        "PlatformConfigSupported": "1",
        "Alignment": fmt_size(m.GIB, request.units),
        "AllowedVolatileMode": "Memory Mode",
        "CurrentVolatileMode": "2LM" if two_lm else "1LM",
        "AllowedAppDirectMode": "App Direct",
    }
    if request.all:
        record.update(
            {
                "ModesSupported": "1LM, Memory Mode, App Direct",
                "SupportedAppDirectSettings": "x1 (ByOne), x6 - 4KB iMC x 4KB Channel",
                "RecommendedAppDirectSettings": "x6 - 4KB iMC x 4KB Channel",
                "MinNamespaceSize": fmt_size(16 * m.MIB, request.units),
                "AppDirectMirrorSupported": "0",
                "DimmSpareSupported": "0",
                "AppDirectMigrationSupported": "0",
                "RenameNamespaceSupported": "0",
                "GrowAppDirectNamespaceSupported": "0",
                "ShrinkAppDirectNamespaceSupported": "0",
                "InitiateScrubSupported": "1",
                "AdrSupported": "1",
                "EraseDeviceDataSupported": "0",
                "EnableDeviceSecuritySupported": "1",
                "DisableDeviceSecuritySupported": "1",
                "UnlockDeviceSecuritySupported": "1",
                "FreezeDeviceSecuritySupported": "1",
                "ChangeDevicePassphraseSupported": "1",
            }
        )
    if request.output == "nvmxml":
        out.out(render_xml_flat("SystemCapabilities", record))
    else:
        out.out("".join(f"{key}={value}\n" for key, value in record.items()))


def show_socket(state: m.State, request: Request, out: Output) -> None:
    sockets = parse_id_list(request.targets.get("-socket"))
    records = []
    for socket in range(state["platform"]["sockets"]):
        if sockets is not None and socket not in sockets:
            continue
        mapped = state["platform"].get("ddr_per_socket", 0) + sum(
            d["optane"]["memory_size"] + d["optane"]["appdirect_size"]
            for d in pmem_dimms(state)
            if d["socket"] == socket
        )
        records.append(
            {
                "SocketID": f"0x{socket:04x}",
                "MappedMemoryLimit": fmt_size(4608 * m.GIB, request.units),
                "TotalMappedMemory": fmt_size(mapped, request.units),
            }
        )
    table = ["SocketID", "MappedMemoryLimit", "TotalMappedMemory"]
    if request.output == "nvmxml":
        out.out(render_xml("SocketList", "Socket", records))
    else:
        out.out(render_table(table, [[r[h] for h in table] for r in records]))


# --- goals ------------------------------------------------------------------------------


def percent_property(request: Request, name: str, default: int) -> int:
    text = request.properties.get(name.lower())
    if text is None:
        return default
    if not text.isdigit() or not 0 <= int(text) <= 100:
        raise IpmctlError(f"Syntax Error: Incorrect value for property {name}.", RC_SYNTAX)
    return int(text)


def namespaces_on(state: m.State, dimm_indexes: set[int]) -> bool:
    for region in state["regions"]:
        if not any(mp["dimm"] in dimm_indexes for mp in region["mappings"]):
            continue
        if any(ns["size"] > 0 for ns in region["namespaces"]):
            return True
    return False


def create_goal(state: m.State, request: Request, out: Output, stdin) -> bool:
    known = {"memorymode", "persistentmemorytype", "reserved", "namespacelabelversion"}
    for key in request.properties:
        if key not in known:
            raise IpmctlError(f"Syntax Error: Invalid or unexpected token {key}.", RC_SYNTAX)
    memory_mode = percent_property(request, "MemoryMode", 0)
    reserved = percent_property(request, "Reserved", 0)
    ad_type = request.properties.get("persistentmemorytype", "AppDirect")
    types = {"appdirect": "AppDirect", "appdirectnotinterleaved": "AppDirectNotInterleaved"}
    if ad_type.lower() not in types:
        raise IpmctlError("Syntax Error: Incorrect value for property PersistentMemoryType.", RC_SYNTAX)
    ad_type = types[ad_type.lower()]
    label_version = request.properties.get("namespacelabelversion", "1.2")
    if label_version not in ("1.1", "1.2"):
        raise IpmctlError("Syntax Error: Incorrect value for property NamespaceLabelVersion.", RC_SYNTAX)
    if memory_mode + reserved > 100:
        raise IpmctlError(
            "Syntax Error: Properties MemoryMode and Reserved cannot sum greater than 100%", RC_SYNTAX
        )
    dimms = target_dimms(state, request)
    if request.targets.get("-dimm"):
        chosen = {d["index"] for d in dimms}
        for socket in {d["socket"] for d in dimms}:
            on_socket = {d["index"] for d in pmem_dimms(state) if d["socket"] == socket}
            if not on_socket <= chosen:
                raise IpmctlError(
                    "Create region configuration goal failed: Error 110 - Requests using -dimm must "
                    "conform to ONE of:\n- Target all PMem modules on a given socket\n"
                    "- Target all unconfigured PMem modules\n"
                    "- Target PMem modules for 100% MemoryMode with all unspecified PMem modules "
                    "configured for MemoryMode only\n"
                    "- Target PMem modules for AppDirect Not-Interleaved with all unspecified PMem "
                    "modules configured for AppDirect Not-Interleaved only",
                    1,
                )
    sockets = sorted({d["socket"] for d in dimms})
    indexes = {d["index"] for d in dimms}
    if any(g["socket"] in sockets for g in state["goals"]):
        raise IpmctlError(
            "Create region configuration goal failed: Error 115 - PMem modules on one or more "
            "sockets already have a configured goal. Delete this existing goal before creating a new one.",
            1,
        )
    if namespaces_on(state, indexes):
        raise IpmctlError(
            "Create region configuration goal failed: Error 124 - Namespaces exist on specified "
            "PMem modules. They have to be removed before running this command.\n"
            "WARNING: Removing Namespaces will erase existing data. Please make a backup first.",
            1,
        )
    goals = topology.plan_goals(state, ad_type, memory_mode, reserved, sockets)
    goals = [g for g in goals if g["dimm"] in indexes]
    for goal in goals:
        goal["label_version"] = label_version
    records = goal_records(state, goals, request.units)
    force = request.force or request.output == "nvmxml"
    if not force:
        out.out("The following configuration will be applied:\n")
        out.out(render_table(GOAL_TABLE, [[r[h] for h in GOAL_TABLE] for r in records]))
        out.out("Do you want to continue? [y/n] ")
        answer = stdin() if callable(stdin) else (stdin or "")
        answer = answer.splitlines()[0].strip() if answer.strip() else ""
        if answer.lower() == "n":
            return False
        if answer.lower() != "y":
            out.out("Error: Invalid data input.\n")
            out.rc = RC_SYNTAX
            return False
        out.out("Created following region configuration goal\n")
    state["goals"].extend(goals)
    if request.output == "nvmxml":
        out.out(render_goals(records, request))
    else:
        out.out(render_table(GOAL_TABLE, [[r[h] for h in GOAL_TABLE] for r in records]))
        out.out(REBOOT_REQUIRED + "\n")
    return True


def delete_goal(state: m.State, request: Request, out: Output, stdin) -> bool:
    dimms = target_dimms(state, request)
    lines = []
    deleted = 0
    for dimm in dimms:
        dimm_id = dimm["optane"]["dimm_id"]
        goals = [g for g in state["goals"] if g["dimm"] == dimm["index"]]
        if goals:
            for goal in goals:
                state["goals"].remove(goal)
            deleted += 1
            lines.append(f"Delete memory allocation goal from PMem module {dimm_id}: Success")
        else:
            lines.append(
                f"Delete memory allocation goal from PMem module {dimm_id}: "
                "Error 122 - There is no goal configuration on this PMem module."
            )
    message = "\n".join(lines)
    out.rc = 0 if deleted or not dimms else 1
    if request.output == "nvmxml":
        out.out(render_results(message) if out.rc == 0 else render_error(message, out.rc))
    else:
        out.out(message + "\n")
    return deleted > 0


# --- entry point ------------------------------------------------------------------------


def help_text() -> str:
    path = os.path.join(os.path.dirname(__file__), "data", "ipmctl-help.txt")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def execute(state: m.State, argv: list[str], stdin=None) -> tuple[Output, bool]:
    out = Output()
    if not argv:
        out.out(help_text())
        return out, False
    verb = argv[0].lower()
    if verb not in VERBS:
        out.out(f"Syntax Error: First token must be a verb, '{argv[0]}' is not a supported verb.\n")
        out.rc = RC_SYNTAX
        return out, False
    if verb == "version":
        out.out(VERSION_LINE + "\n")
        return out, False
    if verb == "help":
        out.out(help_text())
        return out, False
    if not state["platform"].get("optane") or not pmem_dimms(state):
        out.out(NO_MODULES + "\n")
        out.rc = 1
        return out, False
    try:
        request = parse([verb, *argv[1:]])
        return run_request(state, request, out, stdin)
    except IpmctlError as exc:
        xml = "nvmxml" in [arg.lower() for arg in argv]
        out.out(render_error(exc.message, exc.rc) if xml and exc.rc != RC_SYNTAX else exc.message + "\n")
        out.rc = exc.rc
        return out, False


def run_request(state: m.State, request: Request, out: Output, stdin) -> tuple[Output, bool]:
    targets = request.targets
    if request.verb == "show":
        if "-goal" in targets:
            show_goal(state, request, out)
        elif "-firmware" in targets:
            show_firmware(state, request, out)
        elif "-sensor" in targets:
            show_sensor(state, request, out)
        elif "-topology" in targets:
            show_topology(state, request, out)
        elif "-memoryresources" in targets:
            show_memory_resources(state, request, out)
        elif "-region" in targets:
            show_region(state, request, out)
        elif "-system" in targets and "-capabilities" in targets:
            show_capabilities(state, request, out)
        elif "-dimm" in targets:
            show_dimm(state, request, out)
        elif "-socket" in targets:
            show_socket(state, request, out)
        else:
            raise IpmctlError("Syntax Error: Invalid or unexpected token show.", RC_SYNTAX)
        return out, False
    if request.verb == "create" and "-goal" in targets:
        changed = create_goal(state, request, out, stdin)
        return out, changed
    if request.verb == "delete" and "-goal" in targets:
        changed = delete_goal(state, request, out, stdin)
        return out, changed
    raise IpmctlError(
        f"Syntax Error: The command '{request.verb}' is not supported by the simulator.", RC_SYNTAX
    )
