"""Helpers for the role and playbook tests: a simulated fleet and ansible-playbook runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS = ROOT / ".build" / "collections"
SIMFLEET = ROOT / "scripts" / "simfleet.py"
# The fleet benchmark's callback: module calls per host and module, as JSON.
COUNTER_PLUGINS = ROOT / "bench" / "callbacks"
PLAYBOOK_TIMEOUT_S = 600


def library_sizes():
    """The collection's own size rules (plugins/module_utils/sizes.py)."""
    ensure_collection_link()
    if str(COLLECTIONS) not in sys.path:
        sys.path.insert(0, str(COLLECTIONS))
    from ansible_collections.pmem.optane.plugins.module_utils import sizes

    return sizes


def ensure_collection_link() -> None:
    """The same link `make collection-link` makes, so tests also run alone."""
    link = COLLECTIONS / "ansible_collections" / "pmem" / "optane"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)


def ansible_env(**extra: str) -> dict[str, str]:
    ensure_collection_link()
    env = dict(os.environ)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        ANSIBLE_LOCALHOST_WARNING="False",
    )
    env.update(extra)
    return env


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    # Module calls per host and module (module_counter callback); empty unless counted.
    calls: dict[str, dict[str, int]] = field(default_factory=dict)

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host."""
        hosts: dict[str, dict[str, int]] = {}
        in_recap = False
        for line in self.stdout.splitlines():
            if line.startswith("PLAY RECAP"):
                in_recap = True
                continue
            if in_recap and ":" in line and "=" in line:
                name, _, counters = line.partition(":")
                hosts[name.strip()] = {
                    key: int(value) for key, value in (item.split("=") for item in counters.split())
                }
        return hosts


@dataclass
class Fleet:
    directory: Path
    inventory: Path

    @property
    def hosts(self) -> dict[str, dict]:
        return json.loads(self.inventory.read_text())["all"]["hosts"]

    def state_file(self, host: str) -> Path:
        return Path(self.hosts[host]["pmem_environment"]["PMEMSIM_STATE"])

    def snapshot(self) -> dict[str, bytes]:
        return {host: self.state_file(host).read_bytes() for host in self.hosts}

    def playbook(
        self, name: str, *args: str, extra_vars: dict | None = None, count_calls: bool = False
    ) -> PlaybookRun:
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), f"pmem.optane.{name}", *args]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        counts = self.directory / f"calls-{name}.json"
        counts.unlink(missing_ok=True)
        counting = dict(
            ANSIBLE_CALLBACK_PLUGINS=str(COUNTER_PLUGINS),
            ANSIBLE_CALLBACKS_ENABLED="module_counter",
            PMEM_BENCH_COUNT_FILE=str(counts),
        )
        done = subprocess.run(
            argv,
            env=ansible_env(**(counting if count_calls else {})),
            capture_output=True,
            text=True,
            check=False,
            timeout=PLAYBOOK_TIMEOUT_S,
            cwd=self.directory,
        )
        calls = json.loads(counts.read_text())["calls"] if count_calls and counts.exists() else {}
        return PlaybookRun(done.returncode, done.stdout, done.stderr, calls)

    def tool(self, host: str, *argv: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PMEMSIM_STATE=str(self.state_file(host)))
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False, timeout=60)

    def namespaces(self, host: str) -> dict[str, dict]:
        out = self.tool(host, "ndctl", "list", "-N").stdout
        listed = json.loads(out) if out.strip() else []
        if isinstance(listed, dict):
            listed = [listed]
        return {ns["name"]: ns for ns in listed if ns.get("name") and ns.get("size", 0) > 0}


def make_fleet(directory: Path, hosts: int, topologies: str = "1s,2s", fail_goal: str = "") -> Fleet:
    if shutil.which("pmemsim", path=str(VENV_BIN)) is None:
        pytest.fail("the simulator (pmemsim) is not installed in the venv: run make venv")
    argv = [sys.executable, str(SIMFLEET), "--dir", str(directory), "--hosts", str(hosts)]
    argv += ["--topologies", topologies]
    if fail_goal:
        argv += ["--fail-goal", fail_goal]
    done = subprocess.run(argv, env=ansible_env(), capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return Fleet(directory, directory / "inventory.yml")


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    """Two factory-fresh simulated hosts: one with 1 socket, one with 2."""
    return make_fleet(tmp_path, 2)
