"""Simulated ndctl 76.1: list, namespaces, regions and labels, byte for byte.

The control flow follows ndctl's own (ndctl/list.c, ndctl/namespace.c, the
dimm actions) so that the same inputs produce the same stdout, stderr and exit
status as the transcripts in ../shared/reference/transcripts-ndctl76-qemu.
"""

from __future__ import annotations

import os

from . import loopdev
from . import model as m
from .jsonfmt import dumps, hex_value, size_value
from .options import Opt, UsageError, parse, parse_size64, size_units, usage_text
from .result import EAGAIN, EBUSY, EINVAL, ENODEV, ENOSPC, ENXIO, STRERROR, Output, exit_code

# Annotations only: typing is not imported at run time (tool start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = "76.1"
RC_USAGE = 129
PAGE_SIZE = 4096
NSLABEL_NAME_LEN = 64
BTT_SECTOR_SIZES = [512, 520, 528, 4096, 4104, 4160, 4224]
PMEM_SECTOR_SIZES = [512, 4096]
DAX_ALIGNMENTS = [4096, 2 * m.MIB, m.GIB]
MODE_NAMES = {"raw": "raw", "sector": "sector", "fsdax": "fsdax", "devdax": "devdax"}

LIST_OPTIONS = [
    Opt("b", "bus", "bus", "str", "bus-id", "filter by bus"),
    Opt("r", "region", "region", "str", "region-id", "filter by region"),
    Opt("d", "dimm", "dimm", "str", "dimm-id", "filter by dimm"),
    Opt("n", "namespace", "namespace", "str", "namespace-id", "filter by namespace id"),
    Opt("m", "mode", "mode", "str", "namespace-mode", "filter by namespace mode"),
    Opt("t", "type", "type", "str", "region-type", "filter by region-type"),
    Opt("U", "numa-node", "numa_node", "str", "numa node", "filter by numa node"),
    Opt("B", "buses", "buses", help="include bus info"),
    Opt("D", "dimms", "dimms", help="include dimm info"),
    Opt("F", "firmware", "firmware", help="include firmware info"),
    Opt("H", "health", "health", help="include dimm health"),
    Opt("R", "regions", "regions", help="include region info"),
    Opt("N", "namespaces", "namespaces", help="include namespace info (default)"),
    Opt("X", "device-dax", "dax", help="include device-dax info"),
    Opt("C", "capabilities", "capabilities", help="include region capability info"),
    Opt("i", "idle", "idle", help="include idle devices"),
    Opt("c", "configured", "configured", help="include configured namespaces, disabled or not"),
    Opt("M", "media-errors", "media_errors", help="include media errors"),
    Opt("u", "human", "human", help="use human friendly number formats "),
    Opt("v", "verbose", "verbose", "incr", help="increase output detail"),
]

BASE_OPTIONS = [
    Opt("b", "bus", "bus", "str", "bus-id", "limit namespace to a bus with an id or provider of <bus-id>"),
    Opt(
        "r",
        "region",
        "region",
        "str",
        "region-id",
        "limit namespace to a region with an id or name of <region-id>",
    ),
    Opt("v", "verbose", "verbose", help="emit extra debug messages to stderr"),
]
CREATE_OPTIONS = [
    *BASE_OPTIONS,
    Opt("e", "reconfig", "reconfig", "str", "reconfig namespace", "reconfigure existing namespace"),
    Opt("u", "uuid", "uuid", "str", "uuid", "specify the uuid for the namespace (default: autogenerate)"),
    Opt("n", "name", "name", "str", "name", "specify an optional free form name for the namespace"),
    Opt(
        "s",
        "size",
        "size",
        "str",
        "size",
        "specify the namespace size in bytes (default: available capacity)",
    ),
    Opt(
        "m",
        "mode",
        "mode",
        "str",
        "operation-mode",
        "specify a mode for the namespace, 'sector', 'fsdax', 'devdax' or 'raw'",
    ),
    Opt("M", "map", "map", "str", "memmap-location", "specify 'mem' or 'dev' for the location of the memmap"),
    Opt("l", "sector-size", "sector_size", "str", "lba-size", "specify the logical sector size in bytes"),
    Opt("t", "type", "type", "str", "type", "specify the type of namespace to create 'pmem' or 'blk'"),
    Opt("a", "align", "align", "str", "align", "specify the namespace alignment in bytes (default: 2M)"),
    Opt("f", "force", "force", help="reconfigure namespace even if currently active"),
    Opt("L", "autolabel", "autolabel", help="automatically initialize labels"),
    Opt(
        "c", "continue", "greedy", help="continue creating namespaces as long as the filter criteria are met"
    ),
    Opt("R", "autorecover", "autorecover", help="automatically cleanup on failure"),
]
CHECK_OPTIONS = [
    *BASE_OPTIONS,
    Opt("R", "repair", "repair", help="perform metadata repairs"),
    Opt("L", "rewrite-log", "logfix", help="regenerate the log"),
    Opt("f", "force", "force", help="check namespace even if currently active"),
]
DESTROY_OPTIONS = [
    *BASE_OPTIONS,
    Opt("f", "force", "force", help="destroy namespace even if currently active"),
]
REGION_OPTIONS = [
    Opt("b", "bus", "bus", "str", "bus-id", "<region> must be on a bus with an id/provider of <bus-id>"),
    Opt("t", "type", "type", "str", "region-type", "<region> must be of the specified type"),
    Opt("v", "verbose", "verbose", help="turn on debug"),
]
DIMM_BASE_OPTIONS = [
    Opt("b", "bus", "bus", "str", "bus-id", "<nmem> must be on a bus with an id/provider of <bus-id>"),
    Opt("v", "verbose", "verbose", help="turn on debug"),
]
INIT_LABELS_OPTIONS = [
    *DIMM_BASE_OPTIONS,
    Opt("f", "force", "force", help="force initialization even if existing index-block present"),
    Opt(
        "V",
        "label-version",
        "label_version",
        "str",
        "version-number",
        "namespace label specification version",
    ),
]
ZERO_LABELS_OPTIONS = [*DIMM_BASE_OPTIONS]
READ_LABELS_OPTIONS = [
    *DIMM_BASE_OPTIONS,
    Opt("o", "output", "output", "str", "output-file", "filename to write label area contents"),
    Opt("j", "json", "json", help="parse label data into json"),
    Opt("u", "human", "human", help="use human friendly number formats (implies --json)"),
]

TOP_USAGE = (
    "\n usage: ndctl [--version] [--help] COMMAND [ARGS]\n\n\n"
    " See 'ndctl help COMMAND' for more information on a specific command.\n"
    " ndctl --list-cmds to see all available commands\n\n"
)
COMMANDS = [
    "version",
    "enable-namespace",
    "disable-namespace",
    "create-namespace",
    "destroy-namespace",
    "read-infoblock",
    "write-infoblock",
    "check-namespace",
    "clear-errors",
    "enable-region",
    "disable-region",
    "enable-dimm",
    "disable-dimm",
    "zero-labels",
    "read-labels",
    "write-labels",
    "init-labels",
    "check-labels",
    "inject-error",
    "update-firmware",
    "inject-smart",
    "wait-scrub",
    "activate-firmware",
    "start-scrub",
    "setup-passphrase",
    "update-passphrase",
    "remove-passphrase",
    "freeze-security",
    "sanitize-dimm",
    "load-keys",
    "wait-overwrite",
    "list",
    "monitor",
    "help",
]


