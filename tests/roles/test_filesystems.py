"""Filesystems for real: DAX-friendly mkfs, mounts persisted in fstab, unmount on decommission.

The simulator exposes namespaces as loop devices (root only). Loop devices cannot do
DAX, so this test turns off dax=always (namespaces_mount_dax: false); the VM
scenario mounts with dax=always on real (emulated) NVDIMMs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import VENV_BIN, Fleet

pytestmark = [pytest.mark.slow, pytest.mark.root]


def mounted(path: Path) -> str | None:
    """Filesystem type mounted at path, from the kernel's mount table."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == str(path):
            return fields[2]
    return None


@pytest.fixture
def fs_fleet(tmp_path):
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.xfs"):
        pytest.skip("needs root, losetup and xfsprogs (loop devices)")
    state = tmp_path / "fs-host.json"
    env = dict(os.environ, PMEMSIM_STATE=str(state), PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}")
    init = [
        str(VENV_BIN / "pmemsim"),
        "init",
        *("--sockets", "1", "--dimms-per-socket", "1", "--dimm-capacity", "128", "--initial", "appdirect"),
        *("--blockdev-dir", str(tmp_path / "dev"), "--backing-dir", str(tmp_path / "backing")),
    ]
    subprocess.run(init, env=env, check=True, capture_output=True, timeout=60)
    mnt = tmp_path / "mnt"
    host_vars = {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(VENV_BIN / "python"),
        "pmem_environment": {
            "PMEMSIM_STATE": str(state),
            "PMEM_OPTANE_LOCK": str(tmp_path / "fs-host.lock"),
            "PATH": env["PATH"],
        },
        "namespaces_device_dir": str(tmp_path / "dev"),
        "namespaces_fstab": str(tmp_path / "fstab"),
        "namespaces_mount_dax": False,
        "namespaces_layout": [
            {"name": "db0", "size": "2G", "filesystem": "ext4", "mount_path": str(mnt / "db0")},
            {"name": "log0", "size": "2G", "filesystem": "xfs", "mount_path": str(mnt / "log0")},
            {"name": "cache0", "size": "1G", "mode": "devdax"},
        ],
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"fs-host": host_vars}}}))
    yield Fleet(tmp_path, inventory), mnt, tmp_path / "fstab"
    for name in ("db0", "log0"):
        if mounted(mnt / name):
            subprocess.run(["umount", str(mnt / name)], check=False, timeout=60)
    subprocess.run([str(VENV_BIN / "pmemsim"), "teardown"], env=env, check=False, timeout=60)


def test_filesystems_are_made_mounted_persisted_and_removed(fs_fleet):
    fleet, mnt, fstab = fs_fleet

    run = fleet.playbook("provision")

    assert run.rc == 0, run.stdout + run.stderr
    assert mounted(mnt / "db0") == "ext4"
    assert mounted(mnt / "log0") == "xfs"
    devices = {
        name: str(Path(fleet.directory / "dev" / ns["blockdev"]))
        for name, ns in fleet.namespaces("fs-host").items()
        if "blockdev" in ns
    }
    ext4 = subprocess.run(
        ["dumpe2fs", "-h", devices["db0"]], capture_output=True, text=True, check=True
    ).stdout
    assert "Block size:               4096" in ext4
    xfs = subprocess.run(["xfs_info", str(mnt / "log0")], capture_output=True, text=True, check=True).stdout
    assert "reflink=0" in xfs
    entries = [line.split() for line in fstab.read_text().splitlines() if line.strip()]
    assert sorted((entry[1], entry[2]) for entry in entries) == [
        (str(mnt / "db0"), "ext4"),
        (str(mnt / "log0"), "xfs"),
    ]

    again = fleet.playbook("provision", count_calls=True)
    assert again.rc == 0, again.stdout + again.stderr
    assert again.recap()["fs-host"]["changed"] == 0
    # The appdirect role's facts were read for /etc/fstab and /dev, not for the ones this
    # host's filesystems are managed in: the namespaces role reads its own, once.
    assert again.calls == {"fs-host": {"pmem.optane.pmem_info": 2}}
    # Everything is as declared: the role decided so from the facts, no filesystem task ran.
    assert "TASK [pmem.optane.namespaces : Make the filesystems]" not in again.stdout
    assert "TASK [pmem.optane.namespaces : Mount the filesystems" not in again.stdout

    # A mount gone (the fstab entry is still there): the role notices and mounts it again.
    subprocess.run(["umount", str(mnt / "log0")], check=True, timeout=60)
    healed = fleet.playbook("provision")
    assert healed.rc == 0, healed.stdout + healed.stderr
    assert healed.recap()["fs-host"]["changed"] == 1
    assert mounted(mnt / "log0") == "xfs"

    refused = fleet.playbook("decommission")
    assert refused.rc != 0
    assert mounted(mnt / "db0") == "ext4"

    gone = fleet.playbook("decommission", extra_vars={"namespaces_allow_data_loss": True})
    assert gone.rc == 0, gone.stdout + gone.stderr
    assert mounted(mnt / "db0") is None and mounted(mnt / "log0") is None
    assert fstab.read_text().strip() == ""
    assert fleet.namespaces("fs-host") == {}
