"""Driver upgrade and rollback with the csi_driver role (pmem.optane.driver playbook), run
from the controller against the guest, while a published volume stays in use.

Versions: the wheel converge built (V0), the same code as V0.post1 (upgrade) and a build
of V0.post2 whose optane-csi exits at once (it never answers Probe: automatic rollback).
A deliberate rollback by pinning the previous version is the same role path without the
failure; tests/lifecycle/test_host_install.py runs it (step 5) with a real install, so the
guest, where each role run costs about a minute, does not repeat it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from conftest import (
    INSTALL_DIR,
    MIB,
    REPO_ROOT,
    SERVICE,
    csi,
    driver_installed,
    mount_capability,
    mount_of,
    run_driver_playbook,
    staging_path,
    target_path,
    wait_for_probe,
)

STATE: dict = {}
DATA = "written before the driver upgrade"


def load_wheels_module():
    """tests/lifecycle/wheels.py makes the version variants (the lifecycle issue's tool)."""
    path = REPO_ROOT / "tests" / "lifecycle" / "wheels.py"
    assert path.exists(), f"{path} is missing: the lifecycle tooling has not landed"
    spec = importlib.util.spec_from_file_location("pmem_lifecycle_wheels", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def current_version(host) -> str:
    return host.check_output(f"readlink {INSTALL_DIR}/current").rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory, host) -> dict:
    driver_installed(host)
    ephemeral = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    assert ephemeral, "MOLECULE_EPHEMERAL_DIRECTORY is not set: run through molecule verify"
    built = sorted(Path(ephemeral, "csi-driver-build", "dist").glob("pmem_optane_csi-*.whl"))
    assert len(built) == 1, f"expected the one wheel converge built, found {built}"
    deps = REPO_ROOT / ".build" / "lifecycle" / "deps"
    assert list(deps.glob("grpcio-*.whl")), f"{deps} has no dependency wheels: run `make lifecycle-deps`"
    base = built[0].name.split("-")[1]
    directory = tmp_path_factory.mktemp("wheelhouse")
    for wheel in [*deps.glob("*.whl"), built[0]]:
        shutil.copy2(wheel, directory / wheel.name)
    wheels = load_wheels_module()
    wheels.make_variant(built[0], directory, f"{base}.post1")
    wheels.make_variant(built[0], directory, f"{base}.post2", broken=True)
    return {"dir": str(directory), "v0": base, "v1": f"{base}.post1", "broken": f"{base}.post2"}


def test_volume_in_use_before_upgrade(host):
    response = csi(
        host,
        "CreateVolume",
        {
            "name": "pvc-vm-upgrade",
            "capacity_range": {"required_bytes": 64 * MIB},
            "volume_capabilities": [mount_capability("ext4")],
        },
    )
    vid = response["volume"]["volume_id"]
    STATE["id"] = vid
    host.check_output(f"mkdir -p {staging_path(vid)} $(dirname {target_path(vid, 'pod-upgrade')})")
    csi(
        host,
        "NodeStageVolume",
        {"volume_id": vid, "staging_target_path": staging_path(vid), "volume_capability": mount_capability()},
    )
    csi(
        host,
        "NodePublishVolume",
        {
            "volume_id": vid,
            "staging_target_path": staging_path(vid),
            "target_path": target_path(vid, "pod-upgrade"),
            "volume_capability": mount_capability(),
        },
    )
    host.check_output(f"echo '{DATA}' > {target_path(vid, 'pod-upgrade')}/data.txt && sync")


def volume_still_serves(host) -> None:
    assert "id" in STATE, "the volume in use was not created"
    vid = STATE["id"]
    assert mount_of(host, target_path(vid, "pod-upgrade")) is not None, "the published volume was unmounted"
    assert host.file(f"{target_path(vid, 'pod-upgrade')}/data.txt").content_string.strip() == DATA


def test_driver_upgrade_keeps_volumes(host, wheelhouse):
    assert current_version(host) == wheelhouse["v0"]
    run = run_driver_playbook(
        {"csi_driver_wheelhouse": wheelhouse["dir"], "csi_driver_version": wheelhouse["v1"]}
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert current_version(host) == wheelhouse["v1"]
    assert host.check_output(f"readlink {INSTALL_DIR}/previous").rstrip("/").endswith(wheelhouse["v0"])
    assert host.service(SERVICE.removesuffix(".service")).is_running
    wait_for_probe(host)
    volume_still_serves(host)


def test_failed_upgrade_rolls_back(host, wheelhouse):
    # The broken build exits at once: a few Probe attempts prove it, no need to wait long.
    run = run_driver_playbook(
        {
            "csi_driver_wheelhouse": wheelhouse["dir"],
            "csi_driver_version": wheelhouse["broken"],
            "csi_driver_probe_retries": 1,
            "csi_driver_probe_delay": 1,
        }
    )
    assert run.returncode != 0, "a driver that never answers Probe was accepted"
    assert "failed" in run.stdout
    assert current_version(host) == wheelhouse["v1"], "the role did not roll back to the running version"
    assert host.service(SERVICE.removesuffix(".service")).is_running
    wait_for_probe(host)
    volume_still_serves(host)


def test_volume_released_after_upgrades(host):
    assert "id" in STATE, "the volume in use was not created"
    vid = STATE["id"]
    csi(host, "NodeUnpublishVolume", {"volume_id": vid, "target_path": target_path(vid, "pod-upgrade")})
    csi(host, "NodeUnstageVolume", {"volume_id": vid, "staging_target_path": staging_path(vid)})
    csi(host, "DeleteVolume", {"volume_id": vid})
