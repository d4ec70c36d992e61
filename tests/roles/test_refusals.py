"""Refusals: no data loss without consent, foreign and CSI driver namespaces untouched."""

from __future__ import annotations

import hashlib

import pytest
from conftest import make_fleet

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
