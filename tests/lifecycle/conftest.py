"""Helpers for the csi_driver role tests: run the role with ansible-playbook on localhost."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ROLE_DIR = ROOT / "roles" / "csi_driver"
RECAP_RE = re.compile(r"^localhost\s+:\s+(?P<fields>.*)$", re.MULTILINE)


@dataclass
class PlayResult:
    rc: int
    output: str
    recap: dict[str, int]

    @property
    def changed(self) -> int:
        return self.recap.get("changed", -1)

    @property
    def failed(self) -> int:
        return self.recap.get("failed", -1)


def parse_recap(output: str) -> dict[str, int]:
    match = RECAP_RE.search(output)
    if not match:
        return {}
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group("fields"))}


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collections path where pmem.optane is this checkout (as `make collection-link` does)."""
    base = tmp_path_factory.mktemp("collections")
    namespace_dir = base / "ansible_collections" / "pmem"
    namespace_dir.mkdir(parents=True)
    (namespace_dir / "optane").symlink_to(ROOT)
    return base


@functools.cache
def _can_unshare_network() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_role_in(
    work_dir: Path,
    collections_path: Path,
    variables: dict,
    *,
    check: bool = False,
    env: dict[str, str] | None = None,
    offline: bool = False,
    timeout: float = 600,
) -> PlayResult:
    """Run pmem.optane.csi_driver on localhost (local connection) with the given variables."""
    play_dir = work_dir / "play"
    play_dir.mkdir(parents=True, exist_ok=True)
    playbook = play_dir / "role.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Run the csi_driver role",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "roles": [{"role": "pmem.optane.csi_driver"}],
                }
            ]
        )
    )
    inventory = play_dir / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    extra_vars = play_dir / "vars.yml"
    extra_vars.write_text(yaml.safe_dump(variables))
    run_env = dict(os.environ)
    run_env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_PIPELINING": "1",
            "ANSIBLE_LOCAL_TEMP": str(work_dir / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(work_dir / "ansible-remote"),
            "PATH": f"{VENV_BIN}{os.pathsep}{run_env.get('PATH', '')}",
        }
    )
    run_env.update(env or {})
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra_vars}", str(playbook)]
    if check:
        argv.append("--check")
    if offline and _can_unshare_network():
        # A new network namespace has no route anywhere: proof that nothing is downloaded.
        argv = ["unshare", "--net", *argv]
    proc = subprocess.run(
        argv, cwd=play_dir, env=run_env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    return PlayResult(proc.returncode, output, parse_recap(output))


@pytest.fixture(scope="session")
def role_runner(collections_path: Path):
    """run_role_in bound to the session's collections path, for module-scoped fixtures."""

    def _run(work_dir: Path, variables: dict, **kwargs) -> PlayResult:
        return run_role_in(work_dir, collections_path, variables, **kwargs)

    return _run


@pytest.fixture
def run_role(tmp_path: Path, role_runner):
    """Run the role in this test's temporary directory."""

    def _run(variables: dict, **kwargs) -> PlayResult:
        return role_runner(tmp_path, variables, **kwargs)

    return _run


DEPS_DIR = ROOT / ".build" / "lifecycle" / "deps"
DISTRIBUTION = "pmem-optane-csi"


def offline_env() -> dict[str, str]:
    """No package index for pip on the controller: no config, no find-links, an index that cannot answer."""
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_NO_CACHE_DIR": "1",
    }


@pytest.fixture(scope="session")
def dependency_wheels() -> Path:
    """grpcio, grpcio-health-checking, protobuf and installer wheels (make lifecycle-deps)."""
    names = [p.name for p in DEPS_DIR.glob("*.whl")]
    for prefix in ("grpcio-", "grpcio_health_checking-", "protobuf-", "installer-"):
        if not any(name.startswith(prefix) for name in names):
            pytest.fail(f"{DEPS_DIR} has no {prefix}*.whl: run `make lifecycle-deps` (part of `make test`)")
    return DEPS_DIR


@pytest.fixture(scope="session")
def driver_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of driver/ and plugins/module_utils: the checkout may change during the run."""
    snapshot = tmp_path_factory.mktemp("collection-snapshot")
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "_gen")
    shutil.copytree(ROOT / "driver", snapshot / "driver", ignore=skip)
    shutil.copytree(ROOT / "plugins" / "module_utils", snapshot / "plugins" / "module_utils", ignore=skip)
    return snapshot


@pytest.fixture(scope="session")
def driver_wheel(tmp_path_factory: pytest.TempPathFactory, driver_source: Path) -> Path:
    """The driver wheel built offline from the snapshot."""
    staging = tmp_path_factory.mktemp("driver-src")
    shutil.copytree(driver_source, staging, dirs_exist_ok=True)
    dist = tmp_path_factory.mktemp("driver-dist")
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-q"]
    proc = subprocess.run(
        [*argv, "--wheel-dir", str(dist), str(staging / "driver")],
        capture_output=True,
        text=True,
        env={**os.environ, **offline_env(), "SOURCE_DATE_EPOCH": "315532800"},
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = dist.glob("pmem_optane_csi-*.whl")
    return wheel


def host_layout(base: Path) -> dict:
    """Role variables that put every installed file under `base` and leave systemd alone."""
    return {
        "csi_driver_install_dir": str(base / "opt" / "pmem-optane-csi"),
        "csi_driver_systemd_dir": str(base / "etc" / "systemd" / "system"),
        "csi_driver_kubelet_dir": str(base / "var" / "lib" / "kubelet"),
        "csi_driver_state_dir": str(base / "var" / "lib" / "optane-csi"),
        "csi_driver_build_dir": str(base / "build"),
        "csi_driver_python": sys.executable,
        "csi_driver_manage_service": False,
    }


def driver_help(venv: Path) -> str:
    """`optane-csi --help` from an installed virtualenv (fails the test if it does not run)."""
    return subprocess.run(
        [str(venv / "bin" / "optane-csi"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def installed_version(venv: Path) -> str:
    """The pmem-optane-csi version recorded (dist-info) in a virtualenv."""
    proc = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import importlib.metadata as m; print(m.version({DISTRIBUTION!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return proc.stdout.strip()
