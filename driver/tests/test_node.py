"""Node RPCs with real mkfs and mounts on the simulator's loop devices (root), and the full
volume lifecycle of the seed for filesystem and block volumes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from optane_csi._gen import csi_pb2
from optane_csi.capabilities import NodeRPC
from optane_csi.mounts import mounts_at, read_mounts
from optane_csi.volumes import naming
from optane_testlib import (
    MIB,
    AccessMode,
    HostRunner,
    block_cap,
    create_request,
    label_regions,
    mount_cap,
    namespaces_named,
    rpc_error,
)

Code = grpc.StatusCode
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("losetup"), reason="needs root and losetup"),
]


def pmemsim(env, *args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("pmemsim", path=os.path.dirname(sys.executable))
    argv = (
        [tool, *args]
        if tool
        else [sys.executable, "-c", "from pmem_sim.entry import pmemsim_main; pmemsim_main()", *args]
    )
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=120)


def read_text(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def unmount_below(root: str) -> None:
    for _ in range(32):  # bounded
        below = [e.mount_point for e in read_mounts() if e.mount_point.startswith(root + "/")]
        if not below:
            return
        subprocess.run(["umount", "-l", below[-1]], check=False, capture_output=True)


@pytest.fixture
def node_env(serve, short_tmp):
    state = str(short_tmp / "sim.json")
    env = dict(os.environ, PMEMSIM_STATE=state)
    done = pmemsim(
        env,
        "init",
        "--preset",
        "qemu",
        "--blockdev-dir",
        str(short_tmp / "dev"),
        "--backing-dir",
        str(short_tmp / "backing"),
    )
    assert done.returncode == 0, done.stderr
    label_regions(state)

    def start(**overrides):
        served = serve(HostRunner(state), dev_dir=str(short_tmp / "dev"), attach=True, **overrides)
        served.state_path = state
        served.kubelet = short_tmp / "kubelet"
        return served

    start.state = state
    start.tmp = short_tmp
    yield start
    unmount_below(str(short_tmp))
    pmemsim(env, "teardown")


def co_paths(served, name: str) -> tuple[str, str]:
    """Like kubelet: create the staging directory and the target's parent, not the target."""
    staging = served.kubelet / "plugins" / "kubernetes.io" / "csi" / name / "globalmount"
    parent = served.kubelet / "pods" / name / "volumes"
    staging.mkdir(parents=True, exist_ok=True)
    parent.mkdir(parents=True, exist_ok=True)
    return str(staging), str(parent / "target")


def stage_request(volume_id, staging, cap, publish_context=None):
    return csi_pb2.NodeStageVolumeRequest(
        volume_id=volume_id,
        staging_target_path=staging,
        volume_capability=cap,
        publish_context=publish_context or {},
    )


def publish_request(volume_id, staging, target, cap, readonly=False):
    return csi_pb2.NodePublishVolumeRequest(
        volume_id=volume_id,
        staging_target_path=staging,
        target_path=target,
        volume_capability=cap,
        readonly=readonly,
    )


def lifecycle(served, name: str, cap, *, repeat: int = 1, size: int = 64 * MIB, check=None) -> None:
    """The seed's lifecycle; every RPC called `repeat` times in a row (idempotency)."""
    cc, node = served.controller, served.node
    for _ in range(repeat):
        volume = cc.CreateVolume(create_request(name, size, caps=[cap])).volume
    volume_id = volume.volume_id
    for _ in range(repeat):
        context = cc.ControllerPublishVolume(
            csi_pb2.ControllerPublishVolumeRequest(
                volume_id=volume_id, node_id="node-a", volume_capability=cap
            )
        ).publish_context
    staging, target = co_paths(served, name)
    for _ in range(repeat):
        node.NodeStageVolume(stage_request(volume_id, staging, cap, context))
    for _ in range(repeat):
        node.NodePublishVolume(publish_request(volume_id, staging, target, cap))
    if check:
        check(volume, staging, target)
    for _ in range(repeat):
        node.NodeUnpublishVolume(csi_pb2.NodeUnpublishVolumeRequest(volume_id=volume_id, target_path=target))
        assert not os.path.lexists(target)  # the driver removes the target it created
    for _ in range(repeat):
        node.NodeUnstageVolume(
            csi_pb2.NodeUnstageVolumeRequest(volume_id=volume_id, staging_target_path=staging)
        )
        assert not mounts_at(staging)
    assert os.path.isdir(staging)  # the CO's directory stays
    for _ in range(repeat):
        cc.ControllerUnpublishVolume(
            csi_pb2.ControllerUnpublishVolumeRequest(volume_id=volume_id, node_id="node-a")
        )
    for _ in range(repeat):
        cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume_id))
    assert not namespaces_named(served.state_path, volume_id)


