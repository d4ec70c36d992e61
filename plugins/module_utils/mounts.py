"""The mount table as the modules see it: which mount points use a device."""

import os
import re


def read_mounts(path=None):
    """(source, mount point) pairs of the mount table; octal escapes (\\040) decoded."""
    return [(source, target) for source, target, _fstype, _options in read_mount_entries(path)]


def read_mount_entries(path=None):
    """(source, mount point, type, options) of the mount table, as the kernel lists them."""
    for candidate in [path] if path else ["/proc/self/mounts", "/proc/mounts"]:
        try:
            with open(candidate) as table:
                return _table_entries(table.read())
        except (IOError, OSError):
            continue
    return []


def read_fstab(path):
    """(source, mount point, type, options) of an fstab; [] when it cannot be read."""
    try:
        with open(path) as table:
            return _table_entries(table.read())
    except (IOError, OSError):
        return []


def _table_entries(text):
    entries = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or fields[0].startswith("#"):
            continue
        fields += ["", ""]
        entries.append((_unescape(fields[0]), _unescape(fields[1]), fields[2], fields[3] or "defaults"))
    return entries


def entries_of(device, entries):
    """{path, fstype, options} of the table entries whose source is `device` (or a link to it)."""
    if not device:
        return []
    real = os.path.realpath(device)
    return [
        {"path": target, "fstype": fstype, "options": options}
        for source, target, fstype, options in entries
        if source == device or (source.startswith("/") and os.path.realpath(source) == real)
    ]


def _unescape(text):
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)


def mounts_of(device, mounts):
    """Mount points whose source is `device`, directly or through a symlink."""
    if not device:
        return []
    real = os.path.realpath(device)
    return [target for source, target in mounts if source == device or os.path.realpath(source) == real]
