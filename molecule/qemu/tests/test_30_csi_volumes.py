"""CSI volumes inside the guest, through the driver's socket, one test per step.

The steps of a volume's life share module state and run in file order; a failed step
makes the later ones fail with the reason (never pass silently).
"""

from __future__ import annotations

import shlex

import pytest
from conftest import (
    MIB,
    STATX_ATTR_DAX,
    block_capability,
    csi,
    mount_capability,
    mount_of,
    namespace_named,
    staging_path,
    statx_attributes,
    target_path,
)

VOLUME = {}
BLOCK = {}


def volume_id(state: dict) -> str:
    assert "id" in state, "an earlier step (CreateVolume) failed"
    return state["id"]


# --- filesystem volume ---------------------------------------------------------------


def test_fs_create_volume(host):
    response = csi(
        host,
        "CreateVolume",
        {
            "name": "pvc-vm-lifecycle",
            "capacity_range": {"required_bytes": 256 * MIB},
            "volume_capabilities": [mount_capability("ext4")],
            "parameters": {"numaNode": "0"},
        },
    )
    volume = response["volume"]
    assert volume["volume_id"].startswith("csi-") and len(volume["volume_id"]) == 44
    assert int(volume["capacity_bytes"]) >= 256 * MIB
    VOLUME["id"] = volume["volume_id"]
    namespace = namespace_named(host, VOLUME["id"])
    assert namespace is not None, "CreateVolume returned but ndctl shows no such namespace"
    assert namespace["mode"] == "fsdax"
    VOLUME["blockdev"] = namespace["blockdev"]


def test_fs_create_volume_is_idempotent(host):
    again = csi(
        host,
        "CreateVolume",
        {
            "name": "pvc-vm-lifecycle",
            "capacity_range": {"required_bytes": 256 * MIB},
            "volume_capabilities": [mount_capability("ext4")],
            "parameters": {"numaNode": "0"},
        },
    )
    assert again["volume"]["volume_id"] == volume_id(VOLUME)


def test_fs_stage_volume_mounts_with_dax(host):
    vid = volume_id(VOLUME)
    staging = staging_path(vid)
    host.check_output(f"mkdir -p {staging}")
    csi(
        host,
        "NodeStageVolume",
        {"volume_id": vid, "staging_target_path": staging, "volume_capability": mount_capability("ext4")},
    )
    mount = mount_of(host, staging)
    assert mount is not None, f"{staging} is not mounted after NodeStageVolume"
    assert mount["source"] == f"/dev/{VOLUME['blockdev']}"
    assert mount["fstype"] == "ext4"
    assert "dax=always" in mount["options"].split(","), mount


def test_fs_publish_volume(host):
    vid = volume_id(VOLUME)
    target = target_path(vid)
    host.check_output(f"mkdir -p $(dirname {target})")
    csi(
        host,
        "NodePublishVolume",
        {
            "volume_id": vid,
            "staging_target_path": staging_path(vid),
            "target_path": target,
            "volume_capability": mount_capability("ext4"),
        },
    )
    mount = mount_of(host, target)
    assert mount is not None, f"{target} is not mounted after NodePublishVolume"
    assert "dax=always" in mount["options"].split(",")


def test_fs_write_and_read_file(host):
    vid = volume_id(VOLUME)
    path = f"{target_path(vid)}/hello.txt"
    host.check_output(f"echo 'hello from the pod' > {shlex.quote(path)} && sync")
    assert host.file(path).content_string == "hello from the pod\n"
    # The same file through the staging mount: one filesystem, on the PMem namespace.
    assert host.file(f"{staging_path(vid)}/hello.txt").content_string == "hello from the pod\n"
    assert statx_attributes(host, path) & STATX_ATTR_DAX, "the file is not DAX-mapped"


def test_fs_unpublish_volume(host):
    vid = volume_id(VOLUME)
    csi(host, "NodeUnpublishVolume", {"volume_id": vid, "target_path": target_path(vid)})
    assert mount_of(host, target_path(vid)) is None
    assert not host.file(target_path(vid)).exists


def test_fs_unstage_volume(host):
    vid = volume_id(VOLUME)
    csi(host, "NodeUnstageVolume", {"volume_id": vid, "staging_target_path": staging_path(vid)})
    assert mount_of(host, staging_path(vid)) is None


def test_fs_delete_volume_removes_namespace(host):
    vid = volume_id(VOLUME)
    csi(host, "DeleteVolume", {"volume_id": vid})
    assert namespace_named(host, vid) is None, f"namespace {vid} is still there after DeleteVolume"
    # Deleting again is fine (idempotent), the namespace stays gone.
    csi(host, "DeleteVolume", {"volume_id": vid})