def usage_error(out: Output, messages: list[str], usage: str, options: list[Opt]) -> Output:
    for message in messages:
        out.error(message)
    out.err(usage_text(usage, options))
    out.rc = RC_USAGE
    return out


def parse_or_usage(out: Output, args: list[str], options: list[Opt], usage: str):
    try:
        return parse(args, options)
    except UsageError as exc:
        usage_error(out, exc.messages, usage, options)
        return None


# --- filters ----------------------------------------------------------------------------


def _id_matches(ident: str | None, prefix: str, dev_id: str) -> bool:
    if ident is None or ident == "all":
        return True
    if ident == f"{prefix}{dev_id}":
        return True
    return ident == dev_id


def bus_matches(state: m.State, ident: str | None) -> bool:
    if state.get("bus") is None:  # no NVDIMM bus at all (a host without NVDIMMs)
        return False
    if ident is None or ident == "all":
        return True
    return ident in (state["bus"]["dev"], state["bus"]["provider"], "0")


def region_matches(region: dict[str, Any], ident: str | None) -> bool:
    return _id_matches(ident, "region", str(region["id"]))


def dimm_matches(dimm: dict[str, Any], ident: str | None) -> bool:
    return _id_matches(ident, "nmem", str(dimm["index"]))


def region_has_dimm(state: m.State, region: dict[str, Any], ident: str | None) -> bool:
    if ident is None or ident == "all":
        return True
    return any(dimm_matches(state["dimms"][mapping["dimm"]], ident) for mapping in region["mappings"])


def dimm_in_filters(state: m.State, dimm: dict[str, Any], opt: dict[str, Any]) -> bool:
    """util_dimm_filter_by_region/_namespace/_numa: a DIMM is listed only under matching regions."""
    if opt["region"] in (None, "all") and opt["namespace"] in (None, "all") and opt["numa_node"] is None:
        return True
    for region in state["regions"]:
        if not any(mapping["dimm"] == dimm["index"] for mapping in region["mappings"]):
            continue
        if not region_matches(region, opt["region"]) or not region_has_namespace(region, opt["namespace"]):
            continue
        if opt["numa_node"] is not None and str(dimm["numa_node"]) != opt["numa_node"]:
            continue
        return True
    return False


def namespace_matches(region: dict[str, Any], ns: dict[str, Any], ident: str | None) -> bool:
    return _id_matches(ident, "namespace", f"{region['id']}.{ns['id']}")


def region_has_namespace(region: dict[str, Any], ident: str | None) -> bool:
    if ident is None or ident == "all":
        return True
    return any(namespace_matches(region, ns, ident) for ns in region["namespaces"])


def listed_mode(ns: dict[str, Any]) -> str:
    return ns["mode"] if ns["enabled"] else "raw"


def mode_matches(ns: dict[str, Any], mode: str | None) -> bool:
    if mode is None:
        return True
    wanted = {"memory": "fsdax", "safe": "sector", "dax": "devdax"}.get(mode, mode)
    return listed_mode(ns) == wanted


# --- JSON builders ----------------------------------------------------------------------


def blockdev_name(region: dict[str, Any], ns: dict[str, Any]) -> str:
    name = f"pmem{region['id']}" if ns["id"] == 0 else f"pmem{region['id']}.{ns['id']}"
    return name + ("s" if ns["mode"] == "sector" else "")


def chardev_name(region: dict[str, Any], ns: dict[str, Any]) -> str:
    return f"dax{region['id']}.{ns['id']}"


def dax_device_json(region: dict[str, Any], ns: dict[str, Any], human: bool, mappings: bool = False) -> dict:
    dax = ns["dax"]
    size = m.usable_size(ns)
    device: dict[str, Any] = {
        "chardev": chardev_name(region, ns),
        "size": size_value(size, human),
        "target_node": region["target_node"],
        "align": size_value(ns["align"], human),
        "mode": dax["mode"],
    }
    if dax["mode"] == "system-ram":
        total = m.memblocks(region, ns)
        device["online_memblocks"] = total if dax["online"] else 0
        device["total_memblocks"] = total
        if dax["online"]:
            device["movable"] = dax["movable"]
    if mappings and size:
        start = region["resource"] + ns["offset"] + m.data_offset(ns)
        device["mappings"] = [
            {
                "page_offset": 0,
                "start": hex_value(start, human),
                "end": hex_value(start + size - 1, human),
                "size": size_value(size, human),
            }
        ]
    return device


def dax_region_json(
    region: dict[str, Any], ns: dict[str, Any], human: bool, idle: bool, devices: bool
) -> dict:
    size = m.usable_size(ns)
    jregion: dict[str, Any] = {"id": region["id"], "size": size_value(size, human), "align": ns["align"]}
    if devices and (size > 0 or idle):
        jregion["devices"] = [dax_device_json(region, ns, human)]
    return jregion


def namespace_json(
    region: dict[str, Any], ns: dict[str, Any], *, human: bool, verbose: bool, dax: bool, idle: bool
) -> dict[str, Any]:
    active = ns["enabled"]
    mode = listed_mode(ns)
    jns: dict[str, Any] = {"dev": m.namespace_name(region, ns), "mode": mode}
    if mode in ("fsdax", "devdax"):
        jns["map"] = ns["map"]
    size = m.usable_size(ns) if active else ns["size"]
    jns["size"] = size_value(size, human)
    if active and mode != "raw":
        jns["uuid"] = ns["pers_uuid"]
        if verbose and ns["uuid"] not in (None, m.ZERO_UUID):
            jns["raw_uuid"] = ns["uuid"]
    elif ns["uuid"] is not None:
        jns["uuid"] = ns["uuid"]
    if mode == "devdax":
        if dax:
            jns["daxregion"] = dax_region_json(region, ns, human, idle, devices=True)
        else:
            jns["chardev"] = chardev_name(region, ns)
    else:
        jns["sector_size"] = ns["btt_sector_size"] if mode == "sector" else ns["sector_size"]
    if mode in ("fsdax", "devdax"):
        jns["align"] = ns["align"]
    if active and mode != "devdax":
        jns["blockdev"] = blockdev_name(region, ns)
    if not active:
        jns["state"] = "disabled"
    if ns["name"]:
        jns["name"] = ns["name"]
    if verbose:
        jns["numa_node"] = region["numa_node"]
        jns["target_node"] = region["target_node"]
    return jns


def iset_cookie(state: m.State, region: dict[str, Any]) -> int:
    """The interleave-set cookie ndctl shows: QEMU's guests switched to the other cookie
    definition once their label area had been zeroed (aligned2.log), until re-initialised."""
    dimms = [state["dimms"][mapping["dimm"]] for mapping in region["mappings"]]
    if all(dimm["labels"] == "valid" and not dimm.get("cookie_alt") for dimm in dimms):
        return region["iset_cookie"]
    return region["iset_cookie_alt"]


