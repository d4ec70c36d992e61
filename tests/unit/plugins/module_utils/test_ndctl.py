"""ndctl parsing and error mapping, fed with every real transcript and capture."""

import json

import pytest

from plugins.module_utils import errors
from plugins.module_utils.model import NULL_UUID
from plugins.module_utils.ndctl import (
    INVENTORY_ARGS,
    Ndctl,
    error_for,
    inventory_from_list,
    normalize_iset_id,
    normalize_list,
    parse_count,
    parse_json_objects,
    parse_list_output,
    parse_ndctl_number,
    tool_message,
)
from plugins.module_utils.runner import CommandResult

from .conftest import CAPTURES, FixedRunner, ReplayRunner, all_recorded, load_capture, recorded_for
from .helpers import create_kwargs

RECORDED = all_recorded()
LISTS = [r for r in RECORDED if r.argv[:2] == ("ndctl", "list") and r.rc == 0]
CREATES_OK = [r for r in RECORDED if r.argv[:2] == ("ndctl", "create-namespace") and r.rc == 0]
NDCTL_FAILURES = [r for r in RECORDED if r.argv[0] == "ndctl" and r.rc != 0]


def _walk(value, kind):
    """Count objects of one kind anywhere in raw ndctl JSON (independent of the normaliser)."""
    count = 0
    if isinstance(value, dict):
        dev = str(value.get("dev", ""))
        if (kind == "buses" and "provider" in value) or (
            kind != "buses"
            and dev.startswith({"regions": "region", "namespaces": "namespace", "dimms": "nmem"}[kind])
            and "provider" not in value
        ):
            count += 1
        for child in value.values():
            count += _walk(child, kind)
    elif isinstance(value, list):
        for child in value:
            count += _walk(child, kind)
    return count


def _ids(records):
    return [f"{r.source}#{r.index}:{' '.join(r.argv)}" for r in records]


def test_fixtures_cover_the_list_shapes():
    shapes = set()
    for rec in LISTS:
        values = parse_json_objects(rec.stdout)
        if not values:
            shapes.add("empty")
        elif isinstance(values[0], list):
            first = values[0][0]
            shapes.add("array-of-buses" if "provider" in first else "array")
            if any("namespaces" in v for v in values[0]) and not all("namespaces" in v for v in values[0]):
                shapes.add("bare-regions-quirk")
        elif "dev" in values[0]:
            shapes.add("bare-object")
        else:
            shapes.add("object")
    assert shapes >= {"empty", "array", "array-of-buses", "bare-regions-quirk", "bare-object", "object"}


@pytest.mark.parametrize("rec", LISTS, ids=_ids(LISTS))
def test_every_recorded_list_parses(rec):
    raw = parse_json_objects(rec.stdout)
    raw_value = raw[0] if raw else None
    normalized = parse_list_output(rec.stdout)
    for kind in ("buses", "dimms", "regions", "namespaces"):
        assert len(normalized[kind]) == _walk(raw_value, kind), kind
    for ns in normalized["namespaces"]:
        assert ns["region"] == "region" + ns["dev"][len("namespace") :].split(".")[0]
    inventory = inventory_from_list(normalized)
    if normalized["regions"]:
        total = sum(len(r.namespaces) + len(r.seeds) for r in inventory.regions)
        assert total == sum(len(r.get("namespaces") or []) for r in normalized["regions"]) + sum(
            1
            for ns in normalized["namespaces"]
            if ns["region"] not in {r["dev"] for r in normalized["regions"]}
        ) * 0 + (
            len(normalized["namespaces"]) - sum(len(r.get("namespaces") or []) for r in normalized["regions"])
        )


def test_list_through_runner_builds_transcript_argv():
    rec = recorded_for(("ndctl", "list", "-RN"))[0]
    runner = ReplayRunner([rec])
    out = Ndctl(runner).list(regions=True, namespaces=True)
    assert runner.calls == [("ndctl", "list", "-RN")]
    assert set(out) == {"buses", "dimms", "regions", "namespaces"}


