"""The Molecule side_effect step (reboot.yml) rebooted the guest after recording it:
namespaces, mounts (with their data) and the driver must have come back by themselves."""

from __future__ import annotations

import json

from conftest import RECORD_DIR, SERVICE, driver_installed, mount_of, ndctl_namespaces, wait_for_probe


def before_reboot(host) -> dict:
    record = host.file(f"{RECORD_DIR}/before-reboot.json")
    assert record.exists, "no record from the reboot step: the side_effect (reboot.yml) did not run"
    return json.loads(record.content_string)


def test_guest_was_rebooted(host):
    assert (
        host.file("/proc/sys/kernel/random/boot_id").content_string.strip() != before_reboot(host)["boot_id"]
    )


def test_namespaces_came_back(host):
    before = {ns["uuid"]: ns for ns in before_reboot(host)["namespaces"] if ns.get("uuid")}
    assert before, "no labelled namespaces were recorded before the reboot"
    after = {ns["uuid"]: ns for ns in ndctl_namespaces(host) if ns.get("uuid")}
    for uuid, ns in before.items():
        assert uuid in after, f"namespace {ns.get('name')} ({uuid}) did not come back"
        for key in ("name", "mode", "size"):
            assert after[uuid].get(key) == ns.get(key), (key, ns, after[uuid])


def test_mounts_came_back_with_data(host, layout):
    for entry in [e for e in layout if e.get("mount_path")]:
        mount = mount_of(host, entry["mount_path"])
        assert mount is not None, f"{entry['mount_path']} was not mounted again at boot"
        assert "dax=always" in mount["options"].split(","), mount
        marker = host.file(f"{entry['mount_path']}/before-reboot.txt")
        assert marker.exists, f"the marker written before the reboot is gone from {entry['mount_path']}"
        assert entry["name"] in marker.content_string


def test_driver_came_back(host):
    driver_installed(host)
    service = host.service(SERVICE.removesuffix(".service"))
    assert service.is_running, f"{SERVICE} did not start at boot"
    pid = host.check_output(f"systemctl show -p MainPID --value {SERVICE}")
    assert pid != before_reboot(host)["driver_pid"]
    wait_for_probe(host)
