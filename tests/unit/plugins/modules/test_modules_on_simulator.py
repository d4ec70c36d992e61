"""The four modules run against the in-process simulator (no processes, no mocks of our own).

Each test builds a simulated host, runs a module with the simulator's SimRunner behind
AnsibleModule.run_command, and checks the result, the commands' effect on the simulator, and
that check mode and refusals leave the state file byte for byte unchanged.
"""

import pytest
from ansible_collections.pmem.optane.plugins.modules import pmem_dax, pmem_goal, pmem_info, pmem_namespace
from uthelper import reboot, run_module


def run(module, args, monkeypatch, runner, **flags):
    return run_module(module, args, monkeypatch, runner, **flags)


def labelled_qemu(make, monkeypatch):
    runner = make("qemu")
    for argv in (
        ["ndctl", "disable-region", "all"],
        ["ndctl", "init-labels", "all"],
        ["ndctl", "enable-region", "all"],
    ):
        assert runner.run(argv).rc == 0
    return runner


# --- pmem_info ------------------------------------------------------------------------------


def test_info_on_qemu_without_optane(host, monkeypatch, tmp_path):
    make, state = host
    runner = make("qemu")
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/pmem0 /mnt/raw ext4 rw 0 0\n")
    before = state.read_bytes()
    result = run(pmem_info, {"mounts_path": str(mounts)}, monkeypatch, runner)
    assert not result["failed"], result["msg"]
    assert result["changed"] is False
    assert result["platform"]["ipmctl_usable"] is False
    assert result["platform"]["ndctl_usable"] is True
    assert "No PMem modules" in result["platform"]["reason"]
    assert sorted(r["dev"] for r in result["regions"]) == ["region0", "region1"]
    assert all(r["label_less"] for r in result["regions"])
    raw0 = [ns for ns in result["namespaces"] if ns["blockdev"] == "pmem0"]
    assert raw0 and raw0[0]["mounts"] == ["/mnt/raw"]
    assert state.read_bytes() == before


def test_info_on_optane_reports_modules_and_pending_goal(host, monkeypatch):
    make, _state = host
    runner = make("optane-1s")
    created = run(pmem_goal, {}, monkeypatch, runner)
    assert created["changed"], created.get("msg")
    result = run(pmem_info, {}, monkeypatch, runner)
    assert result["platform"]["optane_present"] is True
    assert result["platform"]["ipmctl_usable"] is True
    assert result["platform"]["module_count"] == 6
    assert len(result["dimms"]) == 6
    assert {d["socket_id"] for d in result["dimms"]} == {0}
    assert result["goals"] and all(g["pending"] and not g["failed"] for g in result["goals"])


def test_info_returns_ipmctl_attributes_only_when_asked(host, monkeypatch):
    make, _state = host
    runner = make("optane-1s")
    assert run(pmem_goal, {}, monkeypatch, runner)["changed"]

    lean = run(pmem_info, {"gather": ["optane"]}, monkeypatch, runner)
    full = run(pmem_info, {"gather": ["optane"], "ipmctl_attributes": True}, monkeypatch, runner)

    assert lean["dimms"] and lean["goals"]
    for key in ("dimms", "goals", "ipmctl_regions"):
        assert all("attributes" not in entry for entry in lean[key]), key
    assert all(entry["attributes"]["DimmID"] == entry["dimm_id"] for entry in full["dimms"])
    assert all(entry["attributes"]["SocketID"] for entry in full["goals"])
    # The named facts are the same either way; only the raw table is added.
    assert [dict(d, attributes=None) for d in full["dimms"]] == [
        dict(d, attributes=None) for d in lean["dimms"]
    ]


# --- pmem_goal ------------------------------------------------------------------------------


def test_goal_four_steps_then_reboot(host, monkeypatch):
    make, state = host
    runner = make("optane-2s")
    args = {"persistent_memory_type": "AppDirect"}
    before = state.read_bytes()
    check = run(pmem_goal, args, monkeypatch, runner, check=True, diff=True)
    assert check["changed"] and check["reboot_required"], check.get("msg")
    assert [a["kind"] for a in check["plan"]] == ["create_goal"]
    assert state.read_bytes() == before, "check mode changed the simulator"
    applied = run(pmem_goal, args, monkeypatch, runner)
    assert applied["changed"] and applied["reboot_required"]
    assert len(applied["goals"]) == 12
    again = run(pmem_goal, args, monkeypatch, runner)
    assert not again["changed"] and again["reboot_required"] and again["plan"] == []
    snapshot = state.read_bytes()
    again_check = run(pmem_goal, args, monkeypatch, runner, check=True)
    assert not again_check["changed"]
    assert state.read_bytes() == snapshot
    reboot(state)
    after_boot = run(pmem_goal, args, monkeypatch, runner)
    assert not after_boot["changed"], after_boot.get("msg")
    assert after_boot["reboot_required"] is False
    assert after_boot["current"]["0"]["persistent_memory_type"] == "AppDirect"


