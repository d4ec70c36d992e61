"""Report what the csi_driver role needs to know about a host, in one call.

    python3 target_state.py INSTALL_DIR SYSTEMD_DIR

Prints one JSON object: the Python and platform (which wheels fit), the versions the
`current` and `previous` links point at, every installed version with the content of its
completion marker, the per-version wheel directories, and whether the unit directory exists.
Read-only. One process instead of a task per fact matters on slow or many hosts.
"""

import json
import os
import platform
import sys

MARKER = ".pmem-optane-installed"


def link_text(path):
    return os.readlink(path) if os.path.islink(path) else ""


def read_marker(version_dir):
    try:
        with open(os.path.join(version_dir, MARKER)) as marker:
            return marker.read()
    except OSError:
        return ""


def subdirectories(path, skip=()):
    try:
        names = os.listdir(path)
    except OSError:
        return []
    paths = {name: os.path.join(path, name) for name in names if name not in skip}
    return sorted(name for name, full in paths.items() if os.path.isdir(full) and not os.path.islink(full))


def main(argv):
    install_dir, systemd_dir = argv[1], argv[2]
    libc, libc_version = platform.libc_ver()
    wheelhouses = os.path.join(install_dir, "wheelhouse")
    versions = subdirectories(install_dir, skip=("wheelhouse",))
    current = link_text(os.path.join(install_dir, "current"))
    print(
        json.dumps(
            {
                "python": "{}.{}".format(*sys.version_info[:2]),
                "python_ok": sys.version_info >= (3, 11),
                "abi": "cp{}{}".format(*sys.version_info[:2]),
                "machine": platform.machine(),
                "libc": libc,
                "libc_version": libc_version,
                # Versions by name; current_link is the link's own text, to tell whether it
                # already reads exactly "<version>".
                "current": os.path.basename(current.rstrip("/")),
                "current_link": current,
                "previous": os.path.basename(link_text(os.path.join(install_dir, "previous")).rstrip("/")),
                "markers": {version: read_marker(os.path.join(install_dir, version)) for version in versions},
                "wheelhouses": subdirectories(wheelhouses),
                "systemd_dir_exists": os.path.isdir(systemd_dir),
            },
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
