"""The mount table as the modules see it: which mount points use a device."""

import os
import re


def read_mounts(path=None):
    """(source, mount point) pairs of the mount table; octal escapes (\\040) decoded."""
    for candidate in [path] if path else ["/proc/self/mounts", "/proc/mounts"]:
        try:
            with open(candidate) as table:
                lines = table.read().splitlines()
        except (IOError, OSError):
            continue
        pairs = []
        for line in lines:
            fields = line.split()
            if len(fields) >= 2:
                pairs.append((_unescape(fields[0]), _unescape(fields[1])))
        return pairs
    return []


def _unescape(text):
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), text)


def mounts_of(device, mounts):
    """Mount points whose source is `device`, directly or through a symlink."""
    if not device:
        return []
    real = os.path.realpath(device)
    return [target for source, target in mounts if source == device or os.path.realpath(source) == real]
