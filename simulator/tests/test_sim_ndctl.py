"""ndctl and daxctl behaviour beyond the transcripts: shapes, extents, id reuse, sizes, errors."""

from __future__ import annotations

import json

import pytest
from pmem_sim import model
from pmem_sim.dispatch import run_tool
from pmem_sim.jsonfmt import dumps, human_size
from pmem_sim.testing import make_state

MIB = 1024**2
GIB = 1024**3


def ndctl(path, *args):
    return run_tool("ndctl", list(args), state_path=path)


def daxctl(path, *args):
    return run_tool("daxctl", list(args), state_path=path)


def labelled_qemu(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    for args in (["disable-region", "all"], ["init-labels", "all"], ["enable-region", "all"]):
        rc, _, err = ndctl(path, *args)
        assert rc == 0, err
    return path


def test_json_c_pretty_printing():
    assert dumps({"a": [1, {"b": "x/y"}], "c": True}) == (
        '{\n  "a":[\n    1,\n    {\n      "b":"x\\/y"\n    }\n  ],\n  "c":true\n}'
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (5000 * 1024 - 1, 5119999),
        (16 * MIB, '"16.00 MiB (16.78 MB)"'),
        (48234496, '"46.00 MiB (48.23 MB)"'),
        (1054867456, '"1006.00 MiB (1054.87 MB)"'),
        (4278190080, '"3.98 GiB (4.28 GB)"'),
        (3 * 1024**4, '"3.00 TiB (3.30 TB)"'),
    ],
)
def test_human_sizes(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("mode", "raw", "align", "map_", "sector", "usable"),
    [
        ("fsdax", GIB, 2 * MIB, "dev", 512, 1054867456),
        ("fsdax", 4 * GIB, 2 * MIB, "dev", 512, 4225761280),
        ("fsdax", 512 * MIB, 2 * MIB, "dev", 512, 526385152),
        ("devdax", 48 * MIB, 2 * MIB, "dev", 512, 48234496),
        ("fsdax", 256 * MIB, 4096, "dev", 512, 262144000),
        ("fsdax", GIB, GIB, "dev", 512, 0),
        ("fsdax", 512 * MIB, 2 * MIB, "mem", 512, 534773760),
        ("sector", 256 * MIB, 2 * MIB, "dev", 4096, 267091968),
        ("sector", 64 * MIB, 2 * MIB, "dev", 4096, 65961984),
        ("sector", 512 * MIB, 2 * MIB, "dev", 4096, 535265280),
        ("raw", 128 * MIB, 2 * MIB, "dev", 512, 128 * MIB),
    ],
)
def test_usable_size_formulas(mode, raw, align, map_, sector, usable):
    ns = {"mode": mode, "size": raw, "align": align, "map": map_, "btt_sector_size": sector}
    assert model.usable_size(ns) == usable


def test_enumeration_order_is_the_kernel_directory_order():
    assert model.kernfs_order(["region0", "region1"]) == ["region1", "region0"]
    assert model.kernfs_order([f"namespace0.{i}" for i in range(4)]) == [
        "namespace0.2",
        "namespace0.1",
        "namespace0.3",
        "namespace0.0",
    ]


def test_shapes_empty_array_object_and_bare(tmp_path):
    path = labelled_qemu(tmp_path)
    assert ndctl(path, "list") == (0, "", "")
    rc, _out, _ = ndctl(path, "create-namespace", "-r", "region1", "-s", "1G", "-n", "only")
    assert rc == 0
    listed = json.loads(ndctl(path, "list")[1])
    assert isinstance(listed, list) and len(listed) == 1
    bare = json.loads(ndctl(path, "list", "-u")[1])
    assert isinstance(bare, dict) and bare["size"] == "1006.00 MiB (1054.87 MB)"
    # region1 has namespaces but the last walked region (region0) has none: bare array of regions
    regions = json.loads(ndctl(path, "list", "-RN")[1])
    assert isinstance(regions, list) and [r["dev"] for r in regions] == ["region1", "region0"]
    assert "namespaces" in regions[0] and "namespaces" not in regions[1]
    ndctl(path, "create-namespace", "-r", "region0", "-s", "1G")
    wrapped = json.loads(ndctl(path, "list", "-RN")[1])
    assert isinstance(wrapped, dict) and list(wrapped) == ["regions"]
    assert set(json.loads(ndctl(path, "list", "-DRN")[1])) == {"dimms", "regions"}
    buses = json.loads(ndctl(path, "list", "-BN")[1])
    assert buses[0]["provider"] == "ACPI.NFIT" and len(buses[0]["namespaces"]) == 2