# --- raw block volume ----------------------------------------------------------------


def test_block_create_volume(host):
    response = csi(
        host,
        "CreateVolume",
        {
            "name": "pvc-vm-block",
            "capacity_range": {"required_bytes": 64 * MIB},
            "volume_capabilities": [block_capability()],
            "parameters": {"region": "region1"},
        },
    )
    BLOCK["id"] = response["volume"]["volume_id"]
    namespace = namespace_named(host, BLOCK["id"])
    assert namespace is not None
    BLOCK["blockdev"] = namespace["blockdev"]


def test_block_stage_and_publish_as_device(host):
    vid = volume_id(BLOCK)
    staging = staging_path(vid)
    target = target_path(vid, block=True)
    host.check_output(f"mkdir -p {staging} $(dirname {target})")
    csi(
        host,
        "NodeStageVolume",
        {"volume_id": vid, "staging_target_path": staging, "volume_capability": block_capability()},
    )
    csi(
        host,
        "NodePublishVolume",
        {
            "volume_id": vid,
            "staging_target_path": staging,
            "target_path": target,
            "volume_capability": block_capability(),
        },
    )
    assert host.run(f"test -b {target}").rc == 0, f"{target} is not a block device after publish"


def test_block_write_and_read(host):
    target = target_path(volume_id(BLOCK), block=True)
    host.check_output(f"printf 'raw block payload' | dd of={target} bs=4096 conv=sync,fsync status=none")
    assert host.check_output(f"dd if={target} bs=17 count=1 status=none") == "raw block payload"
    # Same bytes on the namespace's own device: the publish is a bind of it.
    assert (
        host.check_output(f"dd if=/dev/{BLOCK['blockdev']} bs=17 count=1 status=none") == "raw block payload"
    )


def test_block_unpublish_unstage_delete(host):
    vid = volume_id(BLOCK)
    csi(host, "NodeUnpublishVolume", {"volume_id": vid, "target_path": target_path(vid, block=True)})
    assert not host.file(target_path(vid, block=True)).exists
    csi(host, "NodeUnstageVolume", {"volume_id": vid, "staging_target_path": staging_path(vid)})
    csi(host, "DeleteVolume", {"volume_id": vid})
    assert namespace_named(host, vid) is None


# --- no data from an earlier volume on the same extents -------------------------------


def create_block_volume(host, name: str) -> tuple[str, dict]:
    response = csi(
        host,
        "CreateVolume",
        {
            "name": name,
            "capacity_range": {"required_bytes": 32 * MIB},
            "volume_capabilities": [block_capability()],
            "parameters": {"region": "region1"},
        },
    )
    vid = response["volume"]["volume_id"]
    namespace = namespace_named(host, vid)
    assert namespace is not None
    return vid, namespace


def resource_of(host, namespace: dict) -> str:
    return host.file(f"/sys/bus/nd/devices/{namespace['dev']}/resource").content_string.strip()


def occurrences(host, marker: str, device: str) -> int:
    """How often `marker` appears on `device` (grep -c would count lines, and zeroed
    devices have none)."""
    return int(host.check_output(f"grep -a -o {marker} {device} | wc -l || true") or 0)


@pytest.mark.timeout(900)
def test_new_volume_on_same_extents_shows_no_old_data(host):
    marker = "PMEM-OPTANE-OLD-TENANT-DATA"
    first, ns1 = create_block_volume(host, "pvc-vm-tenant-a")
    try:
        dev1 = f"/dev/{ns1['blockdev']}"
        # The marker at the start, in the middle and at the end of the device.
        size = int(host.check_output(f"blockdev --getsize64 {dev1}"))
        for offset in (0, size // 2, size - 4096):
            host.check_output(
                f"printf '{marker}' | dd of={dev1} bs=4096 seek={offset // 4096}"
                " conv=sync,fsync,notrunc status=none"
            )
        assert occurrences(host, marker, dev1) == 3
        extent = resource_of(host, ns1)
    finally:
        csi(host, "DeleteVolume", {"volume_id": first})
    assert namespace_named(host, first) is None

    second, ns2 = create_block_volume(host, "pvc-vm-tenant-b")
    try:
        assert resource_of(host, ns2) == extent, (
            "the new volume did not land on the freed extent, so this check would prove nothing"
        )
        assert occurrences(host, marker, f"/dev/{ns2['blockdev']}") == 0, (
            "data of the deleted volume is visible in the new one"
        )
    finally:
        csi(host, "DeleteVolume", {"volume_id": second})