def test_goal_refuses_destroying_namespaces_without_consent(host, monkeypatch):
    make, state = host
    runner = make("optane-1s")
    run(pmem_goal, {}, monkeypatch, runner)
    reboot(state)
    ns = run(pmem_namespace, {"name": "db", "size": "16G"}, monkeypatch, runner)
    assert ns["changed"], ns.get("msg")
    before = state.read_bytes()
    refused = run(pmem_goal, {"memory_mode": 50}, monkeypatch, runner)
    assert refused["failed"]
    assert "allow_data_loss" in refused["msg"]
    assert state.read_bytes() == before
    consented = run(pmem_goal, {"memory_mode": 50, "allow_data_loss": True}, monkeypatch, runner)
    assert consented["changed"], consented.get("msg")
    assert [a["kind"] for a in consented["plan"]] == ["destroy_namespace", "create_goal"]
    info = run(pmem_info, {}, monkeypatch, runner)
    assert not [n for n in info["namespaces"] if n["name"] == "db"]


def test_goal_failed_by_bios_reports_ipmctl_status(host, monkeypatch):
    make, state = host
    runner = make("optane-1s")
    run(pmem_goal, {}, monkeypatch, runner)
    reboot(state, fail="Failed - Not enough resources")
    failed = run(pmem_goal, {}, monkeypatch, runner)
    assert failed["failed"]
    assert "Not enough resources" in failed["msg"]
    removed = run(pmem_goal, {"state": "absent"}, monkeypatch, runner)
    assert removed["changed"] and [a["kind"] for a in removed["plan"]] == ["delete_goal"]
    assert not run(pmem_goal, {"state": "absent"}, monkeypatch, runner)["changed"]


def test_goal_without_optane_fails_clearly(host, monkeypatch):
    make, _state = host
    runner = make("qemu")
    result = run(pmem_goal, {}, monkeypatch, runner)
    assert result["failed"]
    assert "No PMem modules" in result["msg"]


# --- pmem_namespace ---------------------------------------------------------------------------


def test_namespace_four_steps_create_and_destroy(host, monkeypatch, tmp_path):
    make, state = host
    runner = labelled_qemu(make, monkeypatch)
    args = {"name": "db", "region": "region0", "size": "1G", "mounts_path": str(tmp_path / "none")}
    before = state.read_bytes()
    check = run(pmem_namespace, args, monkeypatch, runner, check=True, diff=True)
    assert check["changed"], check.get("msg")
    assert state.read_bytes() == before
    assert check["size"] == 1054867456
    created = run(pmem_namespace, args, monkeypatch, runner, diff=True)
    assert created["changed"]
    assert created["size"] == 1054867456
    assert created["namespace"]["name"] == "db" and created["namespace"]["mode"] == "fsdax"
    assert created["diff"]["before"] == {}
    again = run(pmem_namespace, args, monkeypatch, runner)
    assert not again["changed"] and again["plan"] == []
    snapshot = state.read_bytes()
    assert not run(pmem_namespace, args, monkeypatch, runner, check=True)["changed"]
    assert state.read_bytes() == snapshot
    gone = dict(args, state="absent")
    assert run(pmem_namespace, gone, monkeypatch, runner)["changed"]
    assert not run(pmem_namespace, gone, monkeypatch, runner)["changed"]


def test_namespace_differences_are_listed_and_need_both_flags(host, monkeypatch):
    make, state = host
    runner = labelled_qemu(make, monkeypatch)
    run(pmem_namespace, {"name": "db", "region": "region0", "size": "1G"}, monkeypatch, runner)
    before = state.read_bytes()
    differs = run(
        pmem_namespace,
        {"name": "db", "region": "region0", "size": "1G", "mode": "sector"},
        monkeypatch,
        runner,
    )
    assert differs["failed"]
    assert "mode is fsdax, wanted sector" in differs["msg"]
    assert differs["differences"]
    half = run(
        pmem_namespace,
        {"name": "db", "region": "region0", "size": "1G", "mode": "sector", "reconfigure": True},
        monkeypatch,
        runner,
    )
    assert half["failed"] and "allow_data_loss" in half["msg"]
    assert state.read_bytes() == before
    done = run(
        pmem_namespace,
        {
            "name": "db",
            "region": "region0",
            "size": "1G",
            "mode": "sector",
            "reconfigure": True,
            "allow_data_loss": True,
        },
        monkeypatch,
        runner,
    )
    assert done["changed"], done.get("msg")
    assert done["namespace"]["mode"] == "sector"