def region_json(
    state: m.State,
    region: dict[str, Any],
    *,
    human: bool,
    verbose: bool,
    dimms: bool,
    dimm_filter,
    caps: bool,
) -> dict[str, Any]:
    jregion: dict[str, Any] = {
        "dev": m.region_name(region),
        "size": size_value(region["size"], human),
        "align": size_value(region["align"], human),
        "available_size": size_value(m.available_size(region), human),
        "max_available_extent": size_value(m.max_available_extent(region), human),
        "type": "pmem",
    }
    if verbose:
        jregion["numa_node"] = region["numa_node"]
        jregion["target_node"] = region["target_node"]
    if region["labelled"]:
        jregion["iset_id"] = hex_value(iset_cookie(state, region), human)
    if dimms:
        jmappings = []
        for mapping in region["mappings"]:
            dimm = state["dimms"][mapping["dimm"]]
            if not dimm_matches(dimm, dimm_filter):
                continue
            jmappings.append(
                {
                    "dimm": m.dimm_name(dimm),
                    "offset": hex_value(mapping["offset"], human),
                    "length": size_value(mapping["length"], human),
                    "position": mapping["position"],
                }
            )
        if jmappings:
            jregion["mappings"] = jmappings
    if not region["enabled"]:
        jregion["state"] = "disabled"
    if caps:
        jregion["capabilities"] = [
            {"mode": "sector", "sector_sizes": list(BTT_SECTOR_SIZES)},
            {"mode": "fsdax", "alignments": list(DAX_ALIGNMENTS)},
            {"mode": "devdax", "alignments": list(DAX_ALIGNMENTS)},
        ]
    jregion["persistence_domain"] = region["persistence_domain"]
    return jregion


def dimm_json(dimm: dict[str, Any], *, human: bool, firmware: bool) -> dict[str, Any]:
    jdimm: dict[str, Any] = {
        "dev": m.dimm_name(dimm),
        "id": dimm["id"],
        "handle": hex_value(dimm["handle"], human),
        "phys_id": hex_value(dimm["phys_id"], human),
    }
    optane = dimm.get("optane")
    if optane:
        jdimm["security"] = "disabled"
    if not dimm.get("enabled", True):
        jdimm["state"] = "disabled"
    if firmware and optane:
        jdimm["firmware"] = {"current_version": optane["fw_version"], "can_update": True}
    return jdimm


def health_json(dimm: dict[str, Any]) -> dict[str, Any] | None:
    optane = dimm.get("optane")
    if not optane:
        return None
    health = optane.get("health", "Healthy")
    state = {"Healthy": "ok", "Noncritical failure": "non-critical", "Critical failure": "critical"}.get(
        health, "fatal" if health == "Fatal failure" else "unknown"
    )
    return {
        "health_state": state,
        "temperature_celsius": float(optane.get("media_temperature", 36)),
        "controller_temperature_celsius": float(optane.get("controller_temperature", 41)),
        "spares_percentage": optane.get("spares", 100),
        "alarm_temperature": False,
        "alarm_controller_temperature": False,
        "alarm_spares": False,
        "alarm_enabled_media_temperature": False,
        "temperature_threshold": 82.0,
        "alarm_enabled_ctrl_temperature": False,
        "controller_temperature_threshold": 98.0,
        "alarm_enabled_spares": False,
        "spares_threshold": 50,
        "shutdown_state": "clean",
        "shutdown_count": optane.get("shutdown_count", 4),
    }


def bus_json(state: m.State, *, firmware: bool) -> dict[str, Any]:
    jbus: dict[str, Any] = {"provider": state["bus"]["provider"], "dev": state["bus"]["dev"]}
    if state["platform"].get("optane"):
        jbus["scrub_state"] = "idle"
        if firmware:
            jbus["firmware"] = {"activate_method": "reset", "activate_state": "idle"}
    return jbus


def display_array(items: list[Any], human: bool) -> str:
    if len(items) > 1 or not human:
        return dumps(items) + "\n"
    return dumps(items[0]) + "\n"


# --- ndctl list -------------------------------------------------------------------------


def cmd_list(state: m.State, args: list[str]) -> Output:
    out = Output()
    usage = "ndctl list [<options>]"
    parsed = parse_or_usage(out, args, LIST_OPTIONS, usage)
    if parsed is None:
        return out
    if parsed.args:
        return usage_error(out, [f'unknown parameter "{arg}"\n' for arg in parsed.args], usage, LIST_OPTIONS)
    opt = parsed.values
    lint = bool(os.environ.get("NDCTL_LIST_LINT"))

    def num_flags() -> int:
        return sum(bool(opt[key]) for key in ("buses", "dimms", "regions", "namespaces"))

    if num_flags() == 0:
        opt["buses"] = bool(opt["bus"])
        opt["regions"] = bool(opt["region"])
        opt["dimms"] = bool(opt["dimm"])
        if opt["dax"] and not opt["mode"]:
            opt["mode"] = "dax"
    verbose = opt["verbose"]
    if verbose >= 3:
        opt.update(idle=True, firmware=True, health=True, capabilities=True)
    if verbose >= 2:
        if not lint:
            opt.update(dimms=True, buses=True, regions=True)
        elif num_flags() == 0:
            opt.update(dimms=True, buses=True, regions=True, namespaces=True)
    if verbose >= 1:
        opt["media_errors"] = True
        if not lint:
            opt["namespaces"] = True
        opt["dax"] = True
    if num_flags() == 0:
        opt["namespaces"] = True

    human = bool(opt["human"])
    idle = bool(opt["idle"])
    configured = bool(opt["configured"])
    jbuses: list[Any] | None = None
    jdimms: list[Any] | None = None
    jregions: list[Any] | None = None
    jnamespaces: list[Any] | None = None

    if bus_matches(state, opt["bus"]) and (
        opt["dimm"] in (None, "all") or any(dimm_matches(d, opt["dimm"]) for d in state["dimms"])
    ):
        jbus = None
        if opt["buses"]:
            jbuses = []
            jbus = bus_json(state, firmware=bool(opt["firmware"]))
            jbuses.append(jbus)
        if opt["dimms"]:
            for dimm in m.ordered_dimms(state):
                if not dimm_matches(dimm, opt["dimm"]) or not dimm_in_filters(state, dimm, opt):
                    continue
                if not idle and not configured and not dimm.get("enabled", True):
                    continue
                if jdimms is None:
                    jdimms = []
                    if jbus is not None:
                        jbus["dimms"] = jdimms
                jdimm = dimm_json(dimm, human=human, firmware=bool(opt["firmware"]))
                if opt["health"]:
                    health = health_json(dimm)
                    if health:
                        jdimm["health"] = health
                jdimms.append(jdimm)
        numa_filter = opt["numa_node"]
        for region in m.ordered_regions(state):
            if not region_matches(region, opt["region"]) or not region_has_dimm(state, region, opt["dimm"]):
                continue
            if opt["type"] not in (None, "pmem"):
                continue
            if numa_filter is not None and str(region["numa_node"]) != numa_filter:
                continue
            if not region_has_namespace(region, opt["namespace"]):
                continue
            jregion = None
            if opt["regions"]:
                if not configured and not idle and not region["enabled"]:
                    continue
                if jregions is None:
                    jregions = []
                    if jbus is not None:
                        jbus["regions"] = jregions
                jregion = region_json(
                    state,
                    region,
                    human=human,
                    verbose=bool(verbose),
                    dimms=bool(opt["dimms"]),
                    dimm_filter=opt["dimm"],
                    caps=bool(opt["capabilities"]),
                )
                jregions.append(jregion)
                jnamespaces = None
            if not opt["namespaces"] or not region["enabled"]:
                continue
            for ns in m.ordered_namespaces(region):
                if not namespace_matches(region, ns, opt["namespace"]) or not mode_matches(ns, opt["mode"]):
                    continue
                if not (ns["enabled"] or idle or (configured and ns["size"] > 0)):
                    continue
                if jnamespaces is None:
                    jnamespaces = []
                    container = jregion if jregion is not None else jbus
                    if container is not None:
                        container["namespaces"] = jnamespaces
                jnamespaces.append(
                    namespace_json(
                        region, ns, human=human, verbose=bool(verbose), dax=bool(opt["dax"]), idle=idle
                    )
                )

    if jbuses is not None:
        out.out(display_array(jbuses, human))
    elif (jdimms is not None) + (jregions is not None) + (jnamespaces is not None) > 1:
        platform: dict[str, Any] = {}
        if jdimms is not None:
            platform["dimms"] = jdimms
        if jregions is not None:
            platform["regions"] = jregions
        if jnamespaces is not None and jregions is None:
            platform["namespaces"] = jnamespaces
        out.out(dumps(platform) + "\n")
    elif jdimms is not None:
        out.out(display_array(jdimms, human))
    elif jregions is not None:
        out.out(display_array(jregions, human))
    elif jnamespaces is not None:
        out.out(display_array(jnamespaces, human))
    return out