def test_holes_make_available_differ_from_max_extent(tmp_path):
    path = labelled_qemu(tmp_path)
    for name in ("a", "b", "c"):
        assert ndctl(path, "create-namespace", "-r", "region0", "-s", "1G", "-n", name)[0] == 0
    rc, _, err = ndctl(path, "destroy-namespace", "-f", "namespace0.1")
    assert (rc, err) == (0, "destroyed 1 namespace\n")
    region = json.loads(ndctl(path, "list", "-R", "-r", "region0")[1])[0]
    assert region["available_size"] == 2 * GIB
    assert region["max_available_extent"] == GIB
    # a 2 GiB request does not fit any extent: ENOSPC; 1 GiB reuses the hole
    rc, _, err = ndctl(path, "create-namespace", "-r", "region0", "-s", "2G")
    assert (rc, err) == (237, "failed to create namespace: No space left on device\n")
    created = json.loads(ndctl(path, "create-namespace", "-r", "region0", "-s", "1G")[1])
    assert created["dev"] == "namespace0.3"  # the seed; the next seed takes the lowest free id
    seeds = [ns["dev"] for ns in json.loads(ndctl(path, "list", "-Ni")[1]) if ns["size"] == 0]
    assert "namespace0.1" in seeds
    state = model.load_state(path)
    offsets = sorted(ns["offset"] for ns in state["regions"][0]["namespaces"] if ns["size"])
    assert offsets == [0, GIB, 2 * GIB]


def test_id_reuse_prefers_idle_namespace_zero(tmp_path):
    path = labelled_qemu(tmp_path)
    ndctl(path, "create-namespace", "-r", "region0", "-s", "512M")
    ndctl(path, "create-namespace", "-r", "region0", "-s", "512M")
    ndctl(path, "destroy-namespace", "-f", "namespace0.0")
    listed = json.loads(ndctl(path, "list", "-Ni", "-r", "region0")[1])
    idle = [ns["dev"] for ns in listed if ns.get("state") == "disabled"]
    assert sorted(idle) == ["namespace0.0", "namespace0.2"]  # id 0 stays idle, 0.2 is the seed
    created = json.loads(ndctl(path, "create-namespace", "-r", "region0", "-s", "256M")[1])
    assert created["dev"] == "namespace0.0"


def test_misaligned_sizes_and_interleave_hint(tmp_path):
    path = make_state(tmp_path, preset=None, sockets=1, dimms_per_socket=4, dimm_capacity=128, generation=200)
    run_tool("ipmctl", ["create", "-f", "-goal"], state_path=path)
    from pmem_sim.testing import reboot

    reboot(path)
    rc, out, err = ndctl(path, "create-namespace", "-r", "region0", "-s", "1001M")
    assert (rc, out) == (234, "")
    assert (
        err
        == "  Error: create namespace: region0: align setting is 0x1000000 size 0x3e900000 is misaligned\n\n"
    )
    rc, _, err = ndctl(path, "create-namespace", "-r", "region0", "-s", "1G", "-a", "1G")
    assert rc == 234
    assert err == (
        "  Error: create namespace: '--size=' must align to interleave-width: 4 and alignment: 1073741824\n"
        "did you intend --size=4G?\n\n"
    )


