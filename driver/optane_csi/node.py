"""CSI Node service: stage (mkfs + mount, DAX when the device offers it), publish (bind), stats.

All state comes from the kernel: what is mounted where is read from
/proc/self/mountinfo, which volume is which from `ndctl list`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import struct

from ._gen import csi_pb2, csi_pb2_grpc
from .controller import check_capabilities
from .errors import AlreadyExists, FailedPrecondition, InvalidArgument, VolumeNotFound
from .mounts import (
    BIND_REMOUNT_FLAGS,
    DEFAULT_FILESYSTEM,
    check_mount_flags,
    dax_capable,
    device_rdev,
    mount_uses_device,
    mounts_at,
    read_mounts,
)
from .paths import check_path
from .volumes import check_volume_id

Unit = csi_pb2.VolumeUsage.Unit
BLKGETSIZE64 = 0x80081272


class NodeService(csi_pb2_grpc.NodeServicer):
    def __init__(self, driver) -> None:
        self.driver = driver
        self.config = driver.config
        self.backend = driver.backend
        self.mounter = driver.mounter

    # --- helpers -----------------------------------------------------------------------

    def _path(self, value: str, field: str) -> str:
        return check_path(value, field, self.config.kubelet_dirs)

    def _namespace(self, volume_id: str):
        namespace = self.backend.find(volume_id)
        if namespace is None:
            raise VolumeNotFound(f"volume {volume_id} does not exist on node {self.config.node_id}")
        return namespace

    def _device(self, namespace) -> tuple[str, int]:
        device = self.backend.device_path(namespace)
        try:
            return device, device_rdev(device)
        except FileNotFoundError:
            raise FailedPrecondition(f"block device {device} of volume {namespace.name} is missing") from None

    def _lock(self, key: str):
        return self.backend.locks.hold(key, self.config.lock_timeout)

    def _mount_options(self, namespace, device: str, cap) -> list[str]:
        options = check_mount_flags(list(cap.mount.mount_flags))
        if cap.access_mode.mode == csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_READER_ONLY:
            options.append("ro")
        dax = self.config.dax
        if namespace.mode == "fsdax" and (dax == "always" or (dax == "auto" and dax_capable(device))):
            options.insert(0, "dax=always")
        return options

    # --- stage -------------------------------------------------------------------------

    def NodeStageVolume(self, request, context):
        volume_id = check_volume_id(request.volume_id)
        staging = self._path(request.staging_target_path, "staging_target_path")
        if not request.HasField("volume_capability"):
            raise InvalidArgument("volume_capability", "is required")
        cap = request.volume_capability
        check_capabilities([cap], "volume_capability")
        with self._lock(volume_id):
            namespace = self._namespace(volume_id)
            # Before anything can write to the volume, its erase clearing must be on disk.
            self.backend.pending.make_durable()
            device, rdev = self._device(namespace)
            if not os.path.isdir(staging):
                raise InvalidArgument(
                    "staging_target_path", "must be an existing directory (the CO creates it)"
                )
            if cap.WhichOneof("access_type") == "block":
                if any(mount_uses_device(e, rdev) for e in mounts_at(staging)):
                    raise AlreadyExists(
                        f"volume {volume_id} is staged at {staging} with a filesystem, not as block"
                    )
                return csi_pb2.NodeStageVolumeResponse()  # raw block: nothing to prepare
            fstype = cap.mount.fs_type or DEFAULT_FILESYSTEM
            options = self._mount_options(namespace, device, cap)
            current = mounts_at(staging)
            if current:
                entry = current[-1]
                if mount_uses_device(entry, rdev) and entry.fstype == fstype:
                    return csi_pb2.NodeStageVolumeResponse()
                raise AlreadyExists(f"{staging} already holds a different mount ({entry.fstype})")
            found = self.mounter.filesystem_of(device)
            if found is None:
                self.mounter.mkfs(device, fstype)
            elif found != fstype:
                raise FailedPrecondition(f"volume {volume_id} holds a {found} filesystem, not {fstype}")
            self.mounter.mount(device, staging, fstype=fstype, options=options)
        return csi_pb2.NodeStageVolumeResponse()

    def NodeUnstageVolume(self, request, context):
        volume_id = check_volume_id(request.volume_id)
        staging = self._path(request.staging_target_path, "staging_target_path")
        with self._lock(volume_id):
            namespace = self._namespace(volume_id)
            _, rdev = self._device(namespace)
            for _ in range(8):  # stacked mounts, bounded
                current = mounts_at(staging)
                if not current:
                    break
                if not mount_uses_device(current[-1], rdev):
                    raise FailedPrecondition(f"{staging} holds a mount that is not volume {volume_id}")
                self.mounter.umount(staging)
        return csi_pb2.NodeUnstageVolumeResponse()

    # --- publish -----------------------------------------------------------------------

    def NodePublishVolume(self, request, context):
        volume_id = check_volume_id(request.volume_id)
        target = self._path(request.target_path, "target_path")
        if not request.HasField("volume_capability"):
            raise InvalidArgument("volume_capability", "is required")
        cap = request.volume_capability
        check_capabilities([cap], "volume_capability")
        if not request.staging_target_path:
            raise FailedPrecondition("staging_target_path is required: the driver has STAGE_UNSTAGE_VOLUME")
        staging = self._path(request.staging_target_path, "staging_target_path")
        if not os.path.isdir(os.path.dirname(target)):
            raise InvalidArgument("target_path", "its parent directory must exist (the CO creates it)")
        block = cap.WhichOneof("access_type") == "block"
        readonly = request.readonly or (
            cap.access_mode.mode == csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_READER_ONLY
        )
        flags = (
            []
            if block
            else [f for f in check_mount_flags(list(cap.mount.mount_flags)) if f in BIND_REMOUNT_FLAGS]
        )
        if readonly:
            flags = [f for f in flags if f != "rw"] + ["ro"]
        with self._lock(volume_id):
            namespace = self._namespace(volume_id)
            self.backend.pending.make_durable()  # as in NodeStageVolume
            device, rdev = self._device(namespace)
            current = mounts_at(target)
            if current:
                entry = current[-1]
                if mount_uses_device(entry, rdev) and entry.read_only == readonly:
                    return csi_pb2.NodePublishVolumeResponse()
                raise AlreadyExists(
                    f"{target} is already published with a different volume or read-only flag"
                )
            if block:
                self._publish_block(device, target, flags)
            else:
                staged = mounts_at(staging)
                if not staged or not mount_uses_device(staged[-1], rdev):
                    raise FailedPrecondition(f"volume {volume_id} is not staged at {staging}")
                self._publish_mount(staging, target, flags)
        return csi_pb2.NodePublishVolumeResponse()

    def _publish_mount(self, staging: str, target: str, flags: list[str]) -> None:
        created = False
        try:
            os.mkdir(target, 0o750)
            created = True
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(target).st_mode):
                raise FailedPrecondition(f"{target} exists and is not a directory") from None
        try:
            self.mounter.bind(staging, target, options=flags)
        except BaseException:
            self._undo(target, created)
            raise

    def _publish_block(self, device: str, target: str, flags: list[str]) -> None:
        created = False
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
            os.close(fd)
            created = True
        except FileExistsError:
            mode = os.lstat(target).st_mode
            if stat.S_ISDIR(mode) and not os.listdir(target):
                # Some COs (csi-sanity) pre-create every target as a directory: a device
                # node can only be bound onto a file, so an empty directory is replaced.
                os.rmdir(target)
                return self._publish_block(device, target, flags)
            if not stat.S_ISREG(mode):
                raise FailedPrecondition(f"{target} exists and is not a regular file") from None
        try:
            self.mounter.bind(device, target, options=flags)
        except BaseException:
            self._undo(target, created)
            raise

    def _undo(self, target: str, created: bool) -> None:
        if mounts_at(target):
            with contextlib.suppress(Exception):
                self.mounter.umount(target)
        if created and not mounts_at(target):
            with contextlib.suppress(OSError):
                if os.path.isdir(target):
                    os.rmdir(target)
                else:
                    os.unlink(target)

    def NodeUnpublishVolume(self, request, context):
        volume_id = check_volume_id(request.volume_id)
        target = self._path(request.target_path, "target_path")
        with self._lock(volume_id):
            namespace = self.backend.find(volume_id)
            for _ in range(8):  # stacked mounts, bounded
                current = mounts_at(target)
                if not current:
                    break
                if namespace is None or not mount_uses_device(current[-1], self._device(namespace)[1]):
                    raise FailedPrecondition(f"{target} holds a mount that is not volume {volume_id}")
                self.mounter.umount(target)
            if os.path.lexists(target):
                if os.path.isdir(target) and not os.path.islink(target):
                    if os.listdir(target):
                        raise FailedPrecondition(
                            f"{target} is not mounted and not empty; refusing to delete it"
                        )
                    os.rmdir(target)
                else:
                    os.unlink(target)
            elif namespace is None:
                raise VolumeNotFound(f"volume {volume_id} does not exist on node {self.config.node_id}")
        return csi_pb2.NodeUnpublishVolumeResponse()

    # --- stats, capabilities, info -----------------------------------------------------

    def NodeGetVolumeStats(self, request, context):
        volume_id = check_volume_id(request.volume_id)
        if not request.volume_path:
            raise InvalidArgument("volume_path", "is required")
        namespace = self._namespace(volume_id)
        _, rdev = self._device(namespace)
        try:
            path = self._path(request.volume_path, "volume_path")
        except InvalidArgument:
            # A read-only question: a path the driver would never use holds none of its volumes.
            raise VolumeNotFound(
                f"volume {volume_id} is not staged or published at that volume_path"
            ) from None
        entries = [e for e in read_mounts() if e.mount_point == path]
        if not entries or not mount_uses_device(entries[-1], rdev):
            raise VolumeNotFound(f"volume {volume_id} is not staged or published at {path}")
        abnormal, message = self.backend.condition(namespace)
        st = os.stat(path)
        if stat.S_ISBLK(st.st_mode):
            usage = [csi_pb2.VolumeUsage(total=self._block_size(path), unit=Unit.BYTES)]
        else:
            vfs = os.statvfs(path)
            total = vfs.f_blocks * vfs.f_frsize
            available = vfs.f_bavail * vfs.f_frsize
            used = (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize
            usage = [
                csi_pb2.VolumeUsage(total=total, available=available, used=used, unit=Unit.BYTES),
                csi_pb2.VolumeUsage(
                    total=vfs.f_files,
                    available=vfs.f_favail,
                    used=vfs.f_files - vfs.f_ffree,
                    unit=Unit.INODES,
                ),
            ]
            if "ro" in entries[-1].super_options and not entries[-1].read_only:
                abnormal, message = True, "the filesystem was remounted read-only (I/O errors?)"
        return csi_pb2.NodeGetVolumeStatsResponse(
            usage=usage, volume_condition=csi_pb2.VolumeCondition(abnormal=abnormal, message=message)
        )

    @staticmethod
    def _block_size(path: str) -> int:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            return struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]
        finally:
            os.close(fd)

    def NodeGetCapabilities(self, request, context):
        return self.driver.capabilities.node_response()

    def NodeGetInfo(self, request, context):
        return csi_pb2.NodeGetInfoResponse(
            node_id=self.config.node_id,
            max_volumes_per_node=self.config.max_volumes_per_node,
            accessible_topology=csi_pb2.Topology(segments={self.config.topology_key: self.config.node_id}),
        )
