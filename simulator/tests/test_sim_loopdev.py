"""Loop-device backing: namespaces as real block devices whose data outlives destroy/create."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from pmem_sim import model
from pmem_sim.dispatch import run_tool
from pmem_sim.testing import make_state

pytestmark = pytest.mark.root

MARKER = b"pmem-sim data that must survive destroy and create\n"


def loops_available() -> bool:
    if os.geteuid() != 0 or not shutil.which("losetup"):
        return False
    found = subprocess.run(["losetup", "--find"], capture_output=True, text=True, check=False)
    return found.returncode == 0


@pytest.fixture
def host(tmp_path):
    if not loops_available():
        pytest.skip("needs root and losetup with a free loop device")
    blockdev = {"dir": str(tmp_path / "dev"), "backing_dir": str(tmp_path / "backing")}
    path = make_state(tmp_path, preset="qemu", blockdev=blockdev)
    yield path
    with model.transaction(path) as txn:
        from pmem_sim import loopdev

        loopdev.teardown(txn.state)
        txn.touch()


def ndctl(path, *args):
    return run_tool("ndctl", list(args), state_path=path)


def test_namespace_data_survives_destroy_and_create(host, tmp_path):
    for args in (["disable-region", "all"], ["init-labels", "all"], ["enable-region", "all"]):
        assert ndctl(host, *args)[0] == 0
    created = json.loads(ndctl(host, "create-namespace", "-r", "region0", "-s", "1G", "-n", "a")[1])
    link = tmp_path / "dev" / created["blockdev"]
    assert link.is_symlink() and os.readlink(link).startswith("/dev/loop")
    device = os.readlink(link)
    with open(device, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        assert handle.tell() == created["size"]
    with open(device, "r+b") as handle:
        handle.write(MARKER)
        handle.flush()
        os.fsync(handle.fileno())

    # held open exclusively (as a mount would): destroy refuses with EBUSY
    fd = os.open(device, os.O_RDONLY | os.O_EXCL)
    try:
        rc, _, err = ndctl(host, "destroy-namespace", "-f", created["dev"])
    finally:
        os.close(fd)
    assert rc == 240
    assert "failed exclusive open: Device or resource busy" in err

    assert ndctl(host, "destroy-namespace", "-f", created["dev"])[2] == "destroyed 1 namespace\n"
    assert not link.exists()
    assert device not in subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=False).stdout

    again = json.loads(ndctl(host, "create-namespace", "-r", "region0", "-s", "1G", "-n", "b")[1])
    with open(os.readlink(tmp_path / "dev" / again["blockdev"]), "rb") as handle:
        assert handle.read(len(MARKER)) == MARKER


def test_devdax_and_sector_links_and_teardown(host, tmp_path):
    for args in (["disable-region", "all"], ["init-labels", "all"], ["enable-region", "all"]):
        ndctl(host, *args)
    ndctl(host, "create-namespace", "-r", "region1", "-m", "devdax", "-s", "512M")
    ndctl(host, "create-namespace", "-r", "region1", "-m", "sector", "-s", "256M")
    names = sorted(os.listdir(tmp_path / "dev"))
    assert names == ["dax1.0", "pmem1.1s"]
    with model.transaction(host) as txn:
        from pmem_sim import loopdev

        assert loopdev.teardown(txn.state) == 2
        txn.touch()
    assert os.listdir(tmp_path / "dev") == []


def test_without_a_blockdev_dir_no_loops(tmp_path):
    path = make_state(tmp_path, preset="qemu-nolabel")
    ndctl(path, "create-namespace", "-f", "-e", "namespace0.0", "-m", "fsdax")
    state = model.load_state(path)
    assert all(ns.get("loop") is None for region in state["regions"] for ns in region["namespaces"])