@pytest.mark.parametrize(
    "kwargs,argv",
    [
        ({"namespaces": True}, ["list", "-N"]),
        ({"regions": True}, ["list", "-R"]),
        ({"regions": True, "namespaces": True}, ["list", "-RN"]),
        ({"regions": True, "idle": True}, ["list", "-Ri"]),
        ({"namespaces": True, "idle": True}, ["list", "-Ni"]),
        ({"regions": True, "namespaces": True, "idle": True}, ["list", "-RNi"]),
        (
            {"regions": True, "dimms": True, "namespaces": True, "idle": True, "verbose": True},
            ["list", "-RDN", "-iv"],
        ),
        ({"namespaces": True, "region": "region0"}, ["list", "-N", "-r", "region0"]),
        ({"regions": True, "region": "region0"}, ["list", "-R", "-r", "region0"]),
        ({"buses": True}, ["list", "-B"]),
        ({"dimms": True, "health": True}, ["list", "-DH"]),
        ({"namespaces": True, "mode": "devdax", "numa_node": 1}, ["list", "-N", "-m", "devdax", "-U", "1"]),
    ],
)
def test_list_args(kwargs, argv):
    assert Ndctl.list_args(**kwargs) == argv


def test_list_rejects_bad_mode():
    with pytest.raises(errors.InvalidRequest) as info:
        Ndctl(FixedRunner()).list(namespaces=True, mode="bogus")
    assert info.value.field == "mode"


def test_inventory_is_one_call_label_less_capture():
    rec = load_capture(CAPTURES / "ndctl_list_-RDN_-iv.txt")
    assert rec.argv == ("ndctl", *INVENTORY_ARGS)
    runner = ReplayRunner([rec])
    inv = Ndctl(runner).inventory()
    assert runner.calls == [("ndctl", "list", "-RDN", "-iv")]
    assert [r.dev for r in inv.regions] == ["region0", "region1"]
    assert [d.dev for d in inv.dimms] == ["nmem0", "nmem1"]
    region0 = inv.region_by_dev("region0")
    assert region0.label_less and region0.iset_id is None
    assert region0.size == 1073610752 and region0.numa_node == 0
    assert region0.dimms == ("nmem0",) and region0.interleave_ways == 1
    assert inv.region_by_dev("region1").numa_node == 1
    ns = inv.namespace_by_dev("namespace0.0")
    assert ns.mode == "raw" and ns.size == 1073610752 and ns.uuid is None and ns.region == "region0"
    assert ns.device == "/dev/pmem0" and ns.enabled
    assert [n.dev for n in inv.namespaces()] == ["namespace0.0", "namespace1.0"]


def test_inventory_labelled_seeds_are_not_namespaces():
    rec = next(r for r in RECORDED if r.argv == ("ndctl", "list", "-RNDi"))
    inv = inventory_from_list(parse_list_output(rec.stdout))
    assert inv.namespaces() == []
    for region in inv.regions:
        assert not region.label_less
        assert region.available_size == 4278190080
        assert [s.uuid for s in region.seeds] == [NULL_UUID]
    assert inv.region_by_dev("region0").iset_id == 10248195696374871


def test_disabled_namespaces_are_kept_with_state():
    rec = next(r for r in RECORDED if r.source == "aligned2.log" and r.argv == ("ndctl", "list", "-Ni"))
    normalized = parse_list_output(rec.stdout)
    inv = inventory_from_list(
        dict(
            normalized,
            regions=[
                {"dev": "region0", "size": 4 << 30, "iset_id": 1},
                {"dev": "region1", "size": 4 << 30, "iset_id": 2},
            ],
        )
    )
    devs = {ns.dev: ns for ns in inv.namespaces()}
    assert sorted(devs) == ["namespace0.0", "namespace0.1", "namespace0.2", "namespace1.0"]
    assert all(not ns.enabled and ns.mode == "raw" for ns in devs.values())
    assert devs["namespace0.2"].sector_size == 4096
    assert [s.dev for s in inv.region_by_dev("region0").seeds] == ["namespace0.3"]