def check_filesystem(served, fstype="ext4"):
    def check(volume, staging, target):
        (staged,) = mounts_at(staging)
        assert staged.fstype == fstype
        assert not any(o.startswith("dax") for o in staged.super_options + staged.options)  # loop: no DAX
        (published,) = mounts_at(target)
        assert published.fstype == fstype and (published.major, published.minor) == (
            staged.major,
            staged.minor,
        )
        with open(os.path.join(target, "hello.txt"), "w") as handle:
            handle.write("persistent")
        assert read_text(os.path.join(staging, "hello.txt")) == "persistent"
        stats = served.node.NodeGetVolumeStats(
            csi_pb2.NodeGetVolumeStatsRequest(
                volume_id=volume.volume_id, volume_path=target, staging_target_path=staging
            )
        )
        units = {u.unit: u for u in stats.usage}
        by = units[csi_pb2.VolumeUsage.BYTES]
        assert 0 < by.total <= volume.capacity_bytes and 0 < by.available < by.total and by.used > 0
        inodes = units[csi_pb2.VolumeUsage.INODES]
        assert inodes.total > 0 and inodes.used > 0
        assert stats.volume_condition.abnormal is False
        got = served.controller.ControllerGetVolume(
            csi_pb2.ControllerGetVolumeRequest(volume_id=volume.volume_id)
        )
        assert got.status.volume_condition.abnormal is False
        busy = rpc_error(
            served.controller.DeleteVolume, csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id)
        )
        assert busy.code() == Code.FAILED_PRECONDITION and "staged or published" in busy.details()

    return check


def check_block(served):
    def check(volume, staging, target):
        st = os.stat(target)
        assert stat.S_ISBLK(st.st_mode)
        with open(target, "r+b") as device:
            device.write(b"block-data")
            device.flush()
            os.fsync(device.fileno())
            device.seek(0)
            assert device.read(10) == b"block-data"
        stats = served.node.NodeGetVolumeStats(
            csi_pb2.NodeGetVolumeStatsRequest(volume_id=volume.volume_id, volume_path=target)
        )
        assert (
            stats.usage[0].unit == csi_pb2.VolumeUsage.BYTES and stats.usage[0].total == volume.capacity_bytes
        )
        busy = rpc_error(
            served.controller.DeleteVolume, csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id)
        )
        assert busy.code() == Code.FAILED_PRECONDITION

    return check


def test_filesystem_lifecycle(node_env):
    served = node_env()
    lifecycle(served, "pvc-fs", mount_cap(), check=check_filesystem(served))


def test_block_lifecycle(node_env):
    served = node_env()
    lifecycle(served, "pvc-block", block_cap(), check=check_block(served))


@pytest.mark.skipif(not shutil.which("mkfs.xfs"), reason="xfsprogs not installed")
def test_xfs_lifecycle(node_env):
    served = node_env()
    lifecycle(served, "pvc-xfs", mount_cap("xfs"), size=512 * MIB, check=check_filesystem(served, "xfs"))


def test_sector_mode_lifecycle(node_env):
    served = node_env()
    cc = served.controller
    volume = cc.CreateVolume(create_request("pvc-sector", 64 * MIB, mode="sector")).volume
    staging, target = co_paths(served, "pvc-sector")
    served.node.NodeStageVolume(stage_request(volume.volume_id, staging, mount_cap()))
    served.node.NodePublishVolume(publish_request(volume.volume_id, staging, target, mount_cap()))
    assert mounts_at(target)[0].fstype == "ext4"
    served.node.NodeUnpublishVolume(
        csi_pb2.NodeUnpublishVolumeRequest(volume_id=volume.volume_id, target_path=target)
    )
    served.node.NodeUnstageVolume(
        csi_pb2.NodeUnstageVolumeRequest(volume_id=volume.volume_id, staging_target_path=staging)
    )
    cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id))


