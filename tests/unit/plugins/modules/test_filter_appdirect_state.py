"""The appdirect_state filter on pmem_info results read from the simulator, and pmem_info's gather."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.pmem.optane.plugins.filter.appdirect_state import FilterModule
from ansible_collections.pmem.optane.plugins.modules import pmem_goal, pmem_info
from uthelper import reboot, run_module

state_of = FilterModule().filters()["appdirect_state"]
ROLE_GATHER = {"gather": ["optane", "ndctl"]}


def counted(runner):
    """The runner, with the argv of every call it makes appended to the returned list."""
    calls = []
    run = runner.run

    def recording(argv, *args, **kwargs):
        calls.append(list(argv))
        return run(argv, *args, **kwargs)

    runner.run = recording
    return calls


def test_factory_fresh_node_is_not_compliant(host, monkeypatch):
    make, _ = host
    facts = run_module(pmem_info, ROLE_GATHER, monkeypatch, make("optane-2s"))
    found = state_of(facts)
    assert found["optane"] is True and found["compliant"] is False
    assert found["volatile_bytes"] == 0 and found["failed_goal_messages"] == []


def test_pending_goal_then_applied_goal(host, monkeypatch):
    make, state = host
    runner = make("optane-2s")
    assert run_module(pmem_goal, {}, monkeypatch, runner)["changed"]
    pending = run_module(pmem_info, ROLE_GATHER, monkeypatch, runner)
    assert state_of(pending)["compliant"] is False  # a listed goal is never compliant
    reboot(state)
    applied = run_module(pmem_info, ROLE_GATHER, monkeypatch, runner)
    assert state_of(applied)["compliant"] is True
    # The same facts against other declarations.
    assert state_of(applied, persistent_memory_type="AppDirectNotInterleaved")["compliant"] is False
    assert state_of(applied, memory_mode_percent=20)["compliant"] is False
    assert state_of(applied, reserved_percent=5)["compliant"] is False
    assert state_of(applied, sockets=[1])["compliant"] is True
    assert state_of(applied, sockets=[7])["compliant"] is False  # no modules there


def test_memory_mode_capacity_and_doubt(host, monkeypatch):
    make, state = host
    runner = make("optane-1s")
    run_module(pmem_goal, {"memory_mode": 50}, monkeypatch, runner)
    reboot(state)
    facts = run_module(pmem_info, ROLE_GATHER, monkeypatch, runner)
    found = state_of(facts)
    assert found["volatile_bytes"] > 0 and found["compliant"] is False
    # A module whose Memory Mode capacity ipmctl does not say is doubt, never compliant.
    doubtful = dict(facts, dimms=[dict(m, memory_capacity=None) for m in facts["dimms"]])
    assert state_of(doubtful)["volatile_bytes"] == -1


def test_failed_goal_messages_are_ipmctls_own(host, monkeypatch):
    make, state = host
    runner = make("optane-1s")
    run_module(pmem_goal, {}, monkeypatch, runner)
    reboot(state, fail="Failed - Not enough resources")
    found = state_of(run_module(pmem_info, ROLE_GATHER, monkeypatch, runner))
    assert found["compliant"] is False
    assert len(found["failed_goal_messages"]) == 1
    assert "Not enough resources" in found["failed_goal_messages"][0]


def test_no_optane_and_bad_input(host, monkeypatch):
    make, _ = host
    found = state_of(run_module(pmem_info, ROLE_GATHER, monkeypatch, make("qemu")))
    assert found == {"optane": False, "compliant": False, "volatile_bytes": 0, "failed_goal_messages": []}
    with pytest.raises(AnsibleFilterError, match="persistent_memory_type"):
        state_of({}, persistent_memory_type="MemoryMode")
    with pytest.raises(AnsibleFilterError, match="pmem_info result"):
        state_of([])


@pytest.mark.parametrize(
    ("gather", "tools", "gathered"),
    [
        (["all"], ["ipmctl"] * 4 + ["ndctl", "daxctl"], ["daxctl", "memory_resources", "ndctl", "optane"]),
        (["optane", "ndctl"], ["ipmctl"] * 3 + ["ndctl"], ["ndctl", "optane"]),
        (["memory_resources"], ["ipmctl"] * 4, ["memory_resources", "optane"]),
        (["ndctl"], ["ndctl"], ["ndctl"]),
        (["daxctl"], ["daxctl"], ["daxctl"]),
    ],
)
def test_pmem_info_gathers_only_what_is_asked(host, monkeypatch, gather, tools, gathered):
    make, state = host
    runner = make("optane-1s")
    run_module(pmem_goal, {}, monkeypatch, runner)
    reboot(state)
    calls = counted(runner)
    facts = run_module(pmem_info, {"gather": gather}, monkeypatch, runner)
    assert sorted(argv[0].rsplit("/", 1)[-1] for argv in calls) == sorted(tools)
    assert facts["gathered"] == gathered
    assert bool(facts["dimms"]) == ("optane" in gathered)
    assert bool(facts["memory_resources"]) == ("memory_resources" in gathered)
    assert bool(facts["regions"]) == ("ndctl" in gathered)
    assert facts["platform"]["ndctl_usable"] == ("ndctl" in gathered)


def test_pmem_info_rejects_an_unknown_part(host, monkeypatch):
    make, _ = host
    failed = run_module(pmem_info, {"gather": ["optane", "firmware"]}, monkeypatch, make("optane-1s"))
    assert failed["failed"] and "gather" in failed["msg"] and "firmware" in failed["msg"]