def test_bare_array_of_regions_quirk_keeps_nested_namespaces():
    quirk = [
        r
        for r in LISTS
        if r.argv == ("ndctl", "list", "-RN")
        and isinstance(json.loads(r.stdout), list)
        and any("namespaces" in x for x in json.loads(r.stdout))
    ]
    assert quirk, "the transcripts contain the bare-array quirk"
    for rec in quirk:
        inv = inventory_from_list(parse_list_output(rec.stdout))
        raw = json.loads(rec.stdout)
        assert len(inv.namespaces()) == sum(len(x.get("namespaces", [])) for x in raw)
        assert inv.namespaces()


def test_both_shapes_in_one_run():
    runs = [r for r in LISTS if r.source == "aligned.log" and r.argv == ("ndctl", "list", "-RN")]
    kinds = {type(json.loads(r.stdout)).__name__ for r in runs}
    assert kinds == {"list", "dict"}
    for rec in runs:
        assert inventory_from_list(parse_list_output(rec.stdout)).regions


def test_bus_nesting_vv():
    rec = next(r for r in LISTS if r.argv == ("ndctl", "list", "-vv"))
    out = parse_list_output(rec.stdout)
    assert [b["dev"] for b in out["buses"]] == ["ndbus0"]
    assert "regions" not in out["buses"][0]
    assert len(out["dimms"]) == 2 and len(out["regions"]) == 2 and len(out["namespaces"]) == 2


def test_human_numbers_and_hex_iset():
    rec = next(r for r in LISTS if r.argv == ("ndctl", "list", "-u", "-R", "-r", "region0"))
    inv = inventory_from_list(parse_list_output(rec.stdout))
    region = inv.regions[0]
    raw = json.loads(rec.stdout)
    assert isinstance(raw["size"], str) and raw["iset_id"].startswith("0x")
    assert region.iset_id == int(raw["iset_id"], 16)
    assert abs(region.size - (4 << 30)) < (64 << 20)
    assert region.align == 16 << 20


def test_negative_iset_id_normalised():
    assert normalize_iset_id(-5807432881699911134) == 0xAF67DA902D5A8A22
    assert normalize_iset_id("0x2468ae00123457") == 0x2468AE00123457
    assert normalize_iset_id(10248195696374871) == 10248195696374871
    assert normalize_iset_id(None) is None
    raw = {
        "regions": [
            {
                "dev": "region0",
                "size": 135291469824,
                "align": 16777216,
                "available_size": 135291469824,
                "max_available_extent": 135291469824,
                "type": "pmem",
                "iset_id": -5807432881699911134,
                "persistence_domain": "memory_controller",
            }
        ]
    }
    region = inventory_from_list(normalize_list(raw)).regions[0]
    assert region.iset_id == 0xAF67DA902D5A8A22 and not region.label_less


def test_empty_output_everywhere():
    empty = [r for r in LISTS if not r.stdout.strip()]
    assert empty
    for rec in empty:
        assert parse_list_output(rec.stdout) == {"buses": [], "dimms": [], "regions": [], "namespaces": []}
    inv = Ndctl(FixedRunner((0, "", ""))).inventory()
    assert inv.regions == () and inv.namespaces() == []


def test_unexpected_json_is_a_tool_failure():
    with pytest.raises(errors.ToolFailed):
        Ndctl(FixedRunner((0, '{"weird": 1}', ""))).inventory()
    with pytest.raises(errors.ToolFailed):
        Ndctl(FixedRunner((0, "not json", ""))).list(namespaces=True)


# --- create-namespace --------------------------------------------------------------------


@pytest.mark.parametrize("rec", CREATES_OK, ids=_ids(CREATES_OK))
def test_every_recorded_create_parses(rec):
    kwargs = create_kwargs(rec.argv)
    greedy = kwargs.pop("greedy", False)
    # Output replayed verbatim; the argv form is checked in test_create_args_match_the_transcripts_form.
    ndctl = Ndctl(FixedRunner((rec.rc, rec.stdout, rec.stderr)))
    expected = parse_json_objects(rec.stdout)
    created = ndctl.create_namespaces_greedy(**kwargs) if greedy else [ndctl.create_namespace(**kwargs)]
    assert len(created) == len(expected)
    for ns, raw in zip(created, expected, strict=False):
        assert ns.dev == raw["dev"] and ns.mode == raw["mode"] and ns.size == raw["size"]
        assert ns.uuid == raw["uuid"] and ns.name == raw.get("name")
        assert ns.region == "region" + raw["dev"][len("namespace") :].split(".")[0]
        if raw["mode"] == "devdax" and not raw["daxregion"].get("devices"):
            assert ns.size == 0 and ns.chardev is None and ns.device is None  # 1G align on 1G: size 0
        elif raw["mode"] == "devdax":
            assert ns.chardev == raw["daxregion"]["devices"][0]["chardev"]
            assert ns.device == "/dev/" + ns.chardev
        else:
            assert ns.device == "/dev/" + raw["blockdev"]