@pytest.mark.slow
def test_each_lifecycle_repeated_ten_times(node_env):
    served = node_env()
    for round_ in range(10):
        lifecycle(served, f"pvc-fs-{round_ % 2}", mount_cap(), repeat=2)
        lifecycle(served, f"pvc-blk-{round_ % 2}", block_cap(), repeat=2)


def test_data_survives_unstage_and_restage(node_env):
    served = node_env()
    cc, node = served.controller, served.node
    volume = cc.CreateVolume(create_request("pvc-keep")).volume
    staging, target = co_paths(served, "pvc-keep")
    for round_ in range(2):
        node.NodeStageVolume(stage_request(volume.volume_id, staging, mount_cap()))
        node.NodePublishVolume(publish_request(volume.volume_id, staging, target, mount_cap()))
        path = os.path.join(target, "kept")
        if round_ == 0:
            with open(path, "w") as handle:
                handle.write("still here")
        else:
            assert read_text(path) == "still here"  # no second mkfs
        node.NodeUnpublishVolume(
            csi_pb2.NodeUnpublishVolumeRequest(volume_id=volume.volume_id, target_path=target)
        )
        node.NodeUnstageVolume(
            csi_pb2.NodeUnstageVolumeRequest(volume_id=volume.volume_id, staging_target_path=staging)
        )


def test_readonly_publish(node_env):
    served = node_env()
    cc, node = served.controller, served.node
    volume = cc.CreateVolume(create_request("pvc-ro")).volume
    staging, target = co_paths(served, "pvc-ro")
    node.NodeStageVolume(stage_request(volume.volume_id, staging, mount_cap()))
    node.NodePublishVolume(
        publish_request(volume.volume_id, staging, target, mount_cap(flags=["noexec"]), readonly=True)
    )
    (entry,) = mounts_at(target)
    assert entry.read_only and "noexec" in entry.options
    with pytest.raises(OSError) as info, open(os.path.join(target, "x"), "w"):
        pass
    assert info.value.errno == errno.EROFS
    # Same target, different read-only flag: ALREADY_EXISTS.
    again = rpc_error(node.NodePublishVolume, publish_request(volume.volume_id, staging, target, mount_cap()))
    assert again.code() == Code.ALREADY_EXISTS
    node.NodeUnpublishVolume(
        csi_pb2.NodeUnpublishVolumeRequest(volume_id=volume.volume_id, target_path=target)
    )


def test_block_readonly_publish(node_env):
    served = node_env()
    cc, node = served.controller, served.node
    volume = cc.CreateVolume(create_request("pvc-bro", caps=[block_cap()])).volume
    staging, target = co_paths(served, "pvc-bro")
    node.NodeStageVolume(stage_request(volume.volume_id, staging, block_cap()))
    node.NodePublishVolume(publish_request(volume.volume_id, staging, target, block_cap(), readonly=True))
    assert mounts_at(target)[0].read_only
    node.NodeUnpublishVolume(
        csi_pb2.NodeUnpublishVolumeRequest(volume_id=volume.volume_id, target_path=target)
    )
    assert not os.path.lexists(target)


def test_no_volume_exposes_an_earlier_volumes_data(node_env):
    served = node_env()
    secret = b"TOP-SECRET-" * 1000
    offsets = []
    for round_ in range(2):
        volume = served.controller.CreateVolume(
            create_request("pvc-secret", 64 * MIB, region="region0")
        ).volume
        (ns,) = namespaces_named(served.state_path, volume.volume_id)
        device = os.path.join(served.config.dev_dir, ns["blockdev"])
        with open(device, "rb") as handle:
            head = handle.read(len(secret))
            handle.seek(-len(secret), os.SEEK_END)
            tail = handle.read(len(secret))
        assert head == bytes(len(secret)) and tail == bytes(len(secret)), f"round {round_}: old data visible"
        state = json.loads(read_text(served.state_path))
        offsets.append(
            next(
                n["loop"]["offset"]
                for r in state["regions"]
                for n in r["namespaces"]
                if n.get("name") == volume.volume_id
            )
        )
        with open(device, "r+b") as handle:
            handle.write(secret)
            handle.seek(-len(secret), os.SEEK_END)
            handle.write(secret)
            os.fsync(handle.fileno())
        served.controller.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id))
    assert offsets[0] == offsets[1]  # the second volume really sat on the first one's extents


