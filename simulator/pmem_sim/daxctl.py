"""Simulated daxctl 76.1: list and reconfigure-device (devdax <-> system-ram)."""

from __future__ import annotations

from . import model as m
from .jsonfmt import dumps, size_value
from .ndctl import chardev_name, dax_device_json
from .options import Opt, UsageError, parse, usage_text
from .result import EBUSY, EINVAL, ENXIO, STRERROR, Output, exit_code

# Annotations only: typing is not imported at run time (tool start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RC_USAGE = 129
VERSION = "76.1"

LIST_OPTIONS = [
    Opt("r", "region", "region", "str", "region-id", "filter by region"),
    Opt("d", "dev", "dev", "str", "dev-id", "filter by dax device instance name"),
    Opt("D", "devices", "devices", help="include dax device info"),
    Opt("R", "regions", "regions", help="include dax region info"),
    Opt("M", "mappings", "mappings", help="include dax mappings info"),
    Opt("i", "idle", "idle", help="include idle devices"),
    Opt("u", "human", "human", help="use human friendly number formats "),
]
RECONFIGURE_OPTIONS = [
    Opt("r", "region", "region", "str", "region-id", "filter by region"),
    Opt("u", "human", "human", help="use human friendly number formats "),
    Opt("v", "verbose", "verbose", help="emit more debug messages"),
    Opt("m", "mode", "mode", "str", "mode", "mode to switch the device to"),
    Opt("N", "no-online", "no_online", help="don't auto-online memory sections"),
    Opt(None, "no-movable", "no_movable", help="online memory in ZONE_NORMAL"),
    Opt("f", "force", "force", help="attempt to offline memory sections before reconfiguration"),
    Opt(
        "C", "check-config", "check_config", help="use config files to determine parameters for the operation"
    ),
]
COMMANDS = [
    "version",
    "list",
    "help",
    "split-acpi",
    "migrate-device-model",
    "create-device",
    "destroy-device",
    "reconfigure-device",
    "online-memory",
    "offline-memory",
    "disable-device",
    "enable-device",
]
TOP_USAGE = (
    "\n usage: daxctl [--version] [--help] COMMAND [ARGS]\n\n\n"
    " See 'daxctl help COMMAND' for more information on a specific command.\n"
    " daxctl --list-cmds to see all available commands\n\n"
)


