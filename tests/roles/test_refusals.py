"""Refusals: no data loss without consent, foreign and CSI driver namespaces untouched."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
from conftest import VENV_BIN, ansible_env, make_fleet

pytestmark = pytest.mark.slow

CSI_NAME = "csi-" + hashlib.sha256(b"pvc-0001").hexdigest()[:40]


@pytest.fixture
def provisioned(tmp_path):
    """One provisioned 1-socket host that also holds a foreign and a CSI driver namespace."""
    fleet = make_fleet(tmp_path, 1, topologies="1s")
    inventory = fleet.inventory.read_text()
    # Leave room in the region for the namespaces made by hand.
    fleet.inventory.write_text(inventory.replace('"remaining"', '"4G"'))
    run = fleet.playbook("provision")
    assert run.rc == 0, run.stdout + run.stderr
    host = next(iter(fleet.hosts))
    for name in ("legacy", CSI_NAME):
        made = fleet.tool(
            host, "ndctl", "create-namespace", "-r", "region0", "-m", "fsdax", "-s", "1G", "-n", name
        )
        assert made.returncode == 0, made.stderr
    return fleet, host


def test_decommission_without_consent_refuses_and_changes_nothing(provisioned):
    fleet, _ = provisioned
    before = fleet.snapshot()

    run = fleet.playbook("decommission")

    assert run.rc != 0
    assert "namespaces_allow_data_loss" in run.stdout
    assert "db0" in run.stdout
    assert fleet.snapshot() == before


def test_decommission_with_consent_removes_only_declared_namespaces(provisioned):
    fleet, host = provisioned

    run = fleet.playbook("decommission", extra_vars={"namespaces_allow_data_loss": True})

    assert run.rc == 0, run.stdout + run.stderr
    assert set(fleet.namespaces(host)) == {"legacy", CSI_NAME}
    again = fleet.playbook("decommission", extra_vars={"namespaces_allow_data_loss": True})
    assert again.recap()[host]["changed"] == 0


def test_provision_leaves_foreign_and_csi_namespaces_alone(provisioned):
    fleet, host = provisioned
    before = fleet.snapshot()

    run = fleet.playbook("provision")

    assert run.rc == 0, run.stdout + run.stderr
    assert run.recap()[host]["changed"] == 0
    assert fleet.snapshot() == before


def test_purge_undeclared_spares_csi_namespaces(provisioned):
    fleet, host = provisioned

    refused = fleet.playbook("provision", extra_vars={"namespaces_purge_undeclared": True})
    assert refused.rc != 0 and "legacy" in refused.stdout
    assert "legacy" in fleet.namespaces(host)

    run = fleet.playbook(
        "provision", extra_vars={"namespaces_purge_undeclared": True, "namespaces_allow_data_loss": True}
    )

    assert run.rc == 0, run.stdout + run.stderr
    found = fleet.namespaces(host)
    assert "legacy" not in found
    assert CSI_NAME in found
    assert {"db0", "cache0", "scratch0"} <= set(found)


def test_declaring_a_csi_name_is_refused_before_any_change(provisioned):
    fleet, _ = provisioned
    before = fleet.snapshot()

    run = fleet.playbook(
        "provision",
        "--tags",
        "pmem_namespaces",
        extra_vars={
            "namespaces_layout": [{"name": CSI_NAME, "size": "1G"}],
            "namespaces_allow_data_loss": True,
        },
    )

    assert run.rc != 0
    assert "namespaces_layout[0].name" in run.stdout and "csi-" in run.stdout
    assert fleet.snapshot() == before


def test_bad_layout_names_field_and_rule(provisioned):
    fleet, _ = provisioned
    before = fleet.snapshot()

    run = fleet.playbook(
        "provision",
        extra_vars={
            "namespaces_layout": [
                {"name": "x", "size": "lots"},
                {"name": "x", "region": "region0", "numa_node": 0},
            ]
        },
    )

    assert run.rc != 0
    assert "namespaces_layout[0].size: lots is not a size" in run.stdout
    assert "namespaces_layout[1].name: x is declared twice" in run.stdout
    assert "namespaces_layout[1]: region and numa_node are mutually exclusive" in run.stdout
    assert fleet.snapshot() == before


# The playbooks import the roles with rolespec_validate: false; the roles check their
# variables on the controller (pmem.optane.role_argument_errors) before anything changes.
@pytest.mark.parametrize(
    ("playbook", "extra_vars", "message"),
    [
        (
            "provision",
            {"appdirect_memory_mode_percent": "lots"},
            "argument 'appdirect_memory_mode_percent' is of type str and we were unable to convert to int",
        ),
        (
            "provision",
            {"namespaces_filesystems": "maybe"},
            "argument 'namespaces_filesystems' is of type str and we were unable to convert to bool",
        ),
        (
            "decommission",
            {
                "namespaces_allow_data_loss": True,
                "namespaces_layout": [{"name": "db0", "size": "1G", "spare": 1}],
            },
            "namespaces_layout.spare",
        ),
    ],
)
def test_bad_role_variable_is_refused_naming_it_before_any_change(provisioned, playbook, extra_vars, message):
    fleet, _ = provisioned
    before = fleet.snapshot()

    run = fleet.playbook(playbook, extra_vars=extra_vars)

    assert run.rc != 0
    assert "Validation of arguments failed" in run.stdout, run.stdout
    assert message in run.stdout, run.stdout
    assert fleet.snapshot() == before


def test_controller_check_says_what_ansible_cores_role_check_says(fleet):
    """The lookup's messages are exactly those of ansible-core's own role argument check."""
    bad = {"namespaces_layout": [{"name": "db0", "mode": "raw-ish"}], "namespaces_reconfigure": "sometimes"}
    play = fleet.directory / "core-check.yml"
    tasks = [
        {
            "name": "Ask the lookup",
            "ansible.builtin.debug": {"msg": "{{ query('pmem.optane.role_argument_errors', 'namespaces') }}"},
        },
        {"name": "Ask ansible-core", "ansible.builtin.include_role": {"name": "pmem.optane.namespaces"}},
    ]
    play.write_text(json.dumps([{"hosts": "sim-001", "gather_facts": False, "tasks": tasks}]))
    done = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(fleet.inventory), str(play), "-e", json.dumps(bad)],
        env=ansible_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert done.returncode != 0, done.stdout
    results = [task["hosts"]["sim-001"] for task in json.loads(done.stdout)["plays"][0]["tasks"]]
    ours, core = results[0]["msg"], results[-1]
    assert core["failed"] and core["msg"].startswith("Validation of arguments failed"), core
    assert sorted(ours) == sorted(core["argument_errors"])
    assert any("namespaces_reconfigure" in message for message in ours), ours
    assert any("value of mode must be one of" in message for message in ours), ours