def test_without_the_erase_old_data_would_show(node_env):
    """Control for the test above: PMem (and the simulator) keep data across destroy/create."""

    class NoErase:
        def erase(self, device):
            pass

    served = node_env(eraser=NoErase())
    marker = b"LEFTOVER" * 512
    volume = served.controller.CreateVolume(create_request("pvc-leak", 64 * MIB, region="region0")).volume
    (ns,) = namespaces_named(served.state_path, volume.volume_id)
    device = os.path.join(served.config.dev_dir, ns["blockdev"])
    with open(device, "r+b") as handle:
        handle.write(marker)
        os.fsync(handle.fileno())
    served.controller.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id))
    again = served.controller.CreateVolume(create_request("pvc-leak2", 64 * MIB, region="region0")).volume
    (ns2,) = namespaces_named(served.state_path, again.volume_id)
    with open(os.path.join(served.config.dev_dir, ns2["blockdev"]), "rb") as handle:
        assert handle.read(len(marker)) == marker


def test_dax_always_fails_cleanly_on_loop_devices(node_env):
    served = node_env(dax="always")
    volume = served.controller.CreateVolume(create_request("pvc-dax")).volume
    staging, _ = co_paths(served, "pvc-dax")
    error = rpc_error(served.node.NodeStageVolume, stage_request(volume.volume_id, staging, mount_cap()))
    assert error.code() == Code.INTERNAL and "mount" in error.details()
    assert not mounts_at(staging)


def test_node_error_codes(node_env):
    served = node_env()
    cc, node = served.controller, served.node
    volume = cc.CreateVolume(create_request("pvc-err")).volume
    vid = volume.volume_id
    staging, target = co_paths(served, "pvc-err")
    unknown = naming.volume_id_for("nope")

    def code(call, request):
        return rpc_error(call, request).code()

    # NodeStageVolume
    assert code(node.NodeStageVolume, stage_request("", staging, mount_cap())) == Code.INVALID_ARGUMENT
    assert code(node.NodeStageVolume, stage_request(vid, "", mount_cap())) == Code.INVALID_ARGUMENT
    assert code(
        node.NodeStageVolume, csi_pb2.NodeStageVolumeRequest(volume_id=vid, staging_target_path=staging)
    ) == (Code.INVALID_ARGUMENT)
    assert code(node.NodeStageVolume, stage_request(unknown, staging, mount_cap())) == Code.NOT_FOUND
    assert (
        code(node.NodeStageVolume, stage_request(vid, staging, mount_cap("btrfs"))) == Code.INVALID_ARGUMENT
    )
    multi = mount_cap(mode=AccessMode.MULTI_NODE_MULTI_WRITER)
    assert code(node.NodeStageVolume, stage_request(vid, staging, multi)) == Code.INVALID_ARGUMENT
    # NodePublishVolume before staging, without staging path, without target
    assert (
        code(node.NodePublishVolume, publish_request(vid, staging, target, mount_cap()))
        == Code.FAILED_PRECONDITION
    )
    assert (
        code(node.NodePublishVolume, publish_request(vid, "", target, mount_cap()))
        == Code.FAILED_PRECONDITION
    )
    assert (
        code(node.NodePublishVolume, publish_request(vid, staging, "", mount_cap())) == Code.INVALID_ARGUMENT
    )
    assert (
        code(node.NodePublishVolume, publish_request("", staging, target, mount_cap()))
        == Code.INVALID_ARGUMENT
    )
    no_cap = csi_pb2.NodePublishVolumeRequest(volume_id=vid, staging_target_path=staging, target_path=target)
    assert code(node.NodePublishVolume, no_cap) == Code.INVALID_ARGUMENT
    assert (
        code(node.NodePublishVolume, publish_request(unknown, staging, target, mount_cap())) == Code.NOT_FOUND
    )
    assert not os.path.lexists(target)  # nothing half-done
    # Stage, then a different filesystem at the same path / a different volume at the same path.
    node.NodeStageVolume(stage_request(vid, staging, mount_cap()))
    assert code(node.NodeStageVolume, stage_request(vid, staging, mount_cap("xfs"))) in (
        Code.ALREADY_EXISTS,
        Code.FAILED_PRECONDITION,
    )
    assert code(node.NodeStageVolume, stage_request(vid, staging, block_cap())) == Code.ALREADY_EXISTS
    other = cc.CreateVolume(create_request("pvc-err-2")).volume
    assert (
        code(node.NodeStageVolume, stage_request(other.volume_id, staging, mount_cap()))
        == Code.ALREADY_EXISTS
    )
    # A volume with ext4 on it cannot be staged as xfs elsewhere.
    node.NodeUnstageVolume(csi_pb2.NodeUnstageVolumeRequest(volume_id=vid, staging_target_path=staging))
    assert (
        code(node.NodeStageVolume, stage_request(vid, staging, mount_cap("xfs"))) == Code.FAILED_PRECONDITION
    )
    # NodeUnstage / NodeUnpublish
    assert code(node.NodeUnstageVolume, csi_pb2.NodeUnstageVolumeRequest(staging_target_path=staging)) == (
        Code.INVALID_ARGUMENT
    )
    assert (
        code(node.NodeUnstageVolume, csi_pb2.NodeUnstageVolumeRequest(volume_id=vid)) == Code.INVALID_ARGUMENT
    )
    assert (
        code(
            node.NodeUnstageVolume,
            csi_pb2.NodeUnstageVolumeRequest(volume_id=unknown, staging_target_path=staging),
        )
        == Code.NOT_FOUND
    )
    assert code(node.NodeUnpublishVolume, csi_pb2.NodeUnpublishVolumeRequest(target_path=target)) == (
        Code.INVALID_ARGUMENT
    )
    assert (
        code(node.NodeUnpublishVolume, csi_pb2.NodeUnpublishVolumeRequest(volume_id=vid))
        == Code.INVALID_ARGUMENT
    )
    assert (
        code(
            node.NodeUnpublishVolume,
            csi_pb2.NodeUnpublishVolumeRequest(volume_id=unknown, target_path=target),
        )
        == Code.NOT_FOUND
    )
    # NodeGetVolumeStats
    stats = csi_pb2.NodeGetVolumeStatsRequest
    assert code(node.NodeGetVolumeStats, stats(volume_path=target)) == Code.INVALID_ARGUMENT
    assert code(node.NodeGetVolumeStats, stats(volume_id=vid)) == Code.INVALID_ARGUMENT
    assert code(node.NodeGetVolumeStats, stats(volume_id=unknown, volume_path=staging)) == Code.NOT_FOUND
    assert code(node.NodeGetVolumeStats, stats(volume_id=vid, volume_path=target)) == Code.NOT_FOUND


