"""Host-service form without systemd (csi_driver_manage_service: false): build or take a
wheelhouse, install with no package index into a temporary root, stay idempotent, upgrade
keeping the previous version, refuse a broken wheelhouse, remove behind the volume guard.

Each role run costs seconds, so the lifecycle is one scenario, step by step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from .conftest import VENV_BIN, driver_help, host_layout, installed_version, offline_env
from .simulation import Simulator, naming
from .wheels import make_variant

pytestmark = pytest.mark.slow

PLATFORM_PREFIX = f"cp{sys.version_info[0]}{sys.version_info[1]}-manylinux_"


def make_wheelhouse(directory: Path, dependency_wheels: Path, *driver_wheels: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for wheel in [*dependency_wheels.glob("*.whl"), *driver_wheels]:
        shutil.copy2(wheel, directory / wheel.name)
    return directory


def installed_paths(base: Path, driver_name: str) -> list[Path]:
    return [
        base / "opt" / "pmem-optane-csi",
        base / "etc" / "systemd" / "system" / "optane-csi.service",
        base / "var" / "lib" / "kubelet" / "plugins" / driver_name,
        base / "var" / "lib" / "optane-csi",
    ]


def test_lifecycle_build_install_upgrade_pin_refuse_remove(
    tmp_path, run_role, dependency_wheels, driver_wheel, driver_source
):
    install = tmp_path / "opt" / "pmem-optane-csi"
    kubelet = tmp_path / "var" / "lib" / "kubelet"
    socket_dir = kubelet / "plugins" / "pmem.example.org"
    common = {**host_layout(tmp_path), "csi_driver_name": "pmem.example.org", "csi_driver_node_id": "node-7"}

    def run(variables: dict, *, ok: bool = True, **kwargs):
        result = run_role(variables, env={**offline_env(), **kwargs.pop("env", {})}, offline=True, **kwargs)
        if ok:
            assert result.rc == 0, result.output
        return result

    # 1. Default path: build the wheel from the collection's driver/ on the controller, fetch
    #    the dependencies for the target's platform (here from a local directory, no index).
    build = {
        **common,
        "csi_driver_source_dir": str(driver_source),
        "csi_driver_build_isolation": False,
        "csi_driver_pip_download_args": ["--no-index", f"--find-links={dependency_wheels}"],
    }
    run(build)
    (built_house,) = (tmp_path / "build" / "wheelhouse").iterdir()
    assert built_house.name.startswith(PLATFORM_PREFIX)
    names = sorted(p.name for p in built_house.iterdir())
    for prefix in ("pmem_optane_csi-", "grpcio-", "grpcio_health_checking-", "protobuf-", "installer-"):
        assert any(n.startswith(prefix) for n in names), names
    base_version = driver_wheel.name.split("-")[1]
    assert os.readlink(install / "current") == base_version
    assert installed_version(install / "current") == base_version
    assert not (install / "previous").exists()
    assert "--driver-name" in driver_help(install / "current")

    unit = (tmp_path / "etc" / "systemd" / "system" / "optane-csi.service").read_text()
    directives = [line for line in unit.splitlines() if not line.lstrip().startswith("#")]
    assert f"ExecStart={install}/current/bin/optane-csi \\" in directives
    text = "\n".join(directives)
    assert f"--endpoint unix://{socket_dir}/csi.sock" in text
    assert "--driver-name pmem.example.org" in text
    assert "--node-id node-7" in text
    assert f"--kubelet-dir {kubelet}" in text
    assert "KillMode=mixed" in text
    for forbidden in ("PrivateMounts", "MountFlags", "ProtectSystem", "PrivateTmp", "ExecStop"):
        assert forbidden not in text
    assert socket_dir.is_dir()

    # 2. Same sources, same bytes: nothing changes on a re-run.
    assert run(build).changed == 0

    # 3. Air-gapped wheelhouse with a newer version: upgrade, keep the previous one.
    variants = tmp_path / "variants"
    wheelhouse = make_wheelhouse(
        tmp_path / "wheelhouse",
        dependency_wheels,
        driver_wheel,
        make_variant(driver_wheel, variants, "99.0.1"),
    )
    airgapped = {**common, "csi_driver_wheelhouse": str(wheelhouse)}
    run(airgapped)
    assert os.readlink(install / "current") == "99.0.1"
    assert os.readlink(install / "previous") == base_version
    assert installed_version(install / "99.0.1") == "99.0.1"
    assert installed_version(install / base_version) == base_version
    shipped = sorted(p.name for p in (install / "wheelhouse" / "99.0.1").glob("pmem_optane_csi-*"))
    assert shipped == ["pmem_optane_csi-99.0.1-py3-none-any.whl"]  # only this version travels
    # Only what the host lacked was copied: the dependency wheels came from the first version's.
    (archive,) = (tmp_path / "build" / "ship").glob("*/99.0.1-*.tar")
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["pmem_optane_csi-99.0.1-py3-none-any.whl"]

    def dependencies(version: str) -> list[str]:
        house = install / "wheelhouse" / version
        return sorted(p.name for p in house.iterdir() if not p.name.startswith("pmem_optane_csi-"))

    assert dependencies("99.0.1") == dependencies(base_version)
    assert any(name.startswith("grpcio-") for name in dependencies("99.0.1"))

    # 4. One more: the oldest is pruned (virtualenv and copied wheels); re-run changes nothing.
    shutil.copy2(make_variant(driver_wheel, variants, "99.0.2"), wheelhouse)
    run(airgapped)
    assert os.readlink(install / "current") == "99.0.2"
    assert os.readlink(install / "previous") == "99.0.1"
    assert not (install / base_version).exists()
    assert not (install / "wheelhouse" / base_version).exists()
    assert run(airgapped).changed == 0

    # 5. Pinning the previous version is a deliberate rollback.
    run({**airgapped, "csi_driver_version": "99.0.1"})
    assert os.readlink(install / "current") == "99.0.1"
    assert os.readlink(install / "previous") == "99.0.2"
    assert sorted(p.name for p in install.iterdir()) == [
        "99.0.1",
        "99.0.2",
        "current",
        "previous",
        "wheelhouse",
    ]

    # 6. No index to fall back to: a wheelhouse without grpcio fails before anything switches.
    broken_house = make_wheelhouse(
        tmp_path / "broken-house", dependency_wheels, make_variant(driver_wheel, variants, "99.0.3")
    )
    for wheel in broken_house.glob("grpcio-*.whl"):
        wheel.unlink()
    failed = run({**common, "csi_driver_wheelhouse": str(broken_house)}, ok=False)
    assert failed.rc != 0
    assert "requires grpcio, and no wheel of it was shipped" in failed.output
    assert os.readlink(install / "current") == "99.0.1"
    assert not (install / "99.0.3" / ".pmem-optane-installed").exists()

    # 7. Removal is refused while the driver owns a volume on the host.
    state_dir = tmp_path / "var" / "lib" / "optane-csi"
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "erase-marks").write_text("")  # made by the driver at run time
    sim = Simulator(tmp_path / "sim.json")
    volume = naming.volume_id_for("pvc-0b5e6c1a")
    sim.create("region0", volume)
    sim.create("region1", "appdata")  # not the driver's
    sim_env = {**sim.env, "PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    absent = {**airgapped, "csi_driver_state": "absent", "csi_driver_ndctl": str(VENV_BIN / "ndctl")}
    refused = run(absent, ok=False, env=sim_env)
    assert refused.rc != 0
    assert "csi_driver_allow_data_loss" in refused.output
    assert volume in refused.output
    assert "appdata" not in refused.output.split("refusing", 1)[1]
    assert refused.changed == 0
    for path in installed_paths(tmp_path, "pmem.example.org"):
        assert path.exists(), path

    # 8. With consent: check mode reports and keeps everything, the real run removes it all
    #    but never a namespace, and a second removal has nothing left to do.
    consent = {**absent, "csi_driver_allow_data_loss": True}
    checked = run(consent, check=True, env=sim_env)
    assert checked.changed > 0
    for path in installed_paths(tmp_path, "pmem.example.org"):
        assert path.exists(), path
    run(consent, env=sim_env)
    for path in installed_paths(tmp_path, "pmem.example.org"):
        assert not path.exists(), path
    assert sim.names() == sorted(["appdata", volume])
    assert run(consent, env=sim_env).changed == 0


def test_removal_needs_no_consent_without_driver_volumes(tmp_path, run_role):
    sim = Simulator(tmp_path / "sim.json")
    sim.create("region1", "appdata")
    variables = {
        **host_layout(tmp_path),
        "csi_driver_state": "absent",
        "csi_driver_ndctl": str(VENV_BIN / "ndctl"),
    }
    result = run_role(variables, env={**sim.env, "PATH": f"{VENV_BIN}:/usr/bin:/bin"})
    assert result.rc == 0, result.output
    assert result.changed == 0
    assert sim.names() == ["appdata"]


def test_removal_on_a_host_without_ndctl(tmp_path, run_role):
    """No ndctl: the driver cannot have made volumes here, so the guard lets removal proceed."""
    variables = {
        **host_layout(tmp_path),
        "csi_driver_state": "absent",
        "csi_driver_ndctl": str(tmp_path / "none"),
    }
    result = run_role(variables)
    assert result.rc == 0, result.output
    assert result.changed == 0


def test_unknown_version_is_refused(tmp_path, run_role, dependency_wheels, driver_wheel):
    wheelhouse = make_wheelhouse(tmp_path / "wheelhouse", dependency_wheels, driver_wheel)
    variables = {
        **host_layout(tmp_path),
        "csi_driver_wheelhouse": str(wheelhouse),
        "csi_driver_version": "7.7.7",
    }
    result = run_role(variables, env=offline_env(), offline=True)
    assert result.rc != 0
    assert "csi_driver_wheelhouse" in result.output
    assert "pmem_optane_csi-7.7.7" in result.output
    assert driver_wheel.name.split("-")[1] in result.output  # the versions it has
    assert not (tmp_path / "opt").exists()


def test_check_mode_installs_nothing(tmp_path, run_role, dependency_wheels, driver_wheel):
    wheelhouse = make_wheelhouse(tmp_path / "wheelhouse", dependency_wheels, driver_wheel)
    variables = {**host_layout(tmp_path), "csi_driver_wheelhouse": str(wheelhouse)}
    result = run_role(variables, check=True, env=offline_env(), offline=True)
    assert result.rc == 0, result.output
    assert result.changed > 0  # it reports what it would do
    for path in ("opt", "etc", "var"):
        assert not (tmp_path / path).exists(), path


def test_rebuilt_wheel_of_an_installed_version_installs_again(
    tmp_path, run_role, dependency_wheels, driver_wheel
):
    """Same version number, other bytes: only the new driver wheel travels, the dependencies
    come from the version's own wheel directory, and the rebuilt wheel is what runs."""
    install = tmp_path / "opt" / "pmem-optane-csi"
    first = make_wheelhouse(
        tmp_path / "house-a", dependency_wheels, make_variant(driver_wheel, tmp_path / "va", "99.1.0")
    )
    rebuilt = make_wheelhouse(
        tmp_path / "house-b",
        dependency_wheels,
        make_variant(driver_wheel, tmp_path / "vb", "99.1.0", broken=True),
    )
    common = host_layout(tmp_path)
    marker = install / "99.1.0" / ".pmem-optane-installed"
    result = run_role({**common, "csi_driver_wheelhouse": str(first)}, env=offline_env(), offline=True)
    assert result.rc == 0, result.output
    before = marker.read_text()
    assert "--driver-name" in driver_help(install / "current")

    result = run_role({**common, "csi_driver_wheelhouse": str(rebuilt)}, env=offline_env(), offline=True)
    assert result.rc == 0, result.output
    assert result.changed > 0
    after = marker.read_text()
    assert after != before and "grpcio-" in after
    archives = sorted((tmp_path / "build" / "ship").glob("*/99.1.0-*.tar"), key=lambda p: p.stat().st_mtime)
    with tarfile.open(archives[-1]) as tar:
        assert tar.getnames() == ["pmem_optane_csi-99.1.0-py3-none-any.whl"]
    assert installed_version(install / "99.1.0") == "99.1.0"
    # The broken build's entry point is the one installed now: it exits at once.
    entry_point = install / "current" / "bin" / "optane-csi"
    run = subprocess.run([str(entry_point), "--help"], capture_output=True, text=True, timeout=60)
    assert "--driver-name" not in run.stdout
