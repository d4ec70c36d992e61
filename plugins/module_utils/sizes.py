"""Sizes: parsing, formatting and the alignment / metadata rules of real ndctl.

All sizes are int bytes. The formulas reproduce what ndctl 76 on Linux 6.1
reported in the reference transcripts (pmem-tools.md section 2.3).
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from .errors import BadAlignment, BadSize, InsufficientCapacity, InvalidRequest, LabelLessRegion

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
TIB = 1024 * GIB
PIB = 1024 * TIB

PAGE_SIZE = 4 * KIB
REGION_ALIGN_BYTES = 16 * MIB
MIN_NAMESPACE_BYTES = 16 * MIB
DEFAULT_DAX_ALIGN = 2 * MIB
# Alignments the kernel offers for fsdax/devdax (region capabilities on x86-64).
SUPPORTED_DAX_ALIGNMENTS = (4 * KIB, 2 * MIB, 1 * GIB)
# BTT (sector mode) logical block sizes the kernel accepts.
SUPPORTED_SECTOR_SIZES = (512, 520, 528, 4096, 4104, 4160, 4224)
DEFAULT_SECTOR_SIZE_SECTOR_MODE = 4096
DEFAULT_SECTOR_SIZE = 512

MODES = ("fsdax", "devdax", "sector", "raw")
MAPS = ("dev", "mem")

_BINARY_UNITS = {
    "": 1,
    "b": 1,
    "k": KIB,
    "kib": KIB,
    "m": MIB,
    "mib": MIB,
    "g": GIB,
    "gib": GIB,
    "t": TIB,
    "tib": TIB,
    "p": PIB,
    "pib": PIB,
    # SI units keep their SI meaning: 1 GB = 10^9 bytes.
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_HEX_RE = re.compile(r"^\s*0x([0-9a-fA-F]+)\s*$")


def parse_size(value: Any, field: str = "size") -> int:
    """Parse ``16G``, ``16GiB``, ``512M``, ``1.5G``, ``94489280512 B``, ``0x1000000`` or an int.

    K/M/G/T and KiB/MiB/GiB/TiB are powers of 1024 (as ndctl reads them); KB/MB/GB/TB are
    powers of 1000. Anything else raises InvalidRequest naming ``field``.
    """
    rule = "must be a byte count or a number with a unit (K, M, G, T, KiB, MiB, GiB, TiB)"
    if isinstance(value, bool):
        raise InvalidRequest(field, rule, value)
    if isinstance(value, int):
        if value < 0:
            raise InvalidRequest(field, "must not be negative", value)
        return value
    if isinstance(value, float):
        if value < 0 or value != int(value):
            raise InvalidRequest(field, "must be a whole, non-negative number of bytes", value)
        return int(value)
    if not isinstance(value, str):
        raise InvalidRequest(field, rule, value)
    hex_match = _HEX_RE.match(value)
    if hex_match:
        return int(hex_match.group(1), 16)
    match = _SIZE_RE.match(value)
    if not match:
        raise InvalidRequest(field, rule, value)
    number, unit = match.group(1), match.group(2).lower()
    if unit not in _BINARY_UNITS:
        raise InvalidRequest(field, rule, value)
    try:
        exact = Decimal(number) * _BINARY_UNITS[unit]
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a number
        raise InvalidRequest(field, rule, value) from None
    if exact != exact.to_integral_value():
        raise InvalidRequest(field, "must be a whole number of bytes", value)
    return int(exact)


def format_size(size: int) -> str:
    """Readable size: exact in the largest binary unit that divides it, else 2 decimals."""
    if size < 0:
        raise ValueError("negative size")
    for unit, factor in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor and size % factor == 0:
            return "%d %s" % (size // factor, unit)
    for unit, factor in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            return "%.2f %s (%d bytes)" % (size / factor, unit, size)
    return "%d B" % size


def ndctl_size_arg(size: int) -> str:
    """Size as written on an ndctl command line: ``1G``, ``256M``, ``4K`` or plain bytes."""
    if size < 0:
        raise ValueError("negative size")
    for unit, factor in (("T", TIB), ("G", GIB), ("M", MIB), ("K", KIB)):
        if size and size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return str(size)


def align_up(value: int, alignment: int) -> int:
    if alignment <= 0:
        raise ValueError("alignment must be positive")
    return -(-value // alignment) * alignment


def align_down(value: int, alignment: int) -> int:
    if alignment <= 0:
        raise ValueError("alignment must be positive")
    return (value // alignment) * alignment


def is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _lcm(a: int, b: int) -> int:
    return a * b // _gcd(a, b)


def effective_align(mode: str, align: Optional[int] = None) -> int:
    """The namespace alignment ndctl uses: 2 MiB default for fsdax/devdax, page size otherwise."""
    if mode in ("fsdax", "devdax"):
        return align if align else DEFAULT_DAX_ALIGN
    return PAGE_SIZE


def size_granule(
    mode: str,
    region_align: int = REGION_ALIGN_BYTES,
    interleave_ways: int = 1,
    align: Optional[int] = None,
) -> int:
    """The multiple every requested (raw) size must be: region align and align x ways."""
    ways = max(1, int(interleave_ways or 1))
    return _lcm(region_align or REGION_ALIGN_BYTES, effective_align(mode, align) * ways)


def usable_size(
    mode: str,
    raw_size: int,
    align: Optional[int] = None,
    map: Optional[str] = None,
    sector_size: Optional[int] = None,
) -> int:
    """Bytes the namespace offers after its metadata, as ndctl reports in ``size``.

    fsdax/devdax keep a struct-page array (map=dev, 64 bytes per 4 KiB page) or
    only an info block (map=mem) in front of the data, aligned to max(align, 2 MiB).
    sector mode lays out BTT arenas of at most 512 GiB each. raw has no metadata.
    """
    if raw_size <= 0:
        return 0
    if mode in ("fsdax", "devdax"):
        pad_align = max(align or DEFAULT_DAX_ALIGN, DEFAULT_DAX_ALIGN)
        info_block = 8 * KIB
        if (map or "dev") == "mem":
            offset = align_up(info_block, pad_align)
        else:
            offset = align_up(info_block + 64 * ((raw_size - info_block) // PAGE_SIZE), pad_align)
        return max(0, raw_size - offset)
    if mode == "sector":
        return _btt_usable(raw_size, sector_size or DEFAULT_SECTOR_SIZE_SECTOR_MODE)
    if mode == "raw":
        return raw_size
    raise InvalidRequest("mode", "must be one of %s" % ", ".join(MODES), mode)


_BTT_INFO_OFFSET = 4 * KIB
_BTT_ARENA_MAX = 512 * GIB
_BTT_ARENA_MIN = 16 * MIB
_BTT_NFREE = 256
_BTT_LOG_BYTES = 16 * KIB  # roundup(256 lanes * 64-byte log groups, 4 KiB)
_BTT_MAP_ENTRY = 4


def _btt_usable(size: int, lbasize: int) -> int:
    internal_lbasize = align_up(lbasize, 64)
    remaining = size - _BTT_INFO_OFFSET
    external_blocks = 0
    while remaining > 0:
        arena = min(remaining, _BTT_ARENA_MAX)
        remaining -= arena
        if arena < _BTT_ARENA_MIN:
            break
        available = align_down(arena, PAGE_SIZE) - 2 * PAGE_SIZE - _BTT_LOG_BYTES
        internal_blocks = (available - PAGE_SIZE) // (internal_lbasize + _BTT_MAP_ENTRY)
        external_blocks += max(0, internal_blocks - _BTT_NFREE)
    return external_blocks * lbasize


def _region_attr(region: Any, name: str, default: Any = None) -> Any:
    if isinstance(region, dict):
        return region.get(name, default)
    return getattr(region, name, default)


def _ways(region: Any) -> int:
    ways = _region_attr(region, "interleave_ways")
    if ways:
        return int(ways)
    mappings = _region_attr(region, "mappings") or ()
    return max(1, len(mappings))


def _is_label_less(region: Any) -> bool:
    value = _region_attr(region, "label_less")
    if value is not None:
        return bool(value)
    return _region_attr(region, "iset_id") is None


def validate_mode_options(
    mode: str,
    align: Optional[int] = None,
    map: Optional[str] = None,
    sector_size: Optional[int] = None,
) -> None:
    """Reject option combinations ndctl would reject, before any call is made."""
    if mode not in MODES:
        raise InvalidRequest("mode", "must be one of %s" % ", ".join(MODES), mode)
    if align is not None:
        if mode not in ("fsdax", "devdax"):
            raise InvalidRequest("align", "only fsdax and devdax namespaces take an alignment", align)
        if align not in SUPPORTED_DAX_ALIGNMENTS:
            raise InvalidRequest(
                "align", "must be one of 4K, 2M, 1G (the kernel's supported alignments)", align
            )
    if map is not None:
        if mode not in ("fsdax", "devdax"):
            raise InvalidRequest("map", "only fsdax and devdax namespaces take map", map)
        if map not in MAPS:
            raise InvalidRequest("map", "must be dev or mem", map)
    if sector_size is not None:
        if mode == "devdax":
            raise InvalidRequest("sector_size", "devdax namespaces have no sector size", sector_size)
        if sector_size not in SUPPORTED_SECTOR_SIZES:
            raise InvalidRequest(
                "sector_size",
                "must be one of %s" % ", ".join(str(s) for s in SUPPORTED_SECTOR_SIZES),
                sector_size,
            )


def check_request(
    region: Any,
    mode: str,
    size: Optional[int] = None,
    align: Optional[int] = None,
    map: Optional[str] = None,
    sector_size: Optional[int] = None,
) -> int:
    """Validate a create request against a region like ndctl does; return the raw size used.

    ``size`` None means "the largest extent" (ndctl without -s). Raises
    LabelLessRegion, InsufficientCapacity, BadAlignment or BadSize with a
    message saying what would have failed. Checks run in ndctl's order.
    """
    validate_mode_options(mode, align, map, sector_size)
    region_dev = _region_attr(region, "dev", "region")
    if _is_label_less(region):
        if size is not None and size != _region_attr(region, "size"):
            raise LabelLessRegion(
                "%s is label-less: it holds one namespace covering the whole region and cannot be "
                "sub-divided; initialise labels first" % region_dev
            )
        return int(_region_attr(region, "size") or 0)
    extent = int(_region_attr(region, "max_available_extent") or 0)
    raw = extent if size is None else size
    if raw > extent or raw == 0:
        raise InsufficientCapacity(
            "%s: %s requested but the largest free extent is %s"
            % (region_dev, format_size(raw) if raw else "a namespace", format_size(extent))
        )
    region_align = int(_region_attr(region, "align") or REGION_ALIGN_BYTES)
    if raw % region_align:
        raise BadAlignment(
            "%s: size %d is not a multiple of the region alignment %s"
            % (region_dev, raw, format_size(region_align))
        )
    granule = size_granule(mode, region_align, _ways(region), align)
    if raw % granule:
        raise BadAlignment(
            "%s: size %d must be a multiple of %s (alignment x interleave ways)"
            % (region_dev, raw, format_size(granule))
        )
    if mode != "raw" and raw < MIN_NAMESPACE_BYTES:
        raise BadSize("%s namespaces need at least 16 MiB, got %s" % (mode, format_size(raw)))
    if usable_size(mode, raw, align, map, sector_size) <= 0:
        # ndctl accepts this (1 GiB with align=1G gives a 0-byte namespace) but it is useless.
        raise BadSize(
            "%s of %s with align %s leaves no usable space after the metadata"
            % (mode, format_size(raw), format_size(effective_align(mode, align)))
        )
    return raw


def largest_namespace(
    region: Any,
    mode: str = "fsdax",
    align: Optional[int] = None,
    map: Optional[str] = None,
    sector_size: Optional[int] = None,
) -> int:
    """Raw size of the largest namespace one create can make in ``region`` (0 if none).

    That is max_available_extent aligned down to the size granule (ndctl itself
    does not align down: passing no -s on a misaligned extent fails). For a
    label-less region it is the whole region (reachable only by reconfiguring
    its raw namespace).
    """
    if _is_label_less(region):
        return int(_region_attr(region, "size") or 0)
    extent = int(_region_attr(region, "max_available_extent") or 0)
    region_align = int(_region_attr(region, "align") or REGION_ALIGN_BYTES)
    raw = align_down(extent, size_granule(mode, region_align, _ways(region), align))
    if mode != "raw" and raw < MIN_NAMESPACE_BYTES:
        return 0
    return raw


def largest_usable(
    region: Any,
    mode: str = "fsdax",
    align: Optional[int] = None,
    map: Optional[str] = None,
    sector_size: Optional[int] = None,
) -> int:
    """Usable bytes of the largest namespace ``region`` can still give."""
    return usable_size(
        mode, largest_namespace(region, mode, align, map, sector_size), align, map, sector_size
    )


def request_for(
    region: Any,
    mode: str,
    usable: int,
    align: Optional[int] = None,
    map: Optional[str] = None,
    sector_size: Optional[int] = None,
) -> int:
    """Smallest valid raw size whose usable size is at least ``usable`` bytes.

    ``region`` supplies the region align and interleave ways (a Region, a dict
    or None for a 1-way region with 16 MiB align). Capacity is not checked here:
    compare the answer with largest_namespace().
    """
    if usable < 0:
        raise InvalidRequest("size", "must not be negative", usable)
    validate_mode_options(mode, align, map, sector_size)
    region_align = (
        int(_region_attr(region, "align") or REGION_ALIGN_BYTES) if region is not None else REGION_ALIGN_BYTES
    )
    ways = _ways(region) if region is not None else 1
    granule = size_granule(mode, region_align, ways, align)
    low = max(1, -(-max(usable, MIN_NAMESPACE_BYTES if mode != "raw" else 1) // granule))
    if usable_size(mode, low * granule, align, map, sector_size) >= usable:
        return low * granule
    # Metadata never exceeds a few percent plus one alignment: bound the search.
    high = low + 1
    while usable_size(mode, high * granule, align, map, sector_size) < usable:
        high = high * 2
        if high > (1 << 40):  # pragma: no cover - unreachable with sane inputs
            raise InvalidRequest("size", "is too large to satisfy", usable)
    while high - low > 1:
        mid = (low + high) // 2
        if usable_size(mode, mid * granule, align, map, sector_size) >= usable:
            high = mid
        else:
            low = mid
    return high * granule
