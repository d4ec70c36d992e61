"""The mount table and fstab as pmem_info reads them."""

from __future__ import annotations

import os

from plugins.module_utils.mounts import (
    entries_of,
    read_fstab,
    read_mount_entries,
    read_mounts,
)

MOUNTS = (
    "proc /proc proc rw,nosuid 0 0\n"
    "/dev/pmem0 /mnt/pmem\\040data ext4 rw,relatime,dax=always 0 0\n"
    "/dev/pmem1 /mnt/xfs xfs rw,attr2,dax=always 0 0\n"
)
FSTAB = (
    "# <file system> <mount point> <type> <options> <dump> <pass>\n"
    "\n"
    "/dev/pmem0 /mnt/pmem\\040data ext4 dax=always 0 0\n"
    "   # an indented comment\n"
    "/dev/pmem1 /mnt/xfs\n"  # type and options left out: fstab's defaults
    "UUID=1234 / ext4 errors=remount-ro 0 1\n"
)


def test_mount_entries_keep_type_and_options(tmp_path):
    table = tmp_path / "mounts"
    table.write_text(MOUNTS)
    entries = read_mount_entries(str(table))
    assert entries[1] == ("/dev/pmem0", "/mnt/pmem data", "ext4", "rw,relatime,dax=always")
    assert read_mounts(str(table))[1] == ("/dev/pmem0", "/mnt/pmem data")
    assert entries_of("/dev/pmem1", entries) == [
        {"path": "/mnt/xfs", "fstype": "xfs", "options": "rw,attr2,dax=always"}
    ]


def test_fstab_skips_comments_and_fills_defaults(tmp_path):
    fstab = tmp_path / "fstab"
    fstab.write_text(FSTAB)
    entries = read_fstab(str(fstab))
    assert entries == [
        ("/dev/pmem0", "/mnt/pmem data", "ext4", "dax=always"),
        ("/dev/pmem1", "/mnt/xfs", "", "defaults"),
        ("UUID=1234", "/", "ext4", "errors=remount-ro"),
    ]
    assert entries_of("/dev/pmem0", entries) == [
        {"path": "/mnt/pmem data", "fstype": "ext4", "options": "dax=always"}
    ]
    assert entries_of("/dev/pmem7", entries) == []
    assert entries_of(None, entries) == []


def test_unreadable_fstab_is_empty(tmp_path):
    assert read_fstab(str(tmp_path / "missing")) == []


def test_a_source_that_links_to_the_device_counts(tmp_path):
    device = tmp_path / "pmem0"
    device.write_text("")
    link = tmp_path / "by-name"
    os.symlink(device, link)
    entries = [(str(link), "/mnt/a", "ext4", "dax=always"), ("tmpfs", "/tmp", "tmpfs", "rw")]
    assert entries_of(str(device), entries) == [{"path": "/mnt/a", "fstype": "ext4", "options": "dax=always"}]
