"""Volumes = driver-owned namespaces. Ids, parameters, sizes, locks, erase and recovery.

The namespaces are the source of truth: a volume id is the namespace name
(naming.volume_id_for(csi name)), so a retry or a restarted driver finds every
volume with one `ndctl list`. The only file the driver keeps is a write-ahead
journal of the volumes whose erase has not finished (state_dir/erase-journal):
a crash between `ndctl create-namespace` and the end of the erase leaves the
mark, and the retry (or the next start) erases before anyone can see old data.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import logging as log
from . import pmemlib
from .config import Config
from .errors import (
    Aborted,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    OutOfRange,
)

naming = pmemlib.naming
sizes = pmemlib.load("sizes")
ndctl_mod = pmemlib.load("ndctl")
hostlock = pmemlib.load("hostlock")
model = pmemlib.load("model")

LOG = log.get("volumes")
VOLUME_MODES = ("fsdax", "sector")
# StorageClass parameters the driver understands; Kubernetes' own keys are ignored.
PARAM_MODE = "mode"
PARAM_REGION = "region"
PARAM_NUMA = "numaNode"
KNOWN_PARAMETERS = (PARAM_MODE, PARAM_REGION, PARAM_NUMA)
IGNORED_PARAMETER_PREFIXES = ("csi.storage.k8s.io/",)
MAX_ID_LENGTH = 128
# Failures after which no namespace can exist (anything else may have created one).
NOT_CREATED_ERRORS = (
    pmemlib.errors.InsufficientCapacity,
    pmemlib.errors.BadSize,
    pmemlib.errors.BadAlignment,
    pmemlib.errors.InvalidRequest,
    pmemlib.errors.LockTimeout,
)
_BLOCKDEV_RE = re.compile(r"^pmem[0-9]{1,4}(\.[0-9]{1,4})?s?$")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
DEVICE_WAIT_SECONDS = 2.0
DEVICE_WAIT_POLLS = 40
BLKZEROOUT = 0x127F  # _IO(0x12, 127)
BLKGETSIZE64 = 0x80081272


def check_name(name: str) -> str:
    if not name:
        raise InvalidArgument("name", "is required")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_ID_LENGTH or _CONTROL_RE.search(name):
        raise InvalidArgument("name", "must be at most 128 bytes without control characters")
    return name


def check_volume_id(volume_id: str, field: str = "volume_id") -> str:
    """INVALID_ARGUMENT when missing or malformed text.

    Whether the id can be one of ours (csi-<40 hex>) is decided later, by Backend.find():
    a caller first learns about every missing field, then about a volume that does not exist.
    """
    if not volume_id:
        raise InvalidArgument(field, "is required")
    if len(volume_id) > MAX_ID_LENGTH or _CONTROL_RE.search(volume_id):
        raise InvalidArgument(field, "must be at most 128 characters without control characters")
    return volume_id


@dataclass(frozen=True)
class VolumeParams:
    mode: str = "fsdax"
    region: str | None = None
    numa_node: int | None = None


def parse_parameters(parameters: Mapping[str, str], field: str = "parameters") -> VolumeParams:
    for key in parameters:
        if key not in KNOWN_PARAMETERS and not key.startswith(IGNORED_PARAMETER_PREFIXES):
            raise InvalidArgument(
                f"{field}.{key}", f"unknown parameter; known: {', '.join(KNOWN_PARAMETERS)}"
            )
    mode = parameters.get(PARAM_MODE, "fsdax") or "fsdax"
    if mode not in VOLUME_MODES:
        raise InvalidArgument(f"{field}.{PARAM_MODE}", "must be fsdax (default) or sector")
    region = parameters.get(PARAM_REGION) or None
    if region is not None:
        if not re.match(r"^(region)?[0-9]{1,4}$", region):
            raise InvalidArgument(f"{field}.{PARAM_REGION}", "must be a region name such as region0")
        region = region if region.startswith("region") else f"region{region}"
    numa = parameters.get(PARAM_NUMA) or None
    numa_node = None
    if numa is not None:
        if not re.match(r"^[0-9]{1,4}$", numa):
            raise InvalidArgument(f"{field}.{PARAM_NUMA}", "must be a NUMA node number such as 0")
        numa_node = int(numa)
    return VolumeParams(mode=mode, region=region, numa_node=numa_node)


def candidate_regions(inventory, params: VolumeParams, field: str = "parameters") -> list:
    regions = []
    for region in inventory.regions:
        if region.type != "pmem" or not region.enabled or region.label_less:
            continue
        if params.region and region.dev != params.region:
            continue
        if params.numa_node is not None and region.numa_node != params.numa_node:
            continue
        regions.append(region)
    if params.region and not any(r.dev == params.region for r in inventory.regions):
        raise InvalidArgument(f"{field}.{PARAM_REGION}", f"{params.region} does not exist on this node")
    return regions


def _granule(region, mode: str) -> int:
    return sizes.size_granule(mode, region.align or sizes.REGION_ALIGN_BYTES, region.interleave_ways)


def raw_size_for(region, mode: str, required: int, limit: int, default: int) -> int:
    """Raw namespace size honouring [required, limit] after alignment rounding, else OUT_OF_RANGE."""
    want = required or (min(default, limit) if limit else default)
    raw = sizes.request_for(region, mode, want)
    if limit and sizes.usable_size(mode, raw) > limit:
        # Alignment rounded past the limit: step down one granule at a time (bounded).
        granule = _granule(region, mode)
        for _ in range(64):
            raw -= granule
            if raw < sizes.MIN_NAMESPACE_BYTES or sizes.usable_size(mode, raw) <= limit:
                break
        usable = sizes.usable_size(mode, raw)
        if raw < sizes.MIN_NAMESPACE_BYTES or usable > limit or usable < required:
            raise OutOfRange(
                f"capacity_range: no {mode} namespace size fits between {required} and {limit} bytes "
                f"(sizes come in steps of {granule} bytes)"
            )
    return raw


def check_capacity_range(capacity_range) -> tuple[int, int]:
    required, limit = capacity_range.required_bytes, capacity_range.limit_bytes
    if required < 0 or limit < 0:
        raise InvalidArgument("capacity_range", "required_bytes and limit_bytes must not be negative")
    if limit and required > limit:
        raise OutOfRange("capacity_range: required_bytes is larger than limit_bytes")
    return required, limit


class KeyedLocks:
    """One lock per volume id/name inside this process; a waiter gives up with ABORTED."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, list] = {}

    @contextlib.contextmanager
    def hold(self, key: str, timeout: float) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            if not entry[0].acquire(timeout=timeout):
                raise Aborted(f"another operation on {key} is still running; retry later")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._locks.pop(key, None)