def test_usage_errors(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    rc, out, err = ndctl(path, "list", "-Q")
    assert rc == 129 and out == ""
    assert err.startswith("  Error: unknown switch `Q'\n\n usage: ndctl list [<options>]\n\n")
    assert "    -r, --region <region-id>\n                          filter by region\n" in err
    rc, _, err = ndctl(path, "destroy-namespace")
    assert rc == 129 and err.startswith('  Error: specify a namespace to destroy, or "all"\n\n\n usage:')
    assert ndctl(path, "--version") == (0, "76.1\n", "")
    assert ndctl(path, "bogus")[0] == 1


def test_disabled_namespace_lists_raw(tmp_path):
    path = labelled_qemu(tmp_path)
    created = json.loads(ndctl(path, "create-namespace", "-r", "region1", "-m", "sector", "-s", "256M")[1])
    assert created["blockdev"] == "pmem1s"
    assert ndctl(path, "disable-namespace", "namespace1.0")[2] == "disabled 1 namespace\n"
    listed = json.loads(ndctl(path, "list", "-Ni", "-n", "namespace1.0")[1])[0]
    assert listed["mode"] == "raw" and listed["size"] == 256 * MIB and listed["state"] == "disabled"
    assert ndctl(path, "list", "-n", "namespace1.0") == (0, "", "")
    ndctl(path, "enable-namespace", "namespace1.0")
    assert json.loads(ndctl(path, "list", "-n", "namespace1.0")[1])[0]["mode"] == "sector"


def test_verbose_list_shows_device_dax_details(tmp_path):
    path = labelled_qemu(tmp_path)
    ndctl(path, "create-namespace", "-r", "region1", "-m", "devdax", "-s", "1G")
    plain = json.loads(ndctl(path, "list", "-N")[1])[0]
    verbose = json.loads(ndctl(path, "list", "-Nv")[1])[0]
    assert plain["chardev"] == "dax1.0" and "daxregion" not in plain
    assert verbose["daxregion"]["devices"][0]["chardev"] == "dax1.0"
    assert verbose["numa_node"] == 0 and "raw_uuid" in verbose


def test_daxctl_reconfigure_round_trip(tmp_path):
    path = labelled_qemu(tmp_path)
    ndctl(path, "create-namespace", "-r", "region0", "-m", "devdax", "-s", "1G")
    rc, out, err = daxctl(path, "reconfigure-device", "--mode=system-ram", "dax0.0")
    assert rc == 0 and err == "reconfigured 1 device\n"
    device = json.loads(out)[0]
    assert (device["mode"], device["online_memblocks"], device["total_memblocks"], device["movable"]) == (
        "system-ram",
        7,
        7,
        True,
    )
    assert daxctl(path, "reconfigure-device", "--mode=devdax", "dax0.0") == (
        240,
        "",
        "error reconfiguring devices: Device or resource busy\nreconfigured 0 devices\n",
    )
    assert daxctl(path, "reconfigure-device", "--mode=devdax", "-f", "dax0.0")[0] == 0
    assert json.loads(daxctl(path, "list")[1])[0]["mode"] == "devdax"
    assert daxctl(path, "list", "-D", "-v")[0] == 129


def test_label_less_destroy_keeps_full_size_raw(tmp_path):
    path = make_state(tmp_path, preset="qemu-nolabel")
    rc, out, _ = ndctl(path, "create-namespace", "-f", "-e", "namespace0.0", "-m", "fsdax")
    assert rc == 0 and json.loads(out)["size"] == 4225761280
    assert ndctl(path, "destroy-namespace", "-f", "namespace0.0")[2] == "destroyed 1 namespace\n"
    idle = json.loads(ndctl(path, "list", "-Ni", "-n", "namespace0.0")[1])[0]
    assert idle == {
        "dev": "namespace0.0",
        "mode": "raw",
        "size": 4 * GIB,
        "sector_size": 512,
        "state": "disabled",
    }
    assert ndctl(path, "init-labels", "all") == (1, "", "initialized 0 nmem\n")


def test_autolabel_reconfigure_converts_a_label_less_region(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    rc, out, err = ndctl(path, "create-namespace", "-f", "-e", "namespace1.0", "-m", "fsdax")
    assert rc == 0, err
    region = json.loads(ndctl(path, "list", "-R", "-r", "region1")[1])[0]
    assert "iset_id" in region
    assert json.loads(out)["dev"] == "namespace1.0"


def test_zero_labels_needs_a_disabled_region(tmp_path):
    path = labelled_qemu(tmp_path)
    assert ndctl(path, "zero-labels", "nmem0") == (
        1,
        "",
        "nmem0: regions active, abort label write\nzeroed 0 nmem\n",
    )


def test_host_without_nvdimms(tmp_path):
    path = make_state(tmp_path, preset="no-optane")
    for args in (["list"], ["list", "-B"], ["list", "-BDRNiv"]):
        assert ndctl(path, *args) == (0, "", "")
    assert ndctl(path, "create-namespace", "-m", "fsdax") == (
        237,
        "",
        "failed to create namespace: No such device or address\n",
    )
    assert daxctl(path, "list") == (0, "", "")


def test_check_namespace_outcomes(tmp_path):
    path = labelled_qemu(tmp_path)
    assert ndctl(path, "check-namespace", "namespace9.9") == (
        250,
        "",
        "error checking namespaces: No such device or address\nchecked 0 namespaces\n",
    )
    ndctl(path, "create-namespace", "-r", "region0", "-m", "sector", "-s", "64M")
    rc, _, err = ndctl(path, "check-namespace", "namespace0.0")
    assert rc == 240 and "check aborted, namespace online" in err
    ndctl(path, "disable-namespace", "namespace0.0")
    assert ndctl(path, "check-namespace", "namespace0.0") == (0, "", "checked 1 namespace\n")


def test_name_longer_than_a_label_holds_is_refused(tmp_path):
    path = labelled_qemu(tmp_path)
    assert ndctl(path, "create-namespace", "-r", "region1", "-s", "1G", "-n", "x" * 64) == (
        234,
        "",
        "  Error: create namespace: validate_namespace_options: alt name overflow\n\n",
    )
    rc, out, _ = ndctl(path, "create-namespace", "-r", "region1", "-s", "1G", "-n", "y" * 63)
    assert rc == 0 and json.loads(out)["name"] == "y" * 63
