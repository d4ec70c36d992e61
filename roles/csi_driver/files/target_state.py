"""Report what the csi_driver role needs to know about a host, in one call.

    python3 target_state.py INSTALL_DIR SYSTEMD_DIR UNIT_PATH SOCKET_DIR SERVICE

Prints one JSON object: the Python and platform (which wheels fit), the versions the
`current` and `previous` links point at, every installed version with the content of its
completion marker, the per-version wheel directories and their wheel files, whether the
unit directory exists, the unit file's SHA-1 and ownership, the socket directory's, and
whether systemd has the service active and enabled. Read-only. The role compares this
with what should be and acts only where they differ: one process instead of a task per
fact matters on slow or many hosts.
"""

import hashlib
import json
import os
import platform
import shutil
import stat
import subprocess
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


def ownership(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return {
        "isdir": stat.S_ISDIR(info.st_mode),
        "mode": f"{stat.S_IMODE(info.st_mode):04o}",
        "uid": info.st_uid,
        "gid": info.st_gid,
    }


def file_facts(path):
    facts = ownership(path)
    if facts is None or facts["isdir"]:
        return facts
    with open(path, "rb") as handle:
        facts["sha1"] = hashlib.sha1(handle.read()).hexdigest()  # noqa: S324 (Ansible's checksum)
    return facts


def service_state(name):
    """`systemctl is-active` and `is-enabled` of the unit, or None without systemctl."""
    systemctl = shutil.which("systemctl")
    if not systemctl:
        return None
    state = {}
    for query in ("is-active", "is-enabled"):
        result = subprocess.run(
            [systemctl, query, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, LANG="C"),
            check=False,
        )
        state[query.replace("is-", "")] = result.stdout.decode("utf-8", "replace").strip()
    return state


def subdirectories(path, skip=()):
    try:
        names = os.listdir(path)
    except OSError:
        return []
    paths = {name: os.path.join(path, name) for name in names if name not in skip}
    return sorted(name for name, full in paths.items() if os.path.isdir(full) and not os.path.islink(full))


def wheel_files(path):
    try:
        names = os.listdir(path)
    except OSError:
        return []
    return sorted(n for n in names if n.endswith(".whl") and os.path.isfile(os.path.join(path, n)))


def main(argv):
    install_dir, systemd_dir, unit_path, socket_dir, service = argv[1:6]
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
                # The wheel files each holds: an upgrade ships only the wheels the host lacks.
                "wheelhouse_files": {
                    version: wheel_files(os.path.join(wheelhouses, version))
                    for version in subdirectories(wheelhouses)
                },
                "systemd_dir_exists": os.path.isdir(systemd_dir),
                "unit": file_facts(unit_path),
                "socket_dir": ownership(socket_dir),
                "service": service_state(service),
            },
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