def test_namespace_refuses_destroying_mounted_device(host, monkeypatch, tmp_path):
    make, state = host
    runner = labelled_qemu(make, monkeypatch)
    created = run(pmem_namespace, {"name": "data", "region": "region1", "size": "512M"}, monkeypatch, runner)
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/{} /mnt/data xfs rw 0 0\n".format(created["namespace"]["blockdev"]))
    before = state.read_bytes()
    refused = run(
        pmem_namespace, {"name": "data", "state": "absent", "mounts_path": str(mounts)}, monkeypatch, runner
    )
    assert refused["failed"] and "/mnt/data" in refused["msg"]
    assert state.read_bytes() == before
    forced = run(
        pmem_namespace,
        {"name": "data", "state": "absent", "mounts_path": str(mounts), "force": True},
        monkeypatch,
        runner,
    )
    assert forced["changed"], forced.get("msg")


def test_namespace_label_less_needs_consent(host, monkeypatch):
    make, state = host
    runner = make("qemu")
    before = state.read_bytes()
    refused = run(pmem_namespace, {"name": "first", "region": "region0", "size": "1G"}, monkeypatch, runner)
    assert refused["failed"] and "allow_data_loss" in refused["msg"]
    assert state.read_bytes() == before
    done = run(
        pmem_namespace,
        {"name": "first", "region": "region0", "size": "1G", "allow_data_loss": True},
        monkeypatch,
        runner,
    )
    assert done["changed"], done.get("msg")
    assert "init_labels" in [a["kind"] for a in done["plan"]]
    assert done["namespace"]["name"] == "first"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"name": "x", "size": "12 apples"}, "size:"),
        ({"name": "csi-0123", "size": "1G"}, "name:"),
        ({"name": "x", "size": "0"}, "size:"),
        ({"name": "x", "region": "r0"}, "region:"),
        ({"name": "x", "align": "3M", "size": "1G"}, "align:"),
    ],
)
def test_namespace_bad_input_names_field(host, monkeypatch, args, field):
    make, state = host
    runner = labelled_qemu(make, monkeypatch)
    before = state.read_bytes()
    result = run(pmem_namespace, args, monkeypatch, runner)
    assert result["failed"]
    assert result["msg"].startswith(field), result["msg"]
    assert state.read_bytes() == before


# --- pmem_dax -------------------------------------------------------------------------------


def test_dax_system_ram_persisted(host, monkeypatch, tmp_path):
    make, state = host
    runner = labelled_qemu(make, monkeypatch)
    created = run(
        pmem_namespace,
        {"name": "mem", "mode": "devdax", "region": "region0", "size": "1G"},
        monkeypatch,
        runner,
    )
    assert created["changed"], created.get("msg")
    conf_dir = tmp_path / "conf.d"
    args = {"namespace": "mem", "mode": "system-ram", "allow_data_loss": True, "conf_dir": str(conf_dir)}
    before = state.read_bytes()
    check = run(pmem_dax, args, monkeypatch, runner, check=True, diff=True)
    assert check["changed"] and state.read_bytes() == before and not conf_dir.exists()
    applied = run(pmem_dax, args, monkeypatch, runner)
    assert applied["changed"], applied.get("msg")
    assert applied["device"]["mode"] == "system-ram"
    conf = (conf_dir / "pmem-optane-mem.conf").read_text()
    assert "[reconfigure-device pmem-optane-mem]" in conf
    assert "nvdimm.uuid = {}".format(created["namespace"]["uuid"]) in conf
    assert "mode = system-ram" in conf
    assert not run(pmem_dax, args, monkeypatch, runner)["changed"]
    assert not run(pmem_dax, args, monkeypatch, runner, check=True)["changed"]
    busy = run(pmem_namespace, {"name": "mem", "state": "absent"}, monkeypatch, runner)
    assert busy["failed"] and "system-ram" in busy["msg"]
    back = run(
        pmem_dax,
        {"namespace": "mem", "mode": "devdax", "force": True, "conf_dir": str(conf_dir)},
        monkeypatch,
        runner,
    )
    assert back["changed"], back.get("msg")
    assert back["device"]["mode"] == "devdax"
    assert not (conf_dir / "pmem-optane-mem.conf").exists()


# --- host lock ------------------------------------------------------------------------------


def test_changes_wait_for_the_host_lock(host, monkeypatch, tmp_path):
    from ansible_collections.pmem.optane.plugins.module_utils.hostlock import HostLock

    make, state = host
    runner = labelled_qemu(make, monkeypatch)
    args = {"name": "db", "region": "region0", "size": "1G", "lock_timeout": 0.3}
    before = state.read_bytes()
    with HostLock(path=str(tmp_path / "lock"), timeout=1):
        blocked = run(pmem_namespace, args, monkeypatch, runner)
        # Check mode changes nothing, so it does not wait for the lock.
        planned = run(pmem_namespace, args, monkeypatch, runner, check=True)
    assert blocked["failed"]
    assert "lock" in blocked["msg"] and str(tmp_path / "lock") in blocked["msg"]
    assert state.read_bytes() == before
    assert planned["changed"] and not planned["failed"]
    assert run(pmem_namespace, args, monkeypatch, runner)["changed"]