def test_hostile_paths_and_ids_are_rejected(node_env, tmp_path):
    served = node_env()
    cc, node = served.controller, served.node
    volume = cc.CreateVolume(create_request("pvc-hostile")).volume
    vid = volume.volume_id
    staging, _ = co_paths(served, "pvc-hostile")
    outside = tmp_path / "outside"
    outside.mkdir()
    (served.kubelet / "pods" / "evil").symlink_to(outside)
    bad_paths = [
        "/etc",
        str(outside),
        staging + "/../../../../../../etc",
        str(served.kubelet / "pods" / "evil" / "mount"),
        "relative/target",
        staging + "/",
    ]
    for path in bad_paths:
        error = rpc_error(node.NodeStageVolume, stage_request(vid, path, mount_cap()))
        assert error.code() == Code.INVALID_ARGUMENT, path
        error = rpc_error(node.NodePublishVolume, publish_request(vid, staging, path, mount_cap()))
        assert error.code() == Code.INVALID_ARGUMENT, path
        error = rpc_error(
            node.NodeUnpublishVolume, csi_pb2.NodeUnpublishVolumeRequest(volume_id=vid, target_path=path)
        )
        assert error.code() == Code.INVALID_ARGUMENT, path
    for bad_id in ("../../dev/sda", "csi-" + "0" * 39 + "g", "x;rm -rf /", "$(reboot)"):
        error = rpc_error(node.NodeStageVolume, stage_request(bad_id, staging, mount_cap()))
        assert error.code() == Code.NOT_FOUND
    for flag in ("bind", "dax=never", "x-mount.mkdir", "remount"):
        error = rpc_error(node.NodeStageVolume, stage_request(vid, staging, mount_cap(flags=[flag])))
        assert error.code() == Code.INVALID_ARGUMENT
    assert not any(e.mount_point.startswith(str(served.kubelet)) for e in read_mounts())
    assert not os.listdir(outside)