# --- namespace actions ------------------------------------------------------------------


class NsContext:
    """Per-invocation parameters and counters of ndctl's namespace.c."""

    def __init__(self, state: m.State, values: dict[str, Any], out: Output, cmd_name: str) -> None:
        self.state = state
        self.param = values
        self.out = out
        self.cmd_name = cmd_name
        self.err_count = 0
        self.force = bool(values.get("force"))

    def err(self, message: str) -> None:
        """ndctl's err(): counted, prefixed with the action name."""
        self.err_count += 1
        self.out.error(f"{self.cmd_name}: {message}")


def set_defaults(values: dict[str, Any], action: str) -> list[str]:
    """ndctl set_defaults(): option sanity checks before any device is looked at."""
    errors = []
    if values.get("type"):
        if values["type"] not in ("pmem", "blk"):
            errors.append(f"invalid type '{values['type']}', must be either 'pmem' or 'blk'\n")
    elif not values.get("reconfig") and action == "create":
        values["type"] = "pmem"
    if values.get("mode"):
        if util_nsmode(values["mode"]) is None:
            errors.append(f"invalid mode '{values['mode']}'\n")
    elif not values.get("reconfig") and values.get("type"):
        values["mode"] = "fsdax" if values["type"] == "pmem" else "sector"
        values["mode_default"] = True
    if values.get("map"):
        if values["map"] not in ("mem", "dev"):
            errors.append(f"invalid map location '{values['map']}'\n")
        if not values.get("reconfig") and values.get("mode") and values["mode"] not in ("fsdax", "devdax"):
            errors.append("--map only valid for an devdax mode pmem namespace\n")
    elif not values.get("reconfig"):
        values["map"] = "dev"
    if values.get("type") == "blk" and values.get("mode") in ("fsdax", "devdax"):
        errors.append("only 'pmem' namespaces support dax operation\n")
    if values.get("size") and parse_size64(values["size"]) is None:
        errors.append(f"failed to parse namespace size '{values['size']}'\n")
    if values.get("align"):
        align = parse_size64(values["align"])
        if align is None:
            errors.append(f"failed to parse namespace alignment '{values['align']}'\n")
        elif align & (align - 1) or align < PAGE_SIZE:
            errors.append(f"align must be a power-of-2 greater than {PAGE_SIZE}\n")
    if values.get("size") and parse_size64(values["size"]) is None:
        errors.append(f"failed to parse namespace size '{values['size']}'\n")
    if values.get("uuid") and not valid_uuid(values["uuid"]):
        errors.append(f"failed to parse uuid: '{values['uuid']}'\n")
    if values.get("sector_size"):
        if parse_size64(values["sector_size"]) is None:
            errors.append(f"invalid sector size: {values['sector_size']}\n")
    elif values.get("type") == "blk" or util_nsmode(values.get("mode")) == "sector":
        values["sector_size"] = "4096"
    return errors


def valid_uuid(text: str) -> bool:
    import uuid as uuid_module

    if len(text) != 36:
        return False
    try:
        uuid_module.UUID(text)
    except ValueError:
        return False
    return True


def util_nsmode(mode: str | None) -> str | None:
    if not mode:
        return None
    return {
        "memory": "fsdax",
        "fsdax": "fsdax",
        "sector": "sector",
        "safe": "sector",
        "dax": "devdax",
        "devdax": "devdax",
        "raw": "raw",
    }.get(mode.lower())


def is_configuration_idle(ns: dict[str, Any]) -> bool:
    if ns["enabled"]:
        return False
    return ns["size"] == 0 or ns["type"] == "io"


def region_get_namespace(region: dict[str, Any]) -> dict[str, Any] | None:
    for ns in m.ordered_namespaces(region):
        if ns["id"] == 0 and is_configuration_idle(ns):
            return ns
    seed = region.get("ns_seed")
    for ns in region["namespaces"]:
        if ns["id"] == seed:
            return ns
    return None


def current_mode(ns: dict[str, Any]) -> str:
    return ns["mode"] if ns["enabled"] else "raw"


