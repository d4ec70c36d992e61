"""provision.yml on a simulated fleet: converges, is idempotent, gates reboots, fails bad BIOS nodes alone."""

from __future__ import annotations

import json

import pytest
from conftest import library_sizes, make_fleet

pytestmark = pytest.mark.slow

GIB = 1024**3


def test_provision_converges_then_changes_nothing(tmp_path):
    fleet = make_fleet(tmp_path, 2, topologies="1s,2s")

    first = fleet.playbook("provision")
    assert first.rc == 0, first.stdout + first.stderr
    assert all(counts["changed"] > 0 for counts in first.recap().values())
    for host, host_vars in fleet.hosts.items():
        found = fleet.namespaces(host)
        declared = {entry["name"]: entry for entry in host_vars["namespaces_layout"]}
        assert set(found) == set(declared), host
        for name, entry in declared.items():
            assert found[name]["mode"] == entry["mode"], (host, name)
        # size is the request ndctl gets; fsdax keeps its page metadata out of it.
        assert found["db0"]["size"] == library_sizes().usable_size("fsdax", 16 * GIB)
    converged = fleet.snapshot()

    second = fleet.playbook("provision", count_calls=True)
    assert second.rc == 0, second.stdout + second.stderr
    assert {host: counts["changed"] for host, counts in second.recap().items()} == dict.fromkeys(
        fleet.hosts, 0
    )
    assert fleet.snapshot() == converged
    # Gather once, decide on the controller: the namespaces role reuses the appdirect
    # role's facts, so a compliant host costs one module call.
    assert second.calls == {host: {"pmem.optane.pmem_info": 1} for host in fleet.hosts}


def test_nothing_reboots_unless_allowed(tmp_path):
    fleet = make_fleet(tmp_path, 1, topologies="1s")

    run = fleet.playbook("provision", extra_vars={"appdirect_allow_reboot": False})

    assert run.rc == 0, run.stdout + run.stderr
    assert "takes effect at the" in run.stdout and "next reboot" in run.stdout
    host = next(iter(fleet.hosts))
    goals = fleet.tool(host, "ipmctl", "show", "-goal").stdout
    assert "A reboot is required" in goals
    # No reboot happened: still no region, so no namespace either.
    assert fleet.tool(host, "ndctl", "list", "-R").stdout.strip() in ("", "[]")


def test_bios_failure_fails_only_that_node_with_ipmctl_message(tmp_path):
    fleet = make_fleet(tmp_path, 2, topologies="1s", fail_goal="2")
    bad, good = "sim-002", "sim-001"

    run = fleet.playbook("provision")

    recap = run.recap()
    assert run.rc != 0
    assert recap[bad]["failed"] == 1
    assert recap[good]["failed"] == 0
    assert "Failed - " in run.stdout
    assert set(fleet.namespaces(good)) == {"db0", "cache0", "scratch0"}
    assert fleet.namespaces(bad) == {}


def test_serial_batches_converge_every_host(tmp_path):
    fleet = make_fleet(tmp_path, 3, topologies="1s")

    run = fleet.playbook("provision", extra_vars={"pmem_serial": 1, "pmem_max_fail_percentage": 0})

    assert run.rc == 0, run.stdout + run.stderr
    assert run.stdout.count("PLAY [Provision Intel Optane persistent memory]") == 3
    for host in fleet.hosts:
        assert set(fleet.namespaces(host)) == {"db0", "cache0", "scratch0"}


def test_facts_playbook_prints_the_fleet_table(tmp_path):
    fleet = make_fleet(tmp_path, 2, topologies="1s,2s")
    assert fleet.playbook("provision").rc == 0
    report = tmp_path / "table.txt"

    run = fleet.playbook("facts", extra_vars={"pmem_facts_report": str(report)})

    assert run.rc == 0, run.stdout + run.stderr
    lines = report.read_text().splitlines()
    assert lines[0].split()[:3] == ["HOST", "PMEM", "DIMMS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(fleet.hosts)
    assert "db0:fsdax" in rows["sim-001"] and "scratch1:fsdax" in rows["sim-002"]
    assert json.loads(json.dumps(lines))  # plain text, one line per host
