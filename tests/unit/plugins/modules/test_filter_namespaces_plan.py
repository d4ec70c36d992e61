"""The namespaces_plan filter: the namespaces role's decision, against the library's size rules."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pmem.optane.plugins.filter.namespaces_plan import FilterModule
from ansible_collections.pmem.optane.plugins.module_utils import sizes

GIB = 1 << 30
MIB = 1 << 20
plan = FilterModule().filters()["namespaces_plan"]


def region(dev="region0", size=64 * GIB, numa_node=0, ways=2):
    return {"dev": dev, "size": size, "align": 16 * MIB, "interleave_ways": ways, "numa_node": numa_node}


def namespace(name, size, region="region0", mode="fsdax", align=2 * MIB, blockdev="pmem0", **extra):
    return dict(
        name=name, size=size, region=region, mode=mode, align=align, map="dev", blockdev=blockdev, **extra
    )


def facts(*namespaces, regions=None):
    return {"regions": regions or [region(), region("region1", numa_node=1)], "namespaces": list(namespaces)}


def names(entries):
    return [entry["name"] for entry in entries]


def test_absolute_size_is_compared_with_what_ndctl_gives():
    usable = sizes.usable_size("fsdax", 16 * GIB)
    layout = [{"name": "db", "size": "16G", "region": "region0"}]
    assert plan(layout, facts(namespace("db", usable)))["todo"] == []
    assert names(plan(layout, facts(namespace("db", usable - 2 * MIB)))["todo"]) == ["db"]
    assert plan([{"name": "db", "size": "16 GiB"}], facts(namespace("db", usable)))["todo"] == []


def test_percentage_uses_the_region_granule():
    granule = sizes.size_granule("fsdax", 16 * MIB, 2)
    raw = int(64 * GIB * 30 / 100.0) // granule * granule
    layout = [{"name": "cache", "size": "30%", "region": "region0"}]
    assert plan(layout, facts(namespace("cache", sizes.usable_size("fsdax", raw))))["todo"] == []
    assert names(plan(layout, facts(namespace("cache", raw)))["todo"]) == ["cache"]


def test_map_mem_devdax_align_and_placement():
    usable = sizes.usable_size("devdax", 4 * GIB, GIB, "mem")
    entry = {"name": "dax", "mode": "devdax", "align": "1G", "map": "mem", "size": "4G", "numa_node": 1}
    found = namespace("dax", usable, region="region1", mode="devdax", align=GIB)
    found["map"] = "mem"
    assert plan([entry], facts(found))["todo"] == []
    assert names(plan([dict(entry, numa_node=0)], facts(found))["todo"]) == ["dax"]
    assert names(plan([dict(entry, align="2M")], facts(found))["todo"]) == ["dax"]
    assert names(plan([dict(entry, map="dev")], facts(found))["todo"]) == ["dax"]


def test_remaining_missing_duplicate_and_sector():
    layout = [{"name": "rest"}, {"name": "gone", "size": "1G"}, {"name": "twice"}]
    found = facts(namespace("rest", 5 * GIB), namespace("twice", GIB), namespace("twice", GIB))
    assert names(plan(layout, found)["todo"]) == ["gone", "twice"]
    sector = namespace("blk", GIB, mode="sector", sector_size=4096)
    assert plan([{"name": "blk", "mode": "sector", "sector_size": 4096}], facts(sector))["todo"] == []
    assert names(plan([{"name": "blk", "mode": "sector", "size": "1G"}], facts(sector))["todo"]) == ["blk"]


def test_absent_state_override_and_purge():
    found = facts(
        namespace("db", GIB),
        namespace("old", GIB, blockdev="pmem1"),
        namespace("csi-0123", GIB, blockdev="pmem2"),
        namespace(None, GIB, blockdev="pmem3"),
        namespace("empty", 0, blockdev="pmem4"),
    )
    result = plan([{"name": "db", "state": "absent"}, {"name": "new", "state": "absent"}], found)
    assert names(result["todo"]) == ["db"] and result["todo"][0]["state"] == "absent"
    assert result["purge"] == []
    result = plan([{"name": "db"}], found, state="absent", purge_undeclared=True, device_dir="/sim/dev")
    assert [(e["name"], e["state"]) for e in result["todo"]] == [("db", "absent")]
    assert names(result["purge"]) == ["old"]  # never the CSI driver's, never unnamed or empty ones
    assert result["devices"] == {
        "db": "/sim/dev/pmem0",
        "old": "/sim/dev/pmem1",
        "csi-0123": "/sim/dev/pmem2",
    }


def test_layout_errors_name_the_entry_the_field_and_the_rule():
    layout = [
        {"name": "ok", "size": "1G"},
        {"name": "ok"},
        {"name": "csi-mine"},
        {"name": "bad name"},
        {"name": "x" * 64},
        {"size": "1G"},
        {"name": "both", "region": "region0", "numa_node": 0},
        {"name": "pct", "size": "0%"},
        {"name": "what", "size": "lots"},
        {"name": "dax", "mode": "devdax", "filesystem": "ext4"},
        {"name": "mnt", "mount_path": "/mnt/x"},
    ]
    result = plan(layout, facts())
    assert result["todo"] == []
    assert result["errors"] == [
        "namespaces_layout[1].name: ok is declared twice",
        "namespaces_layout[2].name: csi-mine starts with csi-, the prefix reserved for the CSI driver",
        "namespaces_layout[3].name: bad name may only hold letters, digits and _ . : -",
        "namespaces_layout[4].name: at most 63 characters",
        "namespaces_layout[5].name: required, a non-empty string",
        "namespaces_layout[6]: region and numa_node are mutually exclusive",
        "namespaces_layout[7].size: 0% must be a whole percentage from 1 to 100",
        "namespaces_layout[8].size: lots is not a size with units (16G, 512MiB), a percentage (50%)"
        " or remaining",
        "namespaces_layout[9].filesystem: needs mode fsdax (DAX mounts), not devdax",
        "namespaces_layout[10].mount_path: needs a filesystem (ext4 or xfs)",
    ]


def test_bad_input_is_refused_clearly():
    with pytest.raises(AnsibleFilterError, match="list of dicts"):
        plan({"name": "x"}, facts())
    with pytest.raises(AnsibleFilterError, match=r"namespaces_layout\[0\]"):
        plan([{"name": "db", "mode": "devdax", "align": "huge"}], facts(namespace("db", GIB, mode="devdax")))


# --- filesystems: what is pending, with which mount options, and whether there is work -----


def fs_entry(**extra):
    return dict({"name": "db", "size": "remaining", "filesystem": "ext4", "mount_path": "/mnt/db"}, **extra)


def mounted_facts(options="dax=always", fstype="ext4", path="/mnt/db", fstab_path="/etc/fstab"):
    ns = namespace(
        "db",
        60 * GIB,
        blockdev="pmem0",
        mounted=[{"path": path, "fstype": fstype, "options": "rw,dax=always"}],
        fstab=[{"path": path, "fstype": fstype, "options": options}],
    )
    return dict(facts(ns), fstab_path=fstab_path, dev_dir="/dev")


def test_mount_options_put_dax_last_once():
    result = plan([fs_entry(mount_options="noatime,dax=always,noatime")], facts())
    assert result["mount_options"] == {"db": "noatime,dax=always"}
    no_dax = plan([fs_entry(mount_options="dax=always")], facts(), mount_dax=False)
    assert no_dax["mount_options"] == {"db": "defaults"}


def test_filesystem_as_declared_is_not_pending_and_there_is_no_work():
    result = plan([fs_entry()], mounted_facts(), filesystems=True)
    assert result["fs_pending"] == [] and result["todo"] == [] and result["work"] is False
    assert names(result["filesystems"]) == ["db"]


@pytest.mark.parametrize(
    "changed",
    [
        {"options": "noatime,dax=always"},  # fstab options differ
        {"fstype": "xfs"},  # another filesystem type
        {"path": "/mnt/other"},  # mounted elsewhere
        {"fstab_path": "/tmp/fstab"},  # facts read for another fstab: they say nothing
    ],
)
def test_filesystem_not_as_declared_is_pending(changed):
    result = plan([fs_entry()], mounted_facts(**changed), filesystems=True)
    assert result["fs_pending"] == ["db"] and result["work"] is True
    # Without filesystem management the same host has nothing to do.
    assert plan([fs_entry()], mounted_facts(**changed))["work"] is False


def test_absent_entries_and_entries_without_filesystem_are_not_filesystems():
    layout = [fs_entry(state="absent"), {"name": "raw", "size": "1G", "filesystem": None}]
    result = plan(layout, facts(), filesystems=True)
    assert result["filesystems"] == [] and result["fs_pending"] == [] and result["mount_options"] == {}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, True),  # nothing handed over
        ({"gathered": ["optane"]}, True),  # the appdirect role read Optane only
        ({"gathered": ["ndctl", "optane"]}, False),
        ({"namespaces": []}, False),  # no gathered list: an older result, read in full
    ],
)
def test_facts_without_ndctl_part_cannot_decide(given, expected):
    handed = dict(facts(), **given) if given else {}
    assert plan([{"name": "db", "size": "1G"}], handed)["gather"] is expected


def test_facts_for_another_fstab_or_device_dir_cannot_decide_declared_filesystems():
    assert plan([fs_entry()], mounted_facts(), filesystems=True)["gather"] is False
    other_fstab = mounted_facts(fstab_path="/tmp/fstab")
    assert plan([fs_entry()], other_fstab, filesystems=True)["gather"] is True
    other_dev = dict(mounted_facts(), dev_dir="/tmp/dev")
    assert plan([fs_entry()], other_dev, filesystems=True)["gather"] is True
    # They still decide when the role does not manage filesystems, or none is declared present.
    assert plan([fs_entry()], other_fstab)["gather"] is False
    assert plan([fs_entry(state="absent")], other_fstab, filesystems=True)["gather"] is False
    assert plan([fs_entry()], other_fstab, filesystems=True, state="absent")["gather"] is False