def test_create_args_match_the_transcripts_form():
    """The library writes create-namespace argv exactly as the recorded calls did."""
    matched = 0
    for rec in CREATES_OK + [r for r in NDCTL_FAILURES if r.argv[1] == "create-namespace"]:
        if any(a.startswith("--") and not a.startswith(("--map", "--align", "--uuid")) for a in rec.argv):
            continue  # long-option spellings (--region=...) are the captures' own style
        kwargs = create_kwargs(rec.argv)
        if "mode" not in kwargs:
            continue  # ndctl's default mode; the library always says which mode
        try:
            args = Ndctl.create_args(**kwargs)
        except errors.InvalidRequest:
            continue  # invalid on purpose (bogus mode, 3M align...): refused before any call
        assert ("ndctl", *args) == rec.argv
        matched += 1
    assert matched >= 25


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"mode": "bogus"}, "mode"),
        ({"mode": "fsdax", "align": 3 << 20}, "align"),
        ({"mode": "raw", "align": 2 << 20}, "align"),
        ({"mode": "sector", "sector_size": 999}, "sector_size"),
        ({"mode": "fsdax", "uuid": "not-a-uuid"}, "uuid"),
        ({"mode": "fsdax", "name": "x" * 64}, "name"),
        ({"mode": "fsdax", "name": "two words"}, "name"),
        ({"mode": "fsdax", "map": "disk"}, "map"),
        ({"mode": "fsdax", "size": 0}, "size"),
        ({"mode": "fsdax", "region": "region0; rm -rf /"}, "region"),
    ],
)
def test_create_rejects_bad_input_before_running(kwargs, field):
    runner = FixedRunner()
    with pytest.raises(errors.InvalidRequest) as info:
        Ndctl(runner).create_namespace(**kwargs)
    assert info.value.field == field
    assert runner.calls == []


# --- error mapping -----------------------------------------------------------------------

EXPECTED_ERRORS = {
    "No space left on device": errors.InsufficientCapacity,
    "Legacy / label-less": errors.LabelLessRegion,
    "is misaligned": errors.BadAlignment,
    "misaligned to 16M": errors.BadAlignment,
    "is active, specify --force": errors.Busy,
    "regions active": errors.Busy,
    "No such device or address": errors.NotFound,
    "must be >= 16MiB": errors.BadSize,
    "raw mode does not support setting an alignment": errors.InvalidRequest,
    "does not support btt sector_size": errors.InvalidRequest,
    "align must be a power-of-2": errors.InvalidRequest,
    "invalid mode": errors.InvalidRequest,
    "failed to parse uuid": errors.InvalidRequest,
    "unknown extra parameter": errors.InvalidRequest,
    "specify a namespace to": errors.InvalidRequest,
    "initialized 0 nmem": errors.LabelLessRegion,
    "security operation not supported": errors.ToolFailed,
    "successfully verified 0 nmem": errors.ToolFailed,
    "no dimms to monitor": errors.ToolFailed,
    "failed to enable": errors.NotFound,
    "Killed": errors.ToolFailed,
}


def _expected_error(rec):
    text = rec.stderr + rec.stdout
    # The most specific phrase wins (ndctl prints a specific Error line before the errno line).
    for phrase, cls in EXPECTED_ERRORS.items():
        if phrase in text and phrase not in ("No such device or address",):
            return cls
    if "No such device or address" in text:
        return errors.NotFound
    raise AssertionError(f"unclassified ndctl failure: {rec.argv!r}")