def test_unpublish_refuses_to_unmount_another_volume(node_env):
    served = node_env()
    cc, node = served.controller, served.node
    first = cc.CreateVolume(create_request("pvc-a")).volume
    second = cc.CreateVolume(create_request("pvc-b")).volume
    staging, target = co_paths(served, "pvc-a")
    node.NodeStageVolume(stage_request(first.volume_id, staging, mount_cap()))
    node.NodePublishVolume(publish_request(first.volume_id, staging, target, mount_cap()))
    error = rpc_error(
        node.NodeUnpublishVolume,
        csi_pb2.NodeUnpublishVolumeRequest(volume_id=second.volume_id, target_path=target),
    )
    assert error.code() == Code.FAILED_PRECONDITION
    assert mounts_at(target)
    node.NodeUnpublishVolume(
        csi_pb2.NodeUnpublishVolumeRequest(volume_id=first.volume_id, target_path=target)
    )


def test_node_capabilities_and_info(node_env):
    served = node_env(max_volumes_per_node=7)
    caps = served.node.NodeGetCapabilities(csi_pb2.NodeGetCapabilitiesRequest())
    assert {c.rpc.type for c in caps.capabilities} == {
        NodeRPC.STAGE_UNSTAGE_VOLUME,
        NodeRPC.GET_VOLUME_STATS,
        NodeRPC.VOLUME_CONDITION,
    }
    info = served.node.NodeGetInfo(csi_pb2.NodeGetInfoRequest())
    assert info.node_id == "node-a" and info.max_volumes_per_node == 7
    assert dict(info.accessible_topology.segments) == {"optane.csi.pmem.io/node": "node-a"}


def test_block_publish_onto_a_precreated_empty_directory(node_env):
    """csi-sanity creates every target as a directory; a block volume still publishes."""
    served = node_env()
    volume = served.controller.CreateVolume(create_request("pvc-bdir", caps=[block_cap()])).volume
    staging, target = co_paths(served, "pvc-bdir")
    os.mkdir(target)
    served.node.NodeStageVolume(stage_request(volume.volume_id, staging, block_cap()))
    served.node.NodePublishVolume(publish_request(volume.volume_id, staging, target, block_cap()))
    assert stat.S_ISBLK(os.stat(target).st_mode)
    served.node.NodeUnpublishVolume(
        csi_pb2.NodeUnpublishVolumeRequest(volume_id=volume.volume_id, target_path=target)
    )
    assert not os.path.lexists(target)
    # A non-empty directory is never removed.
    os.mkdir(target)
    (Path(target) / "keep").write_text("x")
    error = rpc_error(
        served.node.NodePublishVolume, publish_request(volume.volume_id, staging, target, block_cap())
    )
    assert error.code() == Code.FAILED_PRECONDITION
    assert (Path(target) / "keep").exists()


def test_erase_clearing_is_on_disk_before_the_volume_is_staged(node_env, monkeypatch):
    # CreateVolume leaves its erase clearing in the page cache; NodeStageVolume must sync it
    # before mkfs writes to the volume, or a power cut could erase the volume's data at the next start.
    served = node_env()
    journal = os.path.join(served.config.state_dir, "erase-journal")
    events: list[str] = []
    real_sync, mounter = os.fdatasync, served.driver.mounter
    real_mkfs = mounter.mkfs

    def fdatasync(fd: int) -> None:
        if os.path.realpath(f"/proc/self/fd/{fd}") == journal:
            events.append("sync journal")
        real_sync(fd)

    def mkfs(*args, **kwargs):
        events.append("mkfs")
        return real_mkfs(*args, **kwargs)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(mounter, "mkfs", mkfs)
    cap = mount_cap()
    volume_id = served.controller.CreateVolume(
        create_request("pvc-durable", 64 * MIB, caps=[cap])
    ).volume.volume_id
    assert events == ["sync journal"]  # the mark, before ndctl; the clearing is not synced yet
    with open(journal) as handle:
        assert handle.read().splitlines()[-1] == f"- {volume_id}"
    staging, _target = co_paths(served, "pvc-durable")
    served.node.NodeStageVolume(stage_request(volume_id, staging, cap))
    assert events == ["sync journal", "sync journal", "mkfs"]
    served.node.NodeUnstageVolume(
        csi_pb2.NodeUnstageVolumeRequest(volume_id=volume_id, staging_target_path=staging)
    )
