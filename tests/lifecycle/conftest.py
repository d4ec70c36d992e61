"""Helpers for the csi_driver role tests: run the role with ansible-playbook on localhost."""

from __future__ import annotations

import os
import re
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


def run_role_in(
    work_dir: Path,
    collections_path: Path,
    variables: dict,
    *,
    check: bool = False,
    env: dict[str, str] | None = None,
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
            "ANSIBLE_LOCAL_TEMP": str(work_dir / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(work_dir / "ansible-remote"),
            "PATH": f"{VENV_BIN}{os.pathsep}{run_env.get('PATH', '')}",
        }
    )
    run_env.update(env or {})
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra_vars}", str(playbook)]
    if check:
        argv.append("--check")
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
