"""Simulated platform state: one JSON file, locked, rewritten atomically.

The state holds what the kernel, the NFIT and the PMem modules would hold on a
real host: DIMMs, regions with their namespace devices (including idle seeds),
pending ipmctl goals, fault injections and optional loop-device backing. The
tool front ends (ndctl.py, daxctl.py, ipmctl.py) read and change it through
:func:`transaction`.

Kernel rules reproduced here (pmem-tools.md section 2, transcripts-ndctl76-qemu):

* enumeration order is the kernel's sysfs (kernfs) directory order, which is the
  name hash order, reversed by libndctl's list insertion (:func:`kernfs_order`);
* a labelled region always exposes one idle zero-size seed namespace; using it
  creates the next seed with the lowest free id; destroying a namespace other than
  id 0 or the seed removes the device, id 0 stays as an idle zero-size namespace;
* space is allocated first-fit in region-align units, so holes make
  ``available_size`` differ from ``max_available_extent``.
"""

from __future__ import annotations

import fcntl
import marshal
import os
import sys
import time
import zlib

from . import readcache

# Annotations only: typing is not imported at run time (tool start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATE_ENV = "PMEMSIM_STATE"
FORMAT_VERSION = 1

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
TIB = 1024 * GIB
SZ_2M = 2 * MIB
SZ_16M = 16 * MIB
ZERO_UUID = "00000000-0000-0000-0000-000000000000"
MEMORY_BLOCK_BYTES = 128 * MIB
BUS_PATH = "/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0"

State = dict


class StateError(Exception):
    """The state file is missing, unreadable or the environment does not name it."""


# --- enumeration order ----------------------------------------------------------------

_GOLDEN_RATIO_64 = 0x61C8864680B583EB
_U64 = (1 << 64) - 1


def kernfs_hash(name: str) -> int:
    """Linux kernfs_name_hash(): the order in which sysfs lists a directory."""
    value = 0
    for char in name.encode():
        value = ((value + (char << 4) + (char >> 4)) * 11) & _U64
    value = ((value * _GOLDEN_RATIO_64) & _U64) >> 32
    value &= 0x7FFFFFFF
    if value < 2:
        value += 2
    if value >= 0x7FFFFFFF:
        value = 0x7FFFFFFF - 1
    return value


def kernfs_order(names: list[str]) -> list[str]:
    """Order libndctl walks devices in: sysfs readdir order, prepended to a list (so reversed)."""
    return sorted(names, key=kernfs_hash, reverse=True)


def sorted_devices(items: list[dict[str, Any]], name_of) -> list[dict[str, Any]]:
    keyed = {name_of(item): item for item in items}
    return [keyed[name] for name in kernfs_order(list(keyed))]


# --- sizes ------------------------------------------------------------------------------


def align_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def align_down(value: int, align: int) -> int:
    return value // align * align


def default_region_align(size: int, ways: int) -> int:
    """Kernel default_align(): 16 MiB, times the ways when 16 MiB does not divide evenly."""
    align = SZ_16M if size >= SZ_16M else 4096
    ways = max(1, ways)
    if align % ways:
        align *= ways
    return align


