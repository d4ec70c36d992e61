"""Molecule verify step: the simulated fleet is in the state the roles promise.

Reads each host's simulator state through the simulated tools themselves
(ndctl, ipmctl), exactly as an operator on the node would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")

GIB = 1024**3
CSI_NAMESPACE = "csi-" + hashlib.sha256(b"pvc-molecule").hexdigest()[:40]


def tool(host, *argv: str) -> str:
    """Run a simulated tool against this host's own state file and return stdout."""
    name = host.backend.get_hostname()
    state = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "pmemsim" / f"{name}.json"
    bindir = os.path.dirname(os.environ.get("MOLECULE_PYTHON", "") or _venv_python())
    command = (
        f"env PMEMSIM_STATE={shlex.quote(str(state))} PATH={shlex.quote(bindir)}:/usr/bin:/bin "
        + shlex.join(argv)
    )
    result = host.run(command)
    assert result.rc == 0, f"{command}: rc {result.rc}: {result.stdout}{result.stderr}"
    return result.stdout


def _venv_python() -> str:
    import sys

    return sys.executable


def namespaces(host) -> dict[str, dict]:
    out = tool(host, "ndctl", "list", "-N", "-v")
    listed = json.loads(out) if out.strip() else []
    if isinstance(listed, dict):
        listed = [listed]
    return {ns["name"]: ns for ns in listed if ns.get("name") and ns.get("size", 0) > 0}


def regions(host) -> list[dict]:
    out = tool(host, "ndctl", "list", "-R")
    listed = json.loads(out) if out.strip() else []
    return [listed] if isinstance(listed, dict) else listed


def test_healthy_hosts_have_one_app_direct_region_per_socket(host):
    name = host.backend.get_hostname()
    if name == "sim-badbios":
        return
    expected_sockets = {"sim-1socket": 1, "sim-2socket": 2}[name]
    found = regions(host)
    assert len(found) == expected_sockets
    assert all(region["type"] == "pmem" for region in found)


def test_declared_namespaces_exist_with_mode_and_placement(host):
    name = host.backend.get_hostname()
    found = namespaces(host)
    if name == "sim-1socket":
        assert found["db0"]["mode"] == "fsdax"
        # 16G is the request ndctl gets; fsdax keeps its page metadata out of it.
        assert 15.5 * GIB <= found["db0"]["size"] < 16 * GIB
        assert found["cache0"]["mode"] == "devdax"
        assert found["scratch0"]["mode"] == "fsdax"
        # "remaining" took the rest: nothing left in the region.
        assert all(region["available_size"] == 0 for region in regions(host))
    elif name == "sim-2socket":
        assert found["db0"]["numa_node"] == 0
        assert found["db1"]["numa_node"] == 1
        assert found["cache1"]["mode"] == "devdax"


def test_foreign_and_csi_namespaces_survive(host):
    if host.backend.get_hostname() != "sim-2socket":
        return
    found = namespaces(host)
    assert found["legacy"]["size"] >= GIB - 64 * 1024**2
    assert CSI_NAMESPACE in found


def test_bios_failure_leaves_the_failed_goal_and_no_region(host):
    if host.backend.get_hostname() != "sim-badbios":
        return
    goals = tool(host, "ipmctl", "show", "-a", "-goal")
    assert "Failed - " in goals
    assert regions(host) == []
    assert namespaces(host) == {}