def dax_namespaces(state: m.State) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(region, namespace) of every dax device, in the order libdaxctl lists its regions."""
    found = []
    for region in state["regions"]:
        if not region["enabled"]:
            continue
        for ns in region["namespaces"]:
            if ns["enabled"] and ns["mode"] == "devdax" and ns.get("dax"):
                found.append((region, ns))
    by_name = {chardev_name(region, ns): (region, ns) for region, ns in found}
    return [by_name[name] for name in m.kernfs_order(list(by_name))]


def dax_region_path(state: m.State, region: dict[str, Any], ns: dict[str, Any]) -> str:
    return f"{m.BUS_PATH}/region{region['id']}/dax{region['id']}.{ns['dax']['nd_id']}"


def region_filter_matches(region: dict[str, Any], ident: str | None) -> bool:
    return ident in (None, "all", str(region["id"]), f"region{region['id']}")


def cmd_list(state: m.State, args: list[str]) -> Output:
    out = Output()
    try:
        parsed = parse(args, LIST_OPTIONS)
    except UsageError as exc:
        for message in exc.messages:
            out.error(message)
        out.err(usage_text("daxctl list [<options>]", LIST_OPTIONS))
        out.rc = RC_USAGE
        return out
    opt = parsed.values
    human = bool(opt["human"])
    idle = bool(opt["idle"])
    want_regions = bool(opt["regions"])
    want_devices = bool(opt["devices"]) or not want_regions
    jregions: list[Any] = []
    jdevices: list[Any] = []
    for region, ns in dax_namespaces(state):
        if not region_filter_matches(region, opt["region"]):
            continue
        size = m.usable_size(ns)
        device_selected = opt["dev"] in (None, "all", chardev_name(region, ns)) and (size > 0 or idle)
        if want_regions:
            jregion: dict[str, Any] = {
                "path": dax_region_path(state, region, ns),
                "id": region["id"],
                "size": size_value(size, human),
                "align": ns["align"],
            }
            if want_devices and device_selected:
                jregion["devices"] = [dax_device_json(region, ns, human, mappings=bool(opt["mappings"]))]
            jregions.append(jregion)
        elif device_selected:
            jdevices.append(dax_device_json(region, ns, human, mappings=bool(opt["mappings"])))
    items = jregions if want_regions else jdevices
    if items:
        if len(items) > 1 or not human:
            out.out(dumps(items) + "\n")
        else:
            out.out(dumps(items[0]) + "\n")
    return out


def cmd_reconfigure(state: m.State, args: list[str]) -> tuple[Output, bool]:
    out = Output()
    usage = "daxctl reconfigure-device <dax0.0> [<dax1.0>...<daxY.Z>] [<options>]"
    try:
        parsed = parse(args, RECONFIGURE_OPTIONS)
    except UsageError as exc:
        for message in exc.messages:
            out.error(message)
        out.err(usage_text(usage, RECONFIGURE_OPTIONS))
        out.rc = RC_USAGE
        return out, False
    opt = parsed.values
    if not parsed.args:
        out.error('specify a device to reconfigure, or "all"\n')
        out.err(usage_text(usage, RECONFIGURE_OPTIONS))
        out.rc = RC_USAGE
        return out, False
    if not opt["mode"]:
        out.error("--mode is required\n")
        out.err(usage_text(usage, RECONFIGURE_OPTIONS))
        out.rc = RC_USAGE
        return out, False
    mode = {"system-ram": "system-ram", "devdax": "devdax", "dax": "devdax"}.get(opt["mode"])
    human = bool(opt["human"])
    rc = -ENXIO
    done = []
    changed = False
    for ident in parsed.args:
        for region, ns in dax_namespaces(state):
            name = chardev_name(region, ns)
            if ident not in ("all", name) or not region_filter_matches(region, opt["region"]):
                continue
            if mode is None:
                out.err(f"{name}: unknown mode requested: 0\n")
                rc = -EINVAL
                continue
            dax = ns["dax"]
            if mode == "devdax":
                if dax["mode"] == "system-ram" and dax["online"] and not opt["force"]:
                    rc = -EBUSY
                    continue
                dax.update(mode="devdax", online=False)
            else:
                dax.update(mode="system-ram", online=not opt["no_online"], movable=not opt["no_movable"])
            changed = True
            rc = 0
            done.append(dax_device_json(region, ns, human))
    if done:
        if len(done) > 1 or not human:
            out.out(dumps(done) + "\n")
        else:
            out.out(dumps(done[0]) + "\n")
    if rc < 0:
        out.err(f"error reconfiguring devices: {STRERROR[-rc]}\n")
    count = len(done)
    out.err(f"reconfigured {count} device{'' if count == 1 else 's'}\n")
    out.rc = exit_code(rc) if rc < 0 else 0
    return out, changed


def execute(state: m.State, argv: list[str]) -> tuple[Output, bool]:
    out = Output()
    if not argv:
        out.out(TOP_USAGE)
        out.rc = 1
        return out, False
    command, args = argv[0], argv[1:]
    if command in ("--version", "version"):
        out.out(VERSION + "\n")
        return out, False
    if command == "--list-cmds":
        out.out("".join(f"{name}\n" for name in COMMANDS))
        return out, False
    if command in ("help", "--help"):
        out.out(TOP_USAGE)
        return out, False
    if command == "list":
        return cmd_list(state, args), False
    if command == "reconfigure-device":
        return cmd_reconfigure(state, args)
    out.err(f"daxctl: '{command}' is not a daxctl command. See 'daxctl --help'.\n")
    out.rc = 1
    return out, False
