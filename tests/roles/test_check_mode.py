"""Check mode of site.yml changes nothing in any simulated host's state, byte for byte."""

from __future__ import annotations

import json

import pytest
from conftest import make_fleet

pytestmark = pytest.mark.slow


def test_check_mode_on_factory_fleet_changes_no_state(tmp_path):
    fleet = make_fleet(tmp_path, 3, topologies="1s,2s")
    before = fleet.snapshot()

    run = fleet.playbook("site", "--check")

    assert run.rc == 0, run.stdout + run.stderr
    # It would change something (a goal on every factory-fresh host) ...
    assert all(counts["changed"] > 0 for counts in run.recap().values()), run.stdout
    # ... but changed nothing.
    assert fleet.snapshot() == before


def test_check_mode_on_provisioned_fleet_with_new_layout_changes_no_state(tmp_path):
    fleet = make_fleet(tmp_path, 2, topologies="1s,2s")
    # Leave room in the regions for the namespace added below.
    fleet.inventory.write_text(fleet.inventory.read_text().replace('"remaining"', '"4G"'))
    first = fleet.playbook("provision")
    assert first.rc == 0, first.stdout + first.stderr
    before = fleet.snapshot()
    # A different declaration: drop one namespace, add another, with consent.
    inventory = json.loads(fleet.inventory.read_text())
    for host_vars in inventory["all"]["hosts"].values():
        layout = host_vars["namespaces_layout"]
        layout[0]["state"] = "absent"
        layout.append({"name": "extra", "numa_node": 0, "size": "1G"})
    fleet.inventory.write_text(json.dumps(inventory))

    run = fleet.playbook("site", "--check", extra_vars={"namespaces_allow_data_loss": True})

    assert run.rc == 0, run.stdout + run.stderr
    assert fleet.snapshot() == before
