"""Shared helpers for the QEMU scenario's testinfra tests (ansible backend, Molecule inventory).

Every test talks to the real guest: ndctl, mounts, systemd and the CSI driver's socket
through the driver's own `optane-csi client`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

DRIVER_NAME = "optane.csi.pmem.io"
INSTALL_DIR = "/opt/pmem-optane-csi"
CLIENT = f"{INSTALL_DIR}/current/bin/optane-csi"
KUBELET_DIR = "/var/lib/kubelet"
ENDPOINT = f"unix://{KUBELET_DIR}/plugins/{DRIVER_NAME}/csi.sock"
SERVICE = "optane-csi.service"
RECORD_DIR = "/var/lib/pmem-optane-vm-test"
STATX_ATTR_DAX = 0x200000
MIB = 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parents[3]


def pytest_collection_modifyitems(items):
    # The files are steps of one story (reboot checks, CSI, upgrade): keep their order.
    items.sort(key=lambda item: item.fspath.basename)


@pytest.fixture(scope="session")
def layout() -> list[dict]:
    """namespaces_layout exactly as the scenario declares it (molecule.yml group_vars)."""
    scenario = Path(os.environ.get("MOLECULE_FILE") or Path(__file__).resolve().parents[1] / "molecule.yml")
    config = yaml.safe_load(scenario.read_text())
    declared = config["provisioner"]["inventory"]["group_vars"]["all"].get("namespaces_layout")
    assert declared, f"namespaces_layout is missing from {scenario}"
    return declared


def parse_sizes(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB, "T": 1024 * 1024 * MIB}
    text = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def ndctl_namespaces(host) -> list[dict]:
    """`ndctl list -N` normalised: nothing printed means none; one object or a list."""
    out = host.check_output("ndctl list --namespaces")
    if not out.strip():
        return []
    data = json.loads(out)
    if isinstance(data, dict):
        data = data.get("namespaces", [data])
    return data


def ndctl_regions(host) -> list[dict]:
    out = host.check_output("ndctl list --regions --verbose")
    data = json.loads(out) if out.strip() else []
    if isinstance(data, dict):
        data = data.get("regions", [data])
    return data


def namespace_named(host, name: str) -> dict | None:
    found = [ns for ns in ndctl_namespaces(host) if ns.get("name") == name]
    assert len(found) <= 1, f"{len(found)} namespaces are named {name}: {found}"
    return found[0] if found else None


def region_of(namespace: dict) -> str:
    """namespaceX.Y lives in regionX."""
    return "region" + namespace["dev"].removeprefix("namespace").split(".")[0]


def mount_of(host, path: str) -> dict | None:
    cmd = host.run(f"findmnt --json --mountpoint {shlex.quote(path)}")
    if cmd.rc != 0:
        return None
    filesystems = json.loads(cmd.stdout)["filesystems"]
    return filesystems[-1]


def statx_attributes(host, path: str) -> int:
    out = host.check_output(f"xfs_io -c 'statx -r' {shlex.quote(path)}")
    for line in out.splitlines():
        if line.startswith("stat.attributes = "):
            return int(line.split("=", 1)[1].strip(), 16)
    raise AssertionError(f"xfs_io printed no stat.attributes for {path}: {out}")


def driver_installed(host) -> None:
    """Fail clearly when the driver is not there (its role has not run or not landed)."""
    assert host.file(CLIENT).exists, (
        f"the CSI driver is not installed ({CLIENT} is missing): converge did not install it"
    )


def csi(host, rpc: str, request: dict | None = None, *, expect_ok: bool = True) -> dict:
    """Call one CSI RPC through the driver's socket with `optane-csi client`."""
    driver_installed(host)
    body = json.dumps(request or {})
    cmd = host.run(f"{CLIENT} client --timeout 120 --endpoint {ENDPOINT} {rpc} {shlex.quote(body)}")
    if expect_ok:
        assert cmd.rc == 0, f"{rpc} {body} failed (rc {cmd.rc}): {cmd.stdout} {cmd.stderr}"
    else:
        assert cmd.rc != 0, f"{rpc} {body} unexpectedly succeeded: {cmd.stdout}"
    return json.loads(cmd.stdout) if cmd.stdout.strip() else {}


def staging_path(volume_id: str) -> str:
    return f"{KUBELET_DIR}/plugins/kubernetes.io/csi/{DRIVER_NAME}/{volume_id}/globalmount"


def target_path(volume_id: str, pod: str = "pod-vm-1", block: bool = False) -> str:
    if block:
        return f"{KUBELET_DIR}/plugins/kubernetes.io/csi/volumeDevices/publish/{volume_id}/{pod}"
    return f"{KUBELET_DIR}/pods/{pod}/volumes/kubernetes.io~csi/{volume_id}/mount"


def mount_capability(fs_type: str = "ext4") -> dict:
    return {"mount": {"fs_type": fs_type}, "access_mode": {"mode": "SINGLE_NODE_WRITER"}}


def block_capability() -> dict:
    return {"block": {}, "access_mode": {"mode": "SINGLE_NODE_WRITER"}}


def molecule_inventory() -> str:
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "MOLECULE_INVENTORY_FILE is not set: run these tests through molecule verify"
    return str(Path(inventory).parent)


def run_driver_playbook(extra_vars: dict) -> subprocess.CompletedProcess:
    """ansible-playbook pmem.optane.driver against the guest, from the controller."""
    playbook = shutil.which("ansible-playbook", path=os.path.dirname(sys.executable)) or "ansible-playbook"
    return subprocess.run(
        [playbook, "-i", molecule_inventory(), "pmem.optane.driver", "-e", json.dumps(extra_vars)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )


def wait_for_probe(host, timeout: float = 300.0) -> dict:
    """Probe until the driver answers ready (it may still be starting after a restart)."""
    driver_installed(host)
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        cmd = host.run(f"{CLIENT} client --timeout 30 --endpoint {ENDPOINT} Probe")
        if cmd.rc == 0:
            answer = json.loads(cmd.stdout or "{}")
            if answer.get("ready", True) is True:
                return answer
        last = cmd.stdout + cmd.stderr
        time.sleep(3)
    raise AssertionError(f"the driver did not answer Probe ready within {timeout:.0f} s: {last}")
