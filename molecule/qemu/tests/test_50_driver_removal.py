"""Removal of the driver with the csi_driver role (csi_driver_state: absent), for real on
systemd: refused while the driver owns a volume on the host, then complete once it owns
none. Runs last: afterwards the driver is gone."""

from __future__ import annotations

import re

from conftest import (
    DRIVER_NAME,
    INSTALL_DIR,
    KUBELET_DIR,
    MIB,
    SERVICE,
    csi,
    mount_capability,
    namespace_named,
    run_driver_playbook,
)

STATE: dict = {}
UNIT = f"/etc/systemd/system/{SERVICE}"


def recap_changed(output: str) -> int:
    match = re.search(r"pmem-vm\s*:.*?changed=(\d+)", output)
    assert match, f"no play recap in:\n{output[-3000:]}"
    return int(match.group(1))


def test_removal_refused_while_the_driver_owns_a_volume(host):
    volume = csi(
        host,
        "CreateVolume",
        {
            "name": "pvc-vm-removal",
            "capacity_range": {"required_bytes": 64 * MIB},
            "volume_capabilities": [mount_capability("ext4")],
        },
    )["volume"]
    STATE["id"] = volume["volume_id"]
    run = run_driver_playbook({"csi_driver_state": "absent"})
    assert run.returncode != 0, "the driver was removed while it owned a volume"
    # Ansible prints a failed task's message on stderr.
    output = run.stdout + run.stderr
    assert "csi_driver_allow_data_loss" in output, output[-4000:]
    assert host.service(SERVICE.removesuffix(".service")).is_running, "the refused removal stopped the driver"
    assert host.file(f"{INSTALL_DIR}/current").is_symlink


def test_removal_removes_everything_it_installed(host):
    assert "id" in STATE, "the volume was not created"
    csi(host, "DeleteVolume", {"volume_id": STATE["id"]})
    assert namespace_named(host, STATE["id"]) is None
    run = run_driver_playbook({"csi_driver_state": "absent"})
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert recap_changed(run.stdout) > 0
    for path in (INSTALL_DIR, UNIT, f"{KUBELET_DIR}/plugins/{DRIVER_NAME}", "/var/lib/optane-csi"):
        assert not host.file(path).exists, f"{path} is still there after the removal"
    status = host.run(f"systemctl is-active {SERVICE}")
    assert status.stdout.strip() in ("inactive", "unknown"), status.stdout
    assert host.run(f"systemctl cat {SERVICE}").rc != 0, "systemd still knows the unit"
    # The declared namespaces (not the driver's) are untouched.
    assert namespace_named(host, "data-ext4") is not None