@pytest.mark.parametrize("rec", NDCTL_FAILURES, ids=_ids(NDCTL_FAILURES))
def test_every_recorded_ndctl_failure_maps_to_a_typed_error(rec):
    err = error_for(rec.result(), "test")
    assert type(err) is _expected_error(rec)
    assert err.argv == rec.argv and err.rc == rec.rc and err.stderr == rec.stderr
    assert err.tool_message and "usage:" not in err.tool_message
    assert err.tool_message.split(";")[0].strip() in str(err)


def test_errors_raised_through_methods():
    toobig = load_capture(
        CAPTURES / "ndctl_create-namespace_--mode_fsdax_--region_region0_--size_4G_--name_toobig.txt"
    )
    with pytest.raises(errors.InsufficientCapacity) as info:
        Ndctl(FixedRunner((toobig.rc, toobig.stdout, toobig.stderr))).create_namespace(
            region="region0", mode="fsdax", size=4 << 30, name="toobig"
        )
    assert info.value.rc == 237
    assert info.value.tool_message == "failed to create namespace: No space left on device"

    busy = load_capture(CAPTURES / "ndctl_destroy-namespace_namespace0.1.after-destroy.txt")
    runner = ReplayRunner([busy])
    with pytest.raises(errors.Busy) as info:
        Ndctl(runner).destroy_namespace("namespace0.1")
    assert runner.calls == [("ndctl", "destroy-namespace", "namespace0.1")]
    assert "namespace0.1 is active" in str(info.value)

    missing = load_capture(CAPTURES / "ndctl_destroy-namespace_-f_namespace0.5.misc.txt")
    with pytest.raises(errors.NotFound):
        Ndctl(ReplayRunner([missing])).destroy_namespace("namespace0.5", force=True)

    labelless = load_capture(
        CAPTURES
        / (
            "ndctl_create-namespace_--mode_fsdax_--region_region0_--size_256M_--name_vol1"
            ".before-init-labels.txt"
        )
    )
    with pytest.raises(errors.LabelLessRegion):
        Ndctl(FixedRunner((labelless.rc, labelless.stdout, labelless.stderr))).create_namespace(
            region="region0", size=256 << 20, name="vol1"
        )


def test_counts_from_success_messages():
    for name, verb, count in [
        ("ndctl_destroy-namespace_-f_all.after-destroy.txt", "destroy", 1),
        ("ndctl_destroy-namespace_-f_namespace0.0.after-destroy.txt", "destroy", 1),
        ("ndctl_disable-region_all.txt", "disable-region", 2),
        ("ndctl_enable-region_all.txt", "enable-region", 2),
        ("ndctl_init-labels_all.txt", "init", 2),
    ]:
        rec = load_capture(CAPTURES / name)
        ndctl = Ndctl(ReplayRunner([rec]))
        if verb == "destroy":
            got = ndctl.destroy_namespace(rec.argv[-1], force=True)
        elif verb == "disable-region":
            got = ndctl.disable_region("all")
        elif verb == "enable-region":
            got = ndctl.enable_region("all")
        else:
            got = ndctl.init_labels("all")
        assert got == count, name
    assert parse_count("destroyed 4 namespaces\n") == 4
    assert parse_count("") is None


def test_other_verbs_use_recorded_argv():
    recs = [
        r
        for r in RECORDED
        if r.argv
        in {
            ("ndctl", "disable-namespace", "namespace0.0"),
            ("ndctl", "enable-namespace", "namespace0.0"),
            ("ndctl", "disable-region", "region1"),
            ("ndctl", "enable-region", "region1"),
            ("ndctl", "zero-labels", "nmem0"),
        }
    ]
    runner = ReplayRunner(recs)
    ndctl = Ndctl(runner)
    assert ndctl.disable_namespace("namespace0.0") == 1
    assert ndctl.enable_namespace("namespace0.0") == 1
    assert ndctl.disable_region("region1") == 1
    assert ndctl.enable_region("region1") == 1
    zero = [r for r in recs if r.argv[1] == "zero-labels"]
    if any(r.rc for r in zero):
        with pytest.raises(errors.Busy):
            Ndctl(ReplayRunner([r for r in zero if r.rc])).zero_labels("nmem0")


