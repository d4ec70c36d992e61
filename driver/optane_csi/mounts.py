"""Mount table, mount/umount, mkfs and filesystem probing. Tools run through the runner."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import pmemlib
from .errors import FailedPrecondition, Internal, InvalidArgument

MOUNTINFO = "/proc/self/mountinfo"
FILESYSTEMS = ("ext4", "xfs")
DEFAULT_FILESYSTEM = "ext4"
# Options a caller may pass in mount_flags: plain words or key=value, no commas or spaces.
_MOUNT_FLAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:+=/-]{0,127}$")
# Flags that would undermine the driver's own decisions or the host.
_FORBIDDEN_FLAGS = frozenset(
    {"bind", "rbind", "move", "remount", "loop", "suid", "dev", "exec", "shared", "rshared"}
)
_FORBIDDEN_PREFIXES = (
    "dax",
    "x-",
    "context=",
    "fscontext=",
    "defcontext=",
    "rootcontext=",
    "loop=",
    "offset=",
)
# Flags a bind mount can change on remount (the rest belong to the staging mount).
BIND_REMOUNT_FLAGS = frozenset(
    {"ro", "rw", "nosuid", "nodev", "noexec", "noatime", "relatime", "nodiratime", "strictatime"}
)
MKFS_ARGV = {
    # 4 KiB blocks: DAX needs the block size to equal the page size.
    "ext4": ("mkfs.ext4", "-q", "-F", "-b", "4096"),
    # DAX and reflink exclude each other on XFS.
    "xfs": ("mkfs.xfs", "-q", "-m", "reflink=0"),
}


@dataclass(frozen=True)
class MountEntry:
    mount_id: int
    parent_id: int
    major: int
    minor: int
    root: str
    mount_point: str
    options: tuple[str, ...]
    fstype: str
    source: str
    super_options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


def _unescape(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[MountEntry]:
    entries = []
    for line in text.splitlines():
        parts = line.split(" ")
        try:
            sep = parts.index("-", 6)
            major, minor = parts[2].split(":")
            entries.append(
                MountEntry(
                    mount_id=int(parts[0]),
                    parent_id=int(parts[1]),
                    major=int(major),
                    minor=int(minor),
                    root=_unescape(parts[3]),
                    mount_point=_unescape(parts[4]),
                    options=tuple(parts[5].split(",")),
                    fstype=parts[sep + 1],
                    source=_unescape(parts[sep + 2]),
                    super_options=tuple(parts[sep + 3].split(",")) if len(parts) > sep + 3 else (),
                )
            )
        except (ValueError, IndexError):
            continue
    return entries


def read_mounts(path: str = MOUNTINFO) -> list[MountEntry]:
    return parse_mountinfo(Path(path).read_text(errors="replace"))


def mounts_at(target: str, entries: Iterable[MountEntry] | None = None) -> list[MountEntry]:
    return [e for e in (read_mounts() if entries is None else entries) if e.mount_point == target]


def device_rdev(device: str) -> int:
    """st_rdev of a block device node (following the simulator's symlinks)."""
    st = os.stat(device)
    if not stat.S_ISBLK(st.st_mode):
        raise FailedPrecondition(f"{device} is not a block device")
    return st.st_rdev


def mount_uses_device(entry: MountEntry, rdev: int) -> bool:
    """True when the mount is a filesystem on the device, or the device node bound onto a file."""
    if os.makedev(entry.major, entry.minor) == rdev:
        return True
    try:
        st = os.stat(entry.mount_point)
    except OSError:
        return False
    return stat.S_ISBLK(st.st_mode) and st.st_rdev == rdev


def device_users(rdev: int, entries: Iterable[MountEntry] | None = None) -> list[MountEntry]:
    """Every mount (staging, publish, block bind) that uses the device."""
    found = []
    for entry in read_mounts() if entries is None else entries:
        if os.makedev(entry.major, entry.minor) == rdev:
            found.append(entry)
        elif entry.root != "/" and mount_uses_device(entry, rdev):
            # A block volume is a bind mount of the device node (root = the node's path).
            found.append(entry)
    return found


def check_mount_flags(flags: Sequence[str], field: str = "volume_capability.mount.mount_flags") -> list[str]:
    if sum(len(f) for f in flags) > 4096:
        raise InvalidArgument(field, "must not exceed 4 KiB in total")
    cleaned = []
    for flag in flags:
        for word in flag.split(","):
            if not word:
                continue
            lower = word.lower()
            if (
                not _MOUNT_FLAG_RE.match(word)
                or lower in _FORBIDDEN_FLAGS
                or lower.startswith(_FORBIDDEN_PREFIXES)
            ):
                # Never echo the flag itself: mount flags may carry secrets.
                raise InvalidArgument(field, "contains a flag the driver does not allow")
            cleaned.append(word)
    return cleaned


def dax_capable(device: str) -> bool:
    """Does the kernel offer DAX on this block device? (loop devices: no)"""
    name = os.path.basename(os.path.realpath(device))
    try:
        return Path(f"/sys/class/block/{name}/queue/dax").read_text().strip() == "1"
    except OSError:
        return False


class Mounter:
    """mount/umount/mkfs/blkid through a CommandRunner, with argv lists only."""

    def __init__(self, runner) -> None:
        self.runner = runner

    def _run(self, argv: Sequence[str]) -> pmemlib.runner.CommandResult:
        result = self.runner.run(list(argv))
        if result.rc != 0:
            raise Internal(
                f"{argv[0]} failed (rc={result.rc}): {(result.stderr or result.stdout).strip()[:500]}"
            )
        return result

    def filesystem_of(self, device: str) -> str | None:
        """Filesystem signature on the device, or None when it is blank."""
        result = self.runner.run(["blkid", "-p", "-o", "export", "--", device])
        if result.rc == 2:  # nothing found
            return None
        if result.rc != 0:
            raise Internal(f"blkid failed on {device} (rc={result.rc}): {result.stderr.strip()[:300]}")
        values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        return values.get("TYPE") or ("unknown" if values else None)

    def mkfs(self, device: str, fstype: str) -> None:
        self._run([*MKFS_ARGV[fstype], device])

    def mount(
        self, source: str, target: str, *, fstype: str | None = None, options: Sequence[str] = ()
    ) -> None:
        argv = ["mount"]
        if fstype:
            argv += ["-t", fstype]
        if options:
            argv += ["-o", ",".join(options)]
        self._run([*argv, "--", source, target])

    def bind(self, source: str, target: str, *, options: Sequence[str] = ()) -> None:
        self._run(["mount", "--bind", "--", source, target])
        if options:
            self._run(["mount", "-o", ",".join(["remount", "bind", *options]), "--", target])

    def umount(self, target: str) -> None:
        self._run(["umount", "--", target])