def validate(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """ndctl validate_namespace_options(): returns (-errno or 0, parsed parameters)."""
    param = ctx.param
    p: dict[str, Any] = {}
    region_name = m.region_name(region)
    if not region["enabled"]:
        return -EAGAIN, p
    default_size = False
    units = 1
    if param.get("size"):
        p["size"] = parse_size64(param["size"]) or 0
        units = size_units(param["size"])
    elif ns is not None:
        p["size"] = ns["size"]
    else:
        p["size"] = 0
        default_size = True
    if ns is None:
        available = region["size"] if m.is_label_less(region) else m.max_available_extent(region)
        if not available or p["size"] > available:
            return -EAGAIN, p
        if p["size"] == 0:
            p["size"] = available
    if m.is_label_less(region) and p["size"] != region["size"]:
        ctx.out.error("Legacy / label-less namespaces do not support sub-dividing a region\n")
        ctx.out.error("Retry without -s/--size=\n")
        return -EINVAL, p
    p["uuid"] = param.get("uuid") or m.new_uuid()
    if param.get("name"):
        p["name"] = param["name"]
    elif ns is not None:
        p["name"] = ns["name"] or ""
    else:
        p["name"] = ""
    if len(p["name"].encode()) >= NSLABEL_NAME_LEN:
        ctx.err("validate_namespace_options: alt name overflow\n")
        return -EINVAL, p
    if param.get("mode"):
        p["mode"] = util_nsmode(param["mode"])
    elif ns is not None:
        p["mode"] = current_mode(ns)
    else:
        p["mode"] = "raw"
    if param.get("align"):
        if p["mode"] not in ("fsdax", "devdax"):
            ctx.out.error(f"{MODE_NAMES[p['mode']]} mode does not support setting an alignment\n")
            return -ENXIO, p
        p["align"] = parse_size64(param["align"])
        if p["align"] not in DAX_ALIGNMENTS:
            ctx.out.error(f"unsupported align: {param['align']}\n")
            return -ENXIO, p
    else:
        if ns is not None and p["mode"] == current_mode(ns):
            p["align"] = ns["align"] if p["mode"] in ("fsdax", "devdax") else PAGE_SIZE
        elif p["mode"] in ("fsdax", "devdax"):
            p["align"] = m.SZ_2M
        else:
            p["align"] = PAGE_SIZE
        if region["resource"] & (p["align"] - 1):
            p["align"] = PAGE_SIZE
    region_align = region["align"]
    if p["size"] % region_align:
        ctx.err(f"{region_name}: align setting is {region_align:#x} size {p['size']:#x} is misaligned\n")
        return -EINVAL, p
    ways = max(1, len(region["mappings"]))
    size_align = p["align"]
    if p["size"] % (size_align * ways):
        suffix = {1 << 10: "K", 1 << 20: "M", 1 << 30: "G", 1 << 40: "T"}.get(units, "")
        size_align = max(units, size_align) * ways
        hint = (p["size"] // size_align + 1) * size_align // units
        ctx.err(
            f"'--size=' must align to interleave-width: {ways} and alignment: {p['align']}\n"
            f"did you intend --size={hint}{suffix}?\n"
        )
        return -EINVAL, p
    if p["size"] < m.SZ_16M and p["mode"] != "raw":
        if default_size:
            return -EAGAIN, p
        ctx.out.error(f"'--size=' must be >= 16MiB for '{p['mode']}' mode\n")
        return -EINVAL, p
    if param.get("sector_size"):
        p["sector_size"] = parse_size64(param["sector_size"])
        if p["mode"] == "sector":
            if p["sector_size"] not in BTT_SECTOR_SIZES:
                ctx.err(f"{region_name}: does not support btt sector_size {p['sector_size']}\n")
                return -EINVAL, p
        else:
            supported = [] if m.is_label_less(region) else PMEM_SECTOR_SIZES
            if p["sector_size"] not in supported:
                ctx.err(f"{region_name}: does not support namespace sector_size {p['sector_size']}\n")
                return -EINVAL, p
    elif ns is not None:
        if ns["enabled"] and ns["mode"] == "sector" and p["mode"] == "sector":
            p["sector_size"] = ns["btt_sector_size"]
        else:
            p["sector_size"] = ns["sector_size"]
    else:
        p["sector_size"] = None if m.is_label_less(region) else 512
    if param.get("map"):
        p["map"] = param["map"]
        if ns is not None and p["mode"] not in ("fsdax", "devdax"):
            ctx.err(f"{m.namespace_name(region, ns)}: --map= only valid for fsdax mode namespace\n")
            return -EINVAL, p
    else:
        p["map"] = "dev"
    p["autorecover"] = param.get("autorecover") is not False
    p["autolabel"] = param.get("autolabel") is not False
    return 0, p


def check_dax_align(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    resource = region["resource"] + (ns["offset"] or 0)
    if resource % m.SZ_16M == 0 or ctx.force:
        return 0
    ctx.out.error(f"{m.namespace_name(region, ns)} misaligned to 16M, adjust region alignment and retry\n")
    return -EINVAL


def setup_namespace(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any], p: dict[str, Any]) -> int:
    if ns["type"] != "io":
        # the kernel writes a fresh label index on DIMMs whose label area was zeroed
        for mapping in region["mappings"]:
            dimm = ctx.state["dimms"][mapping["dimm"]]
            if dimm["labeling"] and dimm["labels"] == "empty":
                dimm["labels"] = "valid"
        ns["uuid"] = p["uuid"]
        ns["name"] = p["name"] or None
        if ns["size"] != p["size"] or ns["offset"] is None:
            previous = (ns["offset"], ns["size"])
            ns["size"] = 0
            ns["offset"] = None
            offset = None
            if previous[0] is not None:
                # keep the start when the new size still fits there (the kernel resizes in place)
                extents = m.free_extents(region)
                for start, length in extents:
                    if start == previous[0] and length >= p["size"]:
                        offset = start
            if offset is None:
                offset = m.allocate(region, p["size"])
            if offset is None:
                ctx.err(f"{m.namespace_name(region, ns)}: set_size failed: {STRERROR[ENOSPC]}\n")
                return -ENOSPC
            ns["offset"] = offset
            ns["size"] = p["size"]
    sector_size = p.get("sector_size")
    if sector_size and ns["type"] != "io":
        if sector_size in PMEM_SECTOR_SIZES:
            ns["sector_size"] = sector_size
        elif p["mode"] != "sector" and sector_size != 512:
            ctx.out.error(f"{m.namespace_name(region, ns)}: sector_size: {sector_size} not supported\n")
            return -EINVAL
    if ns["type"] != "io":
        write_labels(ctx.state, region, ns)
    mode = p["mode"]
    if mode in ("fsdax", "devdax"):
        rc = check_dax_align(ctx, region, ns)
        if rc:
            return rc
        ns["map"] = p["map"]
        ns["align"] = p["align"]
    if mode == "devdax":
        ns["dax"] = {"nd_id": m.next_dax_id(region), "mode": "devdax", "online": False, "movable": True}
    else:
        ns["dax"] = None
    if mode == "sector":
        ns["btt_sector_size"] = sector_size or 4096
    ns["mode"] = mode
    ns["pers_uuid"] = None if mode == "raw" else m.new_uuid()
    ns["enabled"] = True
    if region.get("ns_seed") == ns["id"] and ns["type"] != "io":
        m.new_seed(region)
    loopdev.attach(ctx.state, region, ns)
    return 0


def write_labels(state: m.State, region: dict[str, Any], ns: dict[str, Any]) -> None:
    """The kernel writes a namespace's label twice while setting it up (first flagged UPDATING).

    Label slots are not wiped when a namespace is destroyed (the index frees them), so
    read-labels keeps showing them until the label area is zeroed or re-initialised.
    """
    ways = max(1, len(region["mappings"]))
    for mapping in region["mappings"]:
        dimm = state["dimms"][mapping["dimm"]]
        log = dimm.setdefault("label_log", [])
        for flags in (0x8, 0):
            log.append(
                {
                    "uuid": ns["uuid"],
                    "name": ns["name"] or "",
                    "position": mapping["position"],
                    "nlabel": ways,
                    "flags": flags,
                    "isetcookie": region["iset_cookie_alt"],
                    "lbasize": ns["sector_size"],
                    "dpa": mapping["offset"] + ns["offset"] // ways,
                    "rawsize": ns["size"] // ways,
                }
            )


def delete_namespace(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> None:
    """ndctl_namespace_delete() after a failed setup (autorecover) or a destroy."""
    loopdev.detach(ctx.state, ns)
    if ns["type"] == "io":
        ns.update(enabled=False, mode="raw", pers_uuid=None, dax=None)
        return
    m.release_namespace(region, ns)


def namespace_json_for_create(region: dict[str, Any], ns: dict[str, Any], human: bool) -> str:
    return dumps(namespace_json(region, ns, human=human, verbose=False, dax=True, idle=False)) + "\n"


def namespace_create(ctx: NsContext, region: dict[str, Any]) -> int:
    rc, p = validate(ctx, region, None)
    if rc:
        return rc
    ns = region_get_namespace(region)
    if ns is None or not is_configuration_idle(ns):
        return -EAGAIN
    rc = setup_namespace(ctx, region, ns, p)
    if rc:
        if p["autorecover"]:
            delete_namespace(ctx, region, ns)
        return rc
    ctx.out.out(namespace_json_for_create(region, ns, ctx.param.get("tty_human", False)))
    return 0


def disable_safe(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    if ns["enabled"] and ns.get("loop"):
        busy = loopdev.busy_reason(ns)
        if busy:
            bdev = blockdev_name(region, ns) if ns["mode"] != "devdax" else chardev_name(region, ns)
            ctx.out.err(
                f"libndctl: ndctl_namespace_disable_safe: {m.namespace_name(region, ns)}: "
                f"{bdev} failed exclusive open: {STRERROR[EBUSY]}\n"
            )
            return -EBUSY
    loopdev.detach(ctx.state, ns)
    ns["enabled"] = False
    return 0


def prep_reconfig(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    """ndctl namespace_prep_reconfig(): 2 = labelled (delete next), 0 = legacy zeroed, 1 = skipped."""
    if ns["enabled"] and not ctx.force:
        ctx.out.error(f"{m.namespace_name(region, ns)} is active, specify --force for re-configuration\n")
        return -EBUSY
    rc = disable_safe(ctx, region, ns)
    if rc < 0:
        return rc
    did_zero = ns["size"] > 0 and ns["mode"] != "raw"
    ns.update(mode="raw", pers_uuid=None, dax=None)
    if ns["type"] == "pmem":
        return 2
    return 0 if did_zero else 1


def namespace_destroy(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    rc = prep_reconfig(ctx, region, ns)
    if rc < 0:
        return rc
    if rc == 2:
        delete_namespace(ctx, region, ns)
        return 0
    return rc


def enable_labels(ctx: NsContext, region: dict[str, Any]) -> int:
    dimms = [ctx.state["dimms"][mapping["dimm"]] for mapping in region["mappings"]]
    if not dimms or not all(dimm["label_support"] for dimm in dimms):
        return -ENODEV
    for dimm in dimms:
        dimm["labels"] = "valid"
        dimm["labeling"] = True
        dimm["label_log"] = []
    region["labelled"] = True
    m.reset_region_namespaces(region)
    return 0


def namespace_reconfig(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    rc, p = validate(ctx, region, ns)
    if rc:
        return rc
    rc = prep_reconfig(ctx, region, ns)
    if rc < 0:
        return rc
    if m.is_label_less(region) and p["autolabel"]:
        rc = enable_labels(ctx, region)
        if rc != -ENODEV:
            ns = region_get_namespace(region)
        if ns is None or (rc != -ENODEV and not is_configuration_idle(ns)):
            return -ENODEV
    rc = setup_namespace(ctx, region, ns, p)
    if rc:
        return rc
    ctx.out.out(namespace_json_for_create(region, ns, ctx.param.get("tty_human", False)))
    return 0


def enable_namespace(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    if ns["size"] == 0:
        ctx.out.err(f"libndctl: ndctl_namespace_enable: {m.namespace_name(region, ns)}: failed to enable\n")
        return -ENXIO
    ns["enabled"] = True
    loopdev.attach(ctx.state, region, ns)
    return 0


def selected_regions(ctx: NsContext) -> list[dict[str, Any]]:
    if not bus_matches(ctx.state, ctx.param.get("bus")):
        return []
    regions = []
    for region in m.ordered_regions(ctx.state):
        if not region_matches(region, ctx.param.get("region")):
            continue
        if ctx.param.get("type") and ctx.param["type"] != "pmem":
            continue
        regions.append(region)
    return regions


def do_xaction(ctx: NsContext, namespace: str | None, action: str) -> tuple[int, int]:
    processed = 0
    rc = -ENXIO
    if namespace is None and action != "create":
        return rc, processed
    if namespace == "all":
        rc = 0
    saved_rc = 0
    for region in selected_regions(ctx):
        if action == "create" and namespace is None:
            rc = namespace_create(ctx, region)
            if rc == -EAGAIN:
                continue
            if rc == 0:
                processed += 1
                if ctx.param.get("greedy"):
                    continue
            elif ctx.param.get("greedy") and ctx.force:
                saved_rc = rc
                continue
            return rc, processed
        if not region["enabled"]:
            continue
        for ns in list(m.ordered_namespaces(region)):
            if ns not in region["namespaces"]:
                continue
            if namespace == "all":
                if ns["size"] == 0 and ns["uuid"] in (None, m.ZERO_UUID):
                    continue
            elif namespace != m.namespace_name(region, ns):
                continue
            if action == "disable":
                rc = disable_safe(ctx, region, ns)
                if rc == 0:
                    processed += 1
            elif action == "enable":
                rc = enable_namespace(ctx, region, ns)
                if rc >= 0:
                    processed += 1
                    rc = 0
            elif action == "destroy":
                rc = namespace_destroy(ctx, region, ns)
                if rc == 0:
                    processed += 1
                if rc > 0:
                    rc = 0
            elif action == "check":
                rc = namespace_check(ctx, region, ns)
                if rc == 0:
                    processed += 1
            elif action == "create":
                rc = namespace_reconfig(ctx, region, ns)
                if rc == 0:
                    processed = 1
                return rc, processed
    if action == "create" and rc == -EAGAIN:
        rc = 0 if ctx.param.get("greedy") and processed > 0 else -ENOSPC
    if saved_rc:
        rc = saved_rc
    return rc, processed


def parse_namespace_options(
    out: Output, args: list[str], action: str, options: list[Opt], usage: str
) -> tuple[dict[str, Any] | None, str | None, bool]:
    do_scan = len(args) == 0
    try:
        parsed = parse(args, options)
    except UsageError as exc:
        usage_error(out, exc.messages, usage, options)
        return None, None, do_scan
    values = parsed.values
    errors = set_defaults(values, action) if action == "create" else []
    positional = parsed.args
    if not positional and action != "create":
        errors.append(f'specify a namespace to {action}, or "all"\n')
    start = 0 if action == "create" else 1
    for extra in positional[start:]:
        errors.append(f'unknown extra parameter "{extra}"\n')
    if errors:
        usage_error(out, errors, usage, options)
        return None, None, do_scan
    namespace = values.get("reconfig") if action == "create" else positional[0]
    return values, namespace, do_scan


def cmd_create_namespace(state: m.State, args: list[str], tty: bool = False) -> Output:
    out = Output()
    values, namespace, do_scan = parse_namespace_options(
        out, args, "create", CREATE_OPTIONS, "ndctl create-namespace [<options>]"
    )
    if values is None:
        return out
    values["tty_human"] = tty
    ctx = NsContext(state, values, out, "create namespace")
    rc, created = do_xaction(ctx, namespace, "create")
    if rc < 0 and created < 1 and do_scan:
        retry = {"type": "blk", "map": "dev", "mode": "sector", "sector_size": "4096", "tty_human": tty}
        ctx.param = retry
        rc, created = do_xaction_blk_retry(ctx)
    if values.get("greedy"):
        out.err(f"created {created} namespace{'' if created == 1 else 's'}\n")
    if (rc < 0 or (namespace is None and created < 1)) and not ctx.err_count:
        out.err(f"failed to {'reconfigure' if namespace else 'create'} namespace: {STRERROR[-rc]}\n")
        if namespace is None:
            rc = -ENODEV
    out.rc = exit_code(rc)
    return out


def do_xaction_blk_retry(ctx: NsContext) -> tuple[int, int]:
    """The default-scan fallback to blk regions: none exist on NFIT PMem, so nothing matches."""
    return -ENXIO, 0


def namespace_check(ctx: NsContext, region: dict[str, Any], ns: dict[str, Any]) -> int:
    """ndctl check-namespace (BTT consistency): only the outcomes the simulator can know."""
    name = m.namespace_name(region, ns)
    if ns["enabled"] and not ctx.force:
        ctx.out.err(f"{name}: namespace_check: {name}: check aborted, namespace online\n")
        return -EBUSY
    if ns["size"] == 0:
        ctx.out.err(f"libndctl: ndctl_namespace_enable: {name}: failed to enable\n")
        ctx.out.err(
            f"{name}: namespace_check: {name}: failed to enable in raw mode: {STRERROR[ENXIO]} (-{ENXIO})\n"
        )
        return -ENXIO
    return 0


def cmd_xable_namespace(state: m.State, args: list[str], action: str) -> Output:
    out = Output()
    options = {"destroy": DESTROY_OPTIONS, "check": CHECK_OPTIONS}.get(action, BASE_OPTIONS)
    usage = f"ndctl {action}-namespace <namespace> [<options>]"
    values, namespace, _ = parse_namespace_options(out, args, action, options, usage)
    if values is None:
        return out
    ctx = NsContext(state, values, out, f"{action} namespace")
    rc, processed = do_xaction(ctx, namespace, action)
    past = {"destroy": "destroyed", "enable": "enabled", "disable": "disabled", "check": "checked"}[action]
    gerund = {"destroy": "destroying", "enable": "enabling", "disable": "disabling", "check": "checking"}[
        action
    ]
    if rc < 0 and not ctx.err_count:
        out.err(f"error {gerund} namespaces: {STRERROR[-rc]}\n")
    out.err(f"{past} {processed} namespace{'' if processed == 1 else 's'}\n")
    out.rc = exit_code(rc)
    return out


# --- regions ----------------------------------------------------------------------------


def rescan_region(state: m.State, region: dict[str, Any]) -> None:
    """Region probe: namespaces come back from labels (or info blocks), renumbered in DPA order."""
    dimms = [state["dimms"][mapping["dimm"]] for mapping in region["mappings"]]
    region["labelled"] = bool(dimms) and all(dimm["labeling"] for dimm in dimms)
    labels_valid = all(dimm["labels"] == "valid" for dimm in dimms)
    if not region["labelled"]:
        existing = [ns for ns in region["namespaces"] if ns["type"] == "io"]
        if existing:
            ns = existing[0]
            ns["enabled"] = True
            region["namespaces"] = [ns]
        else:
            region["namespaces"] = [m.label_less_namespace(region)]
        region["ns_seed"] = 0
        return
    kept = []
    if labels_valid:
        kept = sorted(
            (ns for ns in region["namespaces"] if ns["type"] == "pmem" and ns["size"] > 0),
            key=lambda ns: ns["offset"],
        )
    region["namespaces"] = []
    dax_id = 0
    for new_id, ns in enumerate(kept):
        ns["id"] = new_id
        ns["enabled"] = True
        if ns.get("dax"):
            ns["dax"]["nd_id"] = dax_id
            dax_id += 1
        region["namespaces"].append(ns)
    m.new_seed(region)


def region_xable(state: m.State, args: list[str], action: str) -> Output:
    out = Output()
    usage = f"ndctl {action}-region <region> [<options>]"
    parsed = parse_or_usage(out, args, REGION_OPTIONS, usage)
    if parsed is None:
        return out
    errors = []
    if not parsed.args:
        errors.append(f'specify a region to {action}, or "all"\n')
    errors.extend(f'unknown extra parameter "{extra}"\n' for extra in parsed.args[1:])
    if errors:
        return usage_error(out, errors, usage, REGION_OPTIONS)
    ident = parsed.args[0]
    count = 0
    rc = 0
    if bus_matches(state, parsed.values.get("bus")):
        for region in m.ordered_regions(state):
            if not region_matches(region, ident):
                continue
            if parsed.values.get("type") not in (None, "pmem"):
                continue
            if action == "disable":
                busy = [
                    ns
                    for ns in region["namespaces"]
                    if ns["enabled"] and ns.get("loop") and loopdev.busy_reason(ns)
                ]
                if busy:
                    ns = busy[0]
                    out.err(
                        f"libndctl: ndctl_namespace_disable_safe: {m.namespace_name(region, ns)}: "
                        f"{blockdev_name(region, ns)} failed exclusive open: {STRERROR[EBUSY]}\n"
                    )
                    rc = -EBUSY
                    continue
                for ns in region["namespaces"]:
                    loopdev.detach(state, ns)
                region["enabled"] = False
            else:
                if not region["enabled"] or region.get("rescan"):
                    region["enabled"] = True
                    region["rescan"] = False
                    rescan_region(state, region)
                    for ns in region["namespaces"]:
                        if ns["enabled"]:
                            loopdev.attach(state, region, ns)
            count += 1
    if rc < 0:
        out.err(f"error {action}ing regions: {STRERROR[-rc]}\n")
    out.err(f"{action}d {count} region{'' if count == 1 else 's'}\n")
    out.rc = exit_code(rc) if rc else (0 if count or ident == "all" else exit_code(-ENXIO))
    return out


# --- dimm label actions -----------------------------------------------------------------


def dimm_regions_active(state: m.State, dimm: dict[str, Any]) -> bool:
    return any(
        region["enabled"]
        for region in state["regions"]
        if any(mp["dimm"] == dimm["index"] for mp in region["mappings"])
    )


def dimm_action(state: m.State, args: list[str], action: str) -> Output:
    out = Output()
    options = {
        "init-labels": INIT_LABELS_OPTIONS,
        "zero-labels": ZERO_LABELS_OPTIONS,
        "read-labels": READ_LABELS_OPTIONS,
        "check-labels": DIMM_BASE_OPTIONS,
    }[action]
    usage = f"ndctl {action} <nmem0> [<nmem1>..<nmemN>] [<options>]"
    parsed = parse_or_usage(out, args, options, usage)
    if parsed is None:
        return out
    if not parsed.args:
        return usage_error(out, [f'specify a dimm for {action}, or "all"\n'], usage, options)
    selected = []
    for ident in parsed.args:
        for dimm in m.ordered_dimms(state):
            if dimm_matches(dimm, ident) and dimm not in selected:
                selected.append(dimm)
    count = 0
    failed = False
    json_items = []
    for dimm in selected:
        name = m.dimm_name(dimm)
        if action in ("init-labels", "zero-labels"):
            if not dimm["label_support"]:
                failed = True
                continue
            if dimm_regions_active(state, dimm):
                out.err(f"{name}: regions active, abort label write\n")
                failed = True
                continue
            if action == "init-labels":
                if dimm["labels"] == "valid" and not parsed.values.get("force"):
                    out.err(f"{name}: error: labels already initialized\n")
                    failed = True
                    continue
                dimm["labels"] = "valid"
                dimm["labeling"] = True
                dimm["cookie_alt"] = False
            else:
                dimm["labels"] = "empty"
                dimm["cookie_alt"] = True
            dimm["label_log"] = []
            for region in state["regions"]:
                if any(mp["dimm"] == dimm["index"] for mp in region["mappings"]):
                    region["rescan"] = True
            count += 1
        elif action == "read-labels":
            if not dimm["label_support"]:
                failed = True
                continue
            json_items.append(read_labels_json(state, dimm, bool(parsed.values.get("human"))))
            count += 1
        elif action == "check-labels":
            if dimm["labels"] == "valid":
                count += 1
            else:
                failed = True
    verb = {
        "init-labels": "initialized",
        "zero-labels": "zeroed",
        "read-labels": "read",
        "check-labels": "successfully verified",
    }[action]
    if json_items and (parsed.values.get("json") or parsed.values.get("human")):
        out.out(dumps(json_items) + "\n")
    suffix = "s" if count > 1 else ""
    if action == "check-labels":
        out.err(f"{verb} {count} nmem label{suffix}\n")
    else:
        out.err(f"{verb} {count} nmem{suffix}\n")
    out.rc = 1 if (failed or count == 0) else 0
    return out


def read_labels_json(state: m.State, dimm: dict[str, Any], human: bool) -> dict[str, Any]:
    if dimm["labels"] != "valid":
        blank_index = {"signature": "", "major": 0, "minor": 0, "labelsize": 128, "seq": 0, "nslot": 0}
        return {
            "dev": m.dimm_name(dimm),
            "index": [dict(blank_index), dict(blank_index)],
            "label": [
                {
                    "uuid": m.ZERO_UUID,
                    "name": "",
                    "slot": 0,
                    "position": 0,
                    "nlabel": 0,
                    "flags": 0,
                    "isetcookie": 0,
                    "lbasize": 0,
                    "dpa": 0,
                    "rawsize": 0,
                }
            ],
        }
    # v1.2 index: two index blocks, then 256-byte label slots (kernel nvdimm_num_label_slots)
    area = dimm.get("label_area", 128 * 1024)
    index_size = m.align_up(72 + (area // 256 + 7) // 8, 256)
    nslot = (area - 2 * index_size) // 256
    index = [
        {"signature": "NAMESPACE_INDEX", "major": 1, "minor": 2, "labelsize": 256, "seq": seq, "nslot": nslot}
        for seq in (1, 2)
    ]
    labels = [
        {
            "uuid": record["uuid"],
            "name": record["name"],
            "slot": slot,
            "position": record["position"],
            "nlabel": record["nlabel"],
            "flags": hex_value(record["flags"], human),
            "isetcookie": hex_value(record["isetcookie"], human),
            "lbasize": record["lbasize"],
            "dpa": hex_value(record["dpa"], human),
            "rawsize": size_value(record["rawsize"], human),
            "type_guid": "79d3f066-f3b4-7440-ac43-0d3318b78cdb",
            "abstraction_guid": m.ZERO_UUID,
        }
        for slot, record in enumerate(dimm.get("label_log", []))
    ]
    result: dict[str, Any] = {"dev": m.dimm_name(dimm), "index": index}
    if labels:
        result["label"] = labels
    return result


def security_unsupported(state: m.State, args: list[str], command: str) -> Output:
    out = Output()
    targets = [arg for arg in args if not arg.startswith("-")]
    for ident in targets[:1]:
        out.error(f"{ident}: security operation not supported\n")
    summary = {
        "setup-passphrase": "passphrase enabled for 0 nmem.",
        "update-passphrase": "passphrase updated for 0 nmem.",
        "remove-passphrase": "passphrase removed for 0 nmem.",
        "freeze-security": "security froze 0 nmem.",
        "sanitize-dimm": "sanitized 0 nmem.",
    }.get(command)
    if command == "sanitize-dimm" and "--overwrite" in args:
        summary = "overwrite issued for 0 nmem."
    if summary:
        out.err(summary + "\n")
    out.rc = 1
    return out


def cmd_monitor(state: m.State, args: list[str]) -> Output:
    out = Output()
    dimm_filter = None
    for index, arg in enumerate(args):
        if arg in ("-d", "--dimm") and index + 1 < len(args):
            dimm_filter = args[index + 1]
        elif arg.startswith("--dimm="):
            dimm_filter = arg.split("=", 1)[1]
    for dimm in m.ordered_dimms(state):
        if dimm_matches(dimm, dimm_filter):
            out.err(f"{m.dimm_name(dimm)}: no smart support\n")
    out.out("no dimms to monitor, exiting\n")
    out.rc = exit_code(-ENXIO)
    return out


# --- entry point ------------------------------------------------------------------------


def execute(state: m.State, argv: list[str], *, tty: bool = False) -> tuple[Output, bool]:
    """Run one ndctl command line (without argv[0]); returns the output and whether state changed."""
    if not argv:
        out = Output()
        out.out(TOP_USAGE)
        out.rc = 1
        return out, False
    command, args = argv[0], argv[1:]
    if command in ("--version", "version", "-v"):
        out = Output()
        out.out(VERSION + "\n")
        return out, False
    if command == "--list-cmds":
        out = Output()
        out.out("".join(f"{name}\n" for name in COMMANDS))
        return out, False
    if command in ("help", "--help", "-h"):
        out = Output()
        out.out(TOP_USAGE)
        return out, False
    if command == "list":
        return cmd_list(state, args), False
    if command == "create-namespace":
        return cmd_create_namespace(state, args, tty=tty), True
    if command in ("destroy-namespace", "enable-namespace", "disable-namespace", "check-namespace"):
        return cmd_xable_namespace(state, args, command.split("-")[0]), True
    if command in ("enable-region", "disable-region"):
        return region_xable(state, args, command.split("-")[0]), True
    if command in ("init-labels", "zero-labels", "read-labels", "check-labels"):
        return dimm_action(state, args, command), command in ("init-labels", "zero-labels")
    if command in (
        "setup-passphrase",
        "update-passphrase",
        "remove-passphrase",
        "freeze-security",
        "sanitize-dimm",
    ):
        return security_unsupported(state, args, command), False
    if command == "wait-overwrite":
        out = Output()
        targets = [arg for arg in args if not arg.startswith("-")]
        for ident in targets[:1]:
            out.error(f"{ident}: security operation not supported\n")
        out.rc = 1
        return out, False
    if command == "monitor":
        return cmd_monitor(state, args), False
    out = Output()
    out.err(f"ndctl: '{command}' is not an ndctl command. See 'ndctl --help'.\n")
    out.rc = 1
    return out, False