class ZeroEraser:
    """Zeroes a namespace's block device (BLKZEROOUT, or plain writes when unsupported)."""

    CHUNK = 8 << 20

    def __init__(self) -> None:
        self.erased: list[str] = []

    def erase(self, device: str) -> None:
        # O_EXCL on a block device fails with EBUSY when it is mounted: never erase a device in use.
        try:
            fd = os.open(device, os.O_WRONLY | os.O_EXCL | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                raise FailedPrecondition(f"{device} is in use; refusing to erase it") from exc
            raise Internal(f"cannot open {device} to erase it: {exc.strerror}") from exc
        try:
            if not stat.S_ISBLK(os.fstat(fd).st_mode):
                raise Internal(f"{device} is not a block device; refusing to erase it")
            size = struct.unpack("Q", fcntl.ioctl(fd, BLKGETSIZE64, b"\0" * 8))[0]
            try:
                fcntl.ioctl(fd, BLKZEROOUT, struct.pack("QQ", 0, size))
            except OSError:
                zeros = bytes(self.CHUNK)
                offset = 0
                while offset < size:
                    offset += os.pwrite(fd, zeros[: min(self.CHUNK, size - offset)], offset)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.erased.append(device)


class PendingErase:
    """Write-ahead erase marks: the volumes whose erase has not finished.

    An append-only journal in the state directory: ``+ <volume id>`` before ndctl creates
    the namespace, ``- <volume id>`` once it is erased. What must survive a power cut:

    * a mark, before ndctl runs: fdatasync'd at once, or a crash could hand out a
      namespace holding an earlier volume's data (the retry or the next start erases);
    * a clearing, before the volume can hold data: a mark that came back would erase it.
      A volume holds no data before it is staged or published, so CreateVolume leaves its
      clearing in the page cache (``durable=False``) and NodeStageVolume/NodePublishVolume
      call make_durable() first. A lost clearing only erases a still empty volume again.

    A process crash loses nothing: written lines are in the kernel. A file per mark cost a
    create, an unlink and two directory syncs. The journal is rewritten with only the
    pending marks when it is first read and after COMPACT_AFTER lines.
    """

    JOURNAL = "erase-journal"
    # Earlier versions kept one file per mark here; such marks are honoured and folded in.
    LEGACY_DIR = "erase-pending"
    COMPACT_AFTER = 4096

    def __init__(self, state_dir: str) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / self.JOURNAL
        self._guard = threading.Lock()
        self._pending: set[str] | None = None  # read on first use
        self._lines = 0
        self._fd: int | None = None  # the journal, open for appends once read
        self._unsynced = False  # lines written since the last fdatasync

    def mark(self, volume_id: str) -> None:
        with self._guard:
            self._load()
            self._append(f"+ {volume_id}\n", durable=True)
            self._pending.add(volume_id)

    def clear(self, volume_id: str, *, durable: bool = True) -> None:
        """Clear a mark; ``durable=False`` leaves the line for make_durable() (see the class)."""
        with self._guard:
            self._load()
            if volume_id not in self._pending:
                return
            self._append(f"- {volume_id}\n", durable=durable)
            self._pending.discard(volume_id)
            if self._lines >= self.COMPACT_AFTER:
                self._rewrite()

    def make_durable(self) -> None:
        """Every line written so far is on disk when this returns (also lines another
        process wrote, as when controller and node run as separate processes)."""
        with self._guard:
            if self._fd is not None:
                if self._unsynced:
                    os.fdatasync(self._fd)
                    self._unsynced = False
                return
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            try:
                os.fdatasync(fd)
            finally:
                os.close(fd)

    def pending(self, volume_id: str) -> bool:
        with self._guard:
            self._load()
            return volume_id in self._pending

    def all(self) -> list[str]:
        with self._guard:
            self._load()
            return sorted(self._pending)

    def _append(self, line: str, *, durable: bool) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.write(self._fd, line.encode())
        self._lines += 1
        if durable:
            os.fdatasync(self._fd)  # also the earlier lines of this file
            self._unsynced = False
        else:
            self._unsynced = True

    def close(self) -> None:
        with self._guard:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _load(self) -> None:
        if self._pending is not None:
            return
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        pending, lines = read_erase_journal(self.path)
        legacy = _legacy_marks(self.dir / self.LEGACY_DIR)
        pending.update(legacy)
        self._pending = pending
        # Always rewrite once: it also makes the journal's own directory entry durable.
        self._rewrite()
        for volume_id in legacy:  # folded into the journal, which is now on disk
            with contextlib.suppress(FileNotFoundError):
                (self.dir / self.LEGACY_DIR / volume_id).unlink()
        if legacy:
            with contextlib.suppress(OSError):
                (self.dir / self.LEGACY_DIR).rmdir()
        LOG.debug("erase journal read", extra={"fields": {"lines": lines, "pending": sorted(pending)}})

    def _rewrite(self) -> None:
        temporary = self.dir / (self.JOURNAL + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, "".join(f"+ {volume_id}\n" for volume_id in sorted(self._pending)).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self._close_fd()  # it names the file being replaced; the next append opens the new one
        os.replace(temporary, self.path)
        self._unsynced = False  # the new file was fsync'd, and the rename below made durable
        dir_fd = os.open(self.dir, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._lines = len(self._pending)


def read_erase_journal(path: Path) -> tuple[set[str], int]:
    """Replay an erase journal: (pending volume ids, lines read). A torn last line is ignored:
    a mark torn by a crash was written before ndctl ran; a torn clearing just erases again."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return set(), 0
    pending: set[str] = set()
    lines = data.split(b"\n")[:-1]  # only whole lines
    for raw in lines:
        op, _, volume_id = raw.decode("utf-8", "replace").partition(" ")
        if not naming.is_volume_id(volume_id):
            continue
        if op == "+":
            pending.add(volume_id)
        elif op == "-":
            pending.discard(volume_id)
    return pending, len(lines)


def _legacy_marks(directory: Path) -> set[str]:
    try:
        return {p.name for p in directory.iterdir() if naming.is_volume_id(p.name)}
    except FileNotFoundError:
        return set()


class Backend:
    """The library calls the services make: listing, creating, destroying, erasing."""

    def __init__(self, config: Config, runner, *, eraser=None) -> None:
        self.config = config
        self.runner = runner
        self.ndctl = ndctl_mod.Ndctl(runner, binary=config.ndctl)
        self.eraser = eraser if eraser is not None else ZeroEraser()
        self.pending = PendingErase(config.state_dir)
        self.locks = KeyedLocks()

    def host_lock(self):
        return hostlock.HostLock(self.config.lock_path, timeout=self.config.lock_timeout)

    def inventory(self):
        return self.ndctl.inventory()

    def volumes(self, inventory=None) -> list:
        inv = inventory if inventory is not None else self.inventory()
        return sorted((ns for ns in inv.namespaces() if naming.is_volume_id(ns.name)), key=lambda ns: ns.name)

    def find(self, volume_id: str, inventory=None):
        """The volume's namespace, or None. Ids not shaped like ours never reach ndctl."""
        if not naming.is_volume_id(volume_id):
            return None
        inv = inventory if inventory is not None else self.inventory()
        found = inv.namespaces_by_name(volume_id)
        if len(found) > 1:
            raise Internal(f"{len(found)} namespaces are called {volume_id}; resolve by hand")
        return found[0] if found else None

    def device_path(self, namespace) -> str:
        blockdev = namespace.blockdev
        if not blockdev or not _BLOCKDEV_RE.match(blockdev):
            raise FailedPrecondition(
                f"namespace {namespace.dev} has no block device (state {namespace.state})"
            )
        return os.path.join(self.config.dev_dir, blockdev)

    def create(self, volume_id: str, region, params: VolumeParams, raw_size: int):
        """ndctl create-namespace under the host lock, after the write-ahead erase mark."""
        self.pending.mark(volume_id)
        try:
            with self.host_lock():
                namespace = self.ndctl.create_namespace(
                    region=region.dev, mode=params.mode, size=raw_size, name=volume_id
                )
        except NOT_CREATED_ERRORS:
            self.pending.clear(volume_id)  # ndctl refused before creating anything
            raise
        # Debug only: "volume erased" follows at info within milliseconds, naming both.
        LOG.debug("namespace created", extra={"fields": {"volume_id": volume_id, "namespace": namespace.dev}})
        return namespace

    def finish_erase(self, volume_id: str, namespace) -> None:
        device = self.device_path(namespace)
        for _ in range(DEVICE_WAIT_POLLS):  # the node appears with the namespace; allow udev a moment
            if os.path.exists(device):
                break
            time.sleep(DEVICE_WAIT_SECONDS / DEVICE_WAIT_POLLS)
        self.eraser.erase(device)
        # The zeros are on disk (the eraser syncs the device). The clearing can wait in the
        # page cache until the volume is staged or published: see PendingErase.
        self.pending.clear(volume_id, durable=False)
        LOG.info("volume erased", extra={"fields": {"volume_id": volume_id, "namespace": namespace.dev}})

    def destroy(self, namespace) -> None:
        with self.host_lock():
            self.ndctl.destroy_namespace(namespace.dev, force=True)
        self.pending.clear(namespace.name)
        LOG.info(
            "namespace destroyed", extra={"fields": {"volume_id": namespace.name, "namespace": namespace.dev}}
        )

    def recover(self) -> list[str]:
        """At start: list volumes and finish erases a crash interrupted. Returns the volume ids."""
        return self._recover(self.inventory())

    def recover_and_list_regions(self) -> list:
        """recover() with the same single `ndctl list`; returns the usable PMem regions."""
        inventory = self.inventory()
        self._recover(inventory)
        return [r for r in inventory.regions if r.type == "pmem" and r.enabled]

    def _recover(self, inventory) -> list[str]:
        volumes = self.volumes(inventory)
        by_name = {ns.name: ns for ns in volumes}
        for volume_id in self.pending.all():
            with self.locks.hold(volume_id, self.config.lock_timeout):
                namespace = by_name.get(volume_id)
                if namespace is None:
                    self.pending.clear(volume_id)
                else:
                    self.finish_erase(volume_id, namespace)
        self.pending.make_durable()
        LOG.info("volumes rediscovered", extra={"fields": {"volumes": [ns.name for ns in volumes]}})
        return [ns.name for ns in volumes]

    def condition(self, namespace) -> tuple[bool, str]:
        """(abnormal, message) for a volume."""
        if self.pending.pending(namespace.name):
            return True, "volume creation has not finished (erase pending); retry CreateVolume"
        if not namespace.enabled:
            return True, f"namespace {namespace.dev} is disabled"
        if namespace.mode not in VOLUME_MODES:
            return True, f"namespace {namespace.dev} is in mode {namespace.mode}, not fsdax or sector"
        try:
            device = self.device_path(namespace)
        except FailedPrecondition as exc:
            return True, exc.message
        if not os.path.exists(device):
            return True, f"block device {device} is missing"
        return False, f"namespace {namespace.dev} ({namespace.mode}, {namespace.size} bytes) is healthy"
