"""Mount table parsing and mount flag checks (no mounts are made here)."""

from __future__ import annotations

import os

import pytest
from optane_csi.errors import InvalidArgument
from optane_csi.mounts import Mounter, check_mount_flags, mounts_at, parse_mountinfo, read_mounts

SAMPLE = (
    "36 35 98:0 /mnt1 /mnt/parent\\040dir rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
    "100 29 259:3 / /var/lib/kubelet/plugins/staging rw,relatime shared:50 - ext4 /dev/pmem0 rw,dax=always\n"
    "101 29 259:3 / /var/lib/kubelet/pods/x/mount ro,relatime shared:50 - ext4 /dev/pmem0 rw,dax=always\n"
    "garbage line\n"
)


def test_parse_mountinfo_fields_and_escapes():
    entries = parse_mountinfo(SAMPLE)
    assert len(entries) == 3
    first = entries[0]
    assert first.mount_point == "/mnt/parent dir"
    assert (first.major, first.minor, first.root, first.fstype, first.source) == (
        98,
        0,
        "/mnt1",
        "ext3",
        "/dev/root",
    )
    published = mounts_at("/var/lib/kubelet/pods/x/mount", entries)
    assert len(published) == 1 and published[0].read_only
    assert "dax=always" in published[0].super_options
    assert not entries[1].read_only


def test_read_mounts_sees_root():
    assert any(e.mount_point == "/" for e in read_mounts())


@pytest.mark.parametrize(
    "flags",
    [
        ["bind"],
        ["dax=never"],
        ["suid"],
        ["x-mount.mkdir"],
        ["rw;reboot"],
        ["-o"],
        ["a b"],
        ["context=system_u:object_r:x"],
        ["noatime,loop"],
    ],
)
def test_forbidden_mount_flags(flags):
    with pytest.raises(InvalidArgument) as info:
        check_mount_flags(flags)
    assert "allow" in info.value.rule
    # The flag itself is never echoed (it may carry a secret).
    assert flags[0] not in info.value.message or flags[0] in ("bind", "suid")


def test_allowed_mount_flags_split_on_commas():
    assert check_mount_flags(["noatime,nodiratime", "discard", "errors=remount-ro"]) == [
        "noatime",
        "nodiratime",
        "discard",
        "errors=remount-ro",
    ]


def test_mount_flags_size_limit():
    with pytest.raises(InvalidArgument):
        check_mount_flags(["noatime"] * 600)


class Recorder:
    def __init__(self, rc=0, stdout=""):
        self.calls = []
        self.rc = rc
        self.stdout = stdout

    def run(self, argv, *, stdin=None):
        from optane_csi.runner import CommandResult

        self.calls.append(list(argv))
        return CommandResult(tuple(argv), self.rc, self.stdout, "boom" if self.rc else "")


def test_mounter_uses_argv_lists_with_double_dash():
    rec = Recorder()
    mounter = Mounter(rec)
    mounter.mount("/dev/pmem0", "/k/staging", fstype="ext4", options=["dax=always", "noatime"])
    mounter.bind("/k/staging", "/k/target", options=["ro"])
    mounter.umount("/k/target")
    mounter.mkfs("/dev/pmem0", "xfs")
    mounter.mkfs("/dev/pmem0", "ext4")
    assert rec.calls == [
        ["mount", "-t", "ext4", "-o", "dax=always,noatime", "--", "/dev/pmem0", "/k/staging"],
        ["mount", "--bind", "--", "/k/staging", "/k/target"],
        ["mount", "-o", "remount,bind,ro", "--", "/k/target"],
        ["umount", "--", "/k/target"],
        ["mkfs.xfs", "-q", "-m", "reflink=0", "/dev/pmem0"],
        ["mkfs.ext4", "-q", "-F", "-b", "4096", "/dev/pmem0"],
    ]


def test_blkid_blank_and_typed():
    assert Mounter(Recorder(rc=2)).filesystem_of("/dev/x") is None
    assert Mounter(Recorder(stdout="DEVNAME=/dev/x\nTYPE=xfs\n")).filesystem_of("/dev/x") == "xfs"


def test_failed_mount_is_internal_error_with_tool_text():
    from optane_csi.errors import Internal

    with pytest.raises(Internal) as info:
        Mounter(Recorder(rc=32)).mount("/dev/x", "/k/t")
    assert "rc=32" in info.value.message and "boom" in info.value.message


def test_device_rdev_refuses_non_block(tmp_path):
    from optane_csi.errors import FailedPrecondition
    from optane_csi.mounts import device_rdev

    regular = tmp_path / "pmem0"
    regular.write_text("")
    with pytest.raises(FailedPrecondition):
        device_rdev(str(regular))
    assert os.path.exists("/dev/null")