def test_reconfigure_argv_and_result():
    rec = next(
        r
        for r in CREATES_OK
        if r.argv == ("ndctl", "create-namespace", "-f", "-e", "namespace0.0", "-m", "devdax", "-s", "512M")
    )
    ns = Ndctl(ReplayRunner([rec])).reconfigure_namespace("namespace0.0", "devdax", size=512 << 20)
    assert ns.mode == "devdax" and ns.size == 526385152


def test_tool_message_strips_usage_and_prefix():
    rec = next(r for r in NDCTL_FAILURES if "invalid mode" in r.stderr)
    assert tool_message(rec.stderr) == "invalid mode 'bogus'"


def test_binary_path_is_used():
    runner = FixedRunner((0, "", ""))
    Ndctl(runner, binary="/usr/bin/ndctl").list(namespaces=True)
    assert runner.calls == [("/usr/bin/ndctl", "list", "-N")]


def test_missing_tool_rc_127():
    runner = FixedRunner((127, "", "ndctl: command not found"))
    with pytest.raises(errors.ToolMissing):
        Ndctl(runner).inventory()


def test_error_str_and_dict():
    result = CommandResult(
        ("ndctl", "create-namespace"), 237, "", "failed to create namespace: No space left on device\n"
    )
    err = error_for(result, "create namespace")
    text = str(err)
    assert "No space left on device" in text and "rc=237" in text
    facts = err.to_dict()
    assert facts["rc"] == 237 and facts["cmd"] == ["ndctl", "create-namespace"]
    assert facts["error"] == "InsufficientCapacity"


# Rows of the error table in pmem-tools.md section 2.3/2.4 that the transcripts do not cover
# (texts from ndctl's source as quoted there).
DOCUMENTED_ERRORS = [
    (
        237,
        "  Error: unsupported align: 0x3000\n\nfailed to create namespace: No such device or address\n",
        errors.InvalidRequest,
    ),
    (
        234,
        "  Error: '--size=' must align to interleave-width: 6 and alignment: 2097152\n"
        "  did you intend --size=1548M?\n\nfailed to create namespace: Invalid argument\n",
        errors.BadAlignment,
    ),
    (
        240,
        "  Error: namespace0.0 is active, specify --force for re-configuration\n\n"
        "failed to reconfigure namespace: Device or resource busy\n",
        errors.Busy,
    ),
    (
        250,
        "  Error: create namespace: region1: align setting is 0x1000000 size 0xffe00000 is misaligned\n\n",
        errors.BadAlignment,
    ),
    (1, "nmem0: regions active, abort label write\nzeroed 0 nmem\n", errors.Busy),
    (237, "failed to create namespace: No such device or address\n", errors.NotFound),
]


@pytest.mark.parametrize("rc,stderr,cls", DOCUMENTED_ERRORS)
def test_documented_error_rows(rc, stderr, cls):
    err = error_for(CommandResult(("ndctl", "create-namespace"), rc, "", stderr), "create namespace")
    assert type(err) is cls and err.rc == rc and err.tool_message


def test_list_type_filter():
    assert Ndctl.list_args(regions=True, type="pmem") == ["list", "-R", "-t", "pmem"]


@pytest.mark.parametrize(
    "rc,cls",
    [(240, errors.Busy), (250, errors.NotFound), (228, errors.InsufficientCapacity), (1, errors.ToolFailed)],
)
def test_errno_fallback_when_text_is_unknown(rc, cls):
    err = error_for(CommandResult(("ndctl", "x"), rc, "", "something new\n"), "x")
    assert type(err) is cls and err.tool_message == "something new"


def test_parse_ndctl_number():
    assert parse_ndctl_number("4.00 GiB (4.29 GB)") == 4 << 30
    assert parse_ndctl_number("16.00 MiB (16.78 MB)") == 16 << 20
    assert parse_ndctl_number("0x2468ae00123457") == 0x2468AE00123457
    assert parse_ndctl_number(0) == 0
    assert parse_ndctl_number(None) is None
    with pytest.raises(ValueError):
        parse_ndctl_number("lots")