def pfn_offset(raw_size: int, align: int, map_location: str) -> int:
    """Metadata (struct page array + info block) in front of fsdax/devdax data."""
    effective_align = max(align, SZ_2M)
    if map_location == "mem":
        return align_up(8 * KIB, effective_align)
    return align_up(8 * KIB + 64 * ((raw_size - 8 * KIB) // (4 * KIB)), effective_align)


BTT_ARENA_MAX = 512 * GIB


def btt_usable(raw_size: int, sector_size: int) -> int:
    """Usable bytes of a BTT (sector mode) namespace, one arena per 512 GiB."""
    internal_lba = align_up(max(sector_size, 512), 64) if sector_size % 64 else sector_size
    remaining = raw_size - 4096
    usable = 0
    while remaining > 0:
        arena = min(remaining, BTT_ARENA_MAX)
        remaining -= arena
        available = arena - 8192 - 16384
        if available <= 4096:
            break
        internal = (available - 4096) // (internal_lba + 4)
        if internal <= 256:
            break
        usable += (internal - 256) * sector_size
    return usable


def usable_size(ns: dict[str, Any]) -> int:
    mode = ns["mode"]
    raw = ns["size"]
    if mode in ("fsdax", "devdax"):
        return max(0, raw - pfn_offset(raw, ns["align"], ns["map"]))
    if mode == "sector":
        return btt_usable(raw, ns["btt_sector_size"])
    return raw


def data_offset(ns: dict[str, Any]) -> int:
    """Byte offset of the usable data inside the namespace's raw extent."""
    mode = ns["mode"]
    if mode in ("fsdax", "devdax"):
        return min(ns["size"], pfn_offset(ns["size"], ns["align"], ns["map"]))
    if mode == "sector":
        return 4096  # the BTT info block; data layout differs, good enough for a loop device
    return 0


# --- state file -------------------------------------------------------------------------


def state_path(env: dict[str, str] | None = None) -> str:
    environ = os.environ if env is None else env
    path = environ.get(STATE_ENV, "")
    if not path:
        raise StateError(
            f"{STATE_ENV} is not set: point it at a simulator state file (create one with `pmemsim init`)"
        )
    return path


# Every simulated tool call loads the state, and `json` alone (with the `re` and `enum` it
# imports) costs a fresh Python more than the rest of a call. Beside the JSON file, which
# stays the one source of truth, a marshal copy keyed by the JSON's exact bytes (length and
# CRC-32) lets a read skip json entirely; any other change to the JSON invalidates it.
CACHE_SUFFIX = ".marshal"
CACHE_TAG = ("pmemsim-state-cache", 1, sys.version_info[:2])


def _cache_key(raw: bytes) -> tuple:
    return (CACHE_TAG, len(raw), zlib.crc32(raw))


def _read_cache(path: str, key: tuple) -> State | None:
    try:
        with open(path + CACHE_SUFFIX, "rb") as handle:
            # Our own file, written next to the state by the same user.
            cached_key, state = marshal.load(handle)  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return state if cached_key == key else None


def _write_cache(path: str, key: tuple, state: State) -> None:
    cache = path + CACHE_SUFFIX
    tmp = os.path.join(
        os.path.dirname(os.path.abspath(cache)), f".{os.path.basename(cache)}.{os.getpid()}.tmp"
    )
    try:
        with open(tmp, "wb") as handle:
            marshal.dump((key, state), handle)
        os.replace(tmp, cache)
    except OSError:
        # Only a cache: a read-only directory just means every call parses the JSON.
        try:  # noqa: SIM105 (contextlib pulls in collections: start-up time, see CACHE_SUFFIX)
            os.unlink(tmp)
        except OSError:
            pass


def load_state(path: str) -> State:
    return load_state_and_key(path)[0]


def load_state_and_key(path: str) -> tuple[State, str]:
    """The state and a key naming its exact bytes (the read cache stamps its answers with it)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise StateError(f"{STATE_ENV}={path}: no such state file (create it with `pmemsim init`)") from None
    except OSError as exc:
        raise StateError(f"{STATE_ENV}={path}: unreadable state file: {exc}") from None
    key = _cache_key(raw)
    state = _read_cache(path, key)
    if state is None:
        import json  # only on a cache miss (see CACHE_SUFFIX)

        try:
            state = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise StateError(f"{STATE_ENV}={path}: unreadable state file: {exc}") from None
        if isinstance(state, dict) and state.get("format") == FORMAT_VERSION:
            _write_cache(path, key, state)
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise StateError(f"{STATE_ENV}={path}: unsupported state format {found!r}")
    return state, f"{key[1]}-{key[2]}"


def save_state(path: str, state: State) -> None:
    """Write to a temporary file in the same directory, then rename: readers never see half a file."""
    import json  # see CACHE_SUFFIX

    raw = json.dumps(state, separators=(",", ":")).encode("utf-8")
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(raw)
    readcache.forget(path)  # before the rename: no kept answer may describe the new state
    os.replace(tmp, path)
    _write_cache(path, _cache_key(raw), state)


class locked:  # used like a function: ``with locked(path):``
    """flock() on ``<state>.lock`` (a separate file, so the state can be replaced by rename)."""

    def __init__(self, path: str, exclusive: bool = True) -> None:
        self.lock_path = os.fspath(path) + ".lock"
        self.exclusive = exclusive
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


class Transaction:
    """A loaded state plus a dirty flag; saved on exit when something changed."""

    def __init__(self, path: str, state: State, key: str) -> None:
        self.path = path
        self.state = state
        self.key = key
        self.dirty = False

    def touch(self) -> None:
        self.dirty = True


class transaction:  # used like a function
    """Exclusive lock, load, hand out a Transaction, save it when dirty (also on a clean exit only)."""

    def __init__(self, path: str | None = None) -> None:
        self.path = os.fspath(path) if path else state_path()
        self.lock = locked(self.path, exclusive=True)
        self.txn: Transaction | None = None

    def __enter__(self) -> Transaction:
        if not os.path.exists(self.path):
            load_state(self.path)  # raises the clear error
        self.lock.__enter__()
        try:
            self.txn = Transaction(self.path, *load_state_and_key(self.path))
        except BaseException:
            self.lock.__exit__()
            raise
        return self.txn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if exc_type is None and self.txn is not None and self.txn.dirty:
                save_state(self.path, self.txn.state)
        finally:
            self.lock.__exit__()


def new_uuid() -> str:
    """A random (version 4) UUID; uuid.uuid4() without importing the uuid module (start-up time)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# --- lookups ----------------------------------------------------------------------------


def region_name(region: dict[str, Any]) -> str:
    return f"region{region['id']}"


def namespace_name(region: dict[str, Any], ns: dict[str, Any]) -> str:
    return f"namespace{region['id']}.{ns['id']}"


def dimm_name(dimm: dict[str, Any]) -> str:
    return f"nmem{dimm['index']}"


def ordered_regions(state: State) -> list[dict[str, Any]]:
    return sorted_devices(state["regions"], region_name)


def ordered_dimms(state: State) -> list[dict[str, Any]]:
    return sorted_devices(state["dimms"], dimm_name)


def ordered_namespaces(region: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted_devices(region["namespaces"], lambda ns: namespace_name(region, ns))


def find_namespace(state: State, dev: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for region in state["regions"]:
        for ns in region["namespaces"]:
            if namespace_name(region, ns) == dev:
                return region, ns
    return None


def is_label_less(region: dict[str, Any]) -> bool:
    return not region["labelled"]


def is_active(ns: dict[str, Any]) -> bool:
    return bool(ns["enabled"])


def is_seed(ns: dict[str, Any]) -> bool:
    return ns["size"] == 0 and ns.get("uuid") in (None, ZERO_UUID) and ns["type"] == "pmem"


# --- capacity ---------------------------------------------------------------------------


def region_usable_end(region: dict[str, Any]) -> int:
    return align_down(region["size"], region["align"])


def free_extents(region: dict[str, Any]) -> list[tuple[int, int]]:
    """Free (start, length) extents in region offset space, trimmed to the region align."""
    align = region["align"]
    used = sorted(
        (ns["offset"], ns["size"])
        for ns in region["namespaces"]
        if ns["size"] > 0 and ns["offset"] is not None
    )
    extents = []
    cursor = 0
    end = region_usable_end(region)
    for start, length in [*used, (end, 0)]:
        gap_start = align_up(cursor, align)
        gap_end = align_down(min(start, end), align)
        if gap_end > gap_start:
            extents.append((gap_start, gap_end - gap_start))
        cursor = max(cursor, start + length)
    return extents


def available_size(region: dict[str, Any]) -> int:
    """ndctl reports 0 for label-less regions (libndctl ignores sysfs there)."""
    if is_label_less(region):
        return 0
    return sum(length for _, length in free_extents(region))


def max_available_extent(region: dict[str, Any]) -> int:
    if is_label_less(region):
        return 0
    return max((length for _, length in free_extents(region)), default=0)


def allocate(region: dict[str, Any], size: int) -> int | None:
    """First-fit offset for ``size`` bytes, or None when no free extent holds it."""
    for start, length in free_extents(region):
        if length >= size:
            return start
    return None


def lowest_free_id(region: dict[str, Any]) -> int:
    taken = {ns["id"] for ns in region["namespaces"]}
    candidate = 0
    while candidate in taken:
        candidate += 1
    return candidate


def new_seed(region: dict[str, Any], sector_size: int = 512) -> dict[str, Any]:
    ns = blank_namespace(lowest_free_id(region), sector_size=sector_size)
    region["namespaces"].append(ns)
    region["ns_seed"] = ns["id"]
    return ns


def blank_namespace(ns_id: int, *, sector_size: int = 512, label_less: bool = False) -> dict[str, Any]:
    return {
        "id": ns_id,
        "type": "io" if label_less else "pmem",
        "offset": 0 if label_less else None,
        "size": 0,
        "uuid": None if label_less else ZERO_UUID,
        "name": None,
        "enabled": False,
        "sector_size": sector_size,
        "mode": "raw",
        "map": "dev",
        "align": SZ_2M,
        "pers_uuid": None,
        "btt_sector_size": 4096,
        "dax": None,
        "loop": None,
    }


def label_less_namespace(region: dict[str, Any]) -> dict[str, Any]:
    ns = blank_namespace(0, label_less=True)
    ns["size"] = region["size"]
    ns["enabled"] = True
    return ns


def reset_region_namespaces(region: dict[str, Any]) -> None:
    """What the kernel builds when it probes a region with no namespace labels to read."""
    if region["labelled"]:
        region["namespaces"] = []
        new_seed(region)
    else:
        region["namespaces"] = [label_less_namespace(region)]
        region["ns_seed"] = 0


def release_namespace(region: dict[str, Any], ns: dict[str, Any]) -> None:
    """ndctl destroy-namespace on a labelled region: size 0, device removed unless id 0 or seed."""
    ns.update(
        size=0,
        offset=None,
        uuid=ZERO_UUID,
        name=None,
        enabled=False,
        mode="raw",
        pers_uuid=None,
        dax=None,
    )
    if ns["id"] != 0 and region.get("ns_seed") != ns["id"]:
        region["namespaces"].remove(ns)


def next_dax_id(region: dict[str, Any]) -> int:
    taken = {ns["dax"]["nd_id"] for ns in region["namespaces"] if ns.get("dax")}
    candidate = 0
    while candidate in taken:
        candidate += 1
    return candidate


def memblocks(region: dict[str, Any], ns: dict[str, Any]) -> int:
    start = region["resource"] + ns["offset"] + data_offset(ns)
    end = start + usable_size(ns)
    first = align_up(start, MEMORY_BLOCK_BYTES)
    last = align_down(end, MEMORY_BLOCK_BYTES)
    return max(0, (last - first) // MEMORY_BLOCK_BYTES)


def debug(message: str) -> None:
    if os.environ.get("PMEMSIM_DEBUG"):
        sys.stderr.write(f"pmemsim: {message}\n")


def sleep_ms(milliseconds: int) -> None:
    if milliseconds > 0:
        time.sleep(milliseconds / 1000.0)
