"""Planner + apply_plan + the real Ndctl wrapper against the simulator (in-process SimRunner).

The simulator reproduces real ndctl output, so these runs exercise the whole
library path: inventory parsing, planning, create/destroy/init-labels argv,
error mapping and the re-plan being empty.
"""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pmem_sim.runner import SimRunner
from pmem_sim.testing import make_state

from plugins.module_utils import errors
from plugins.module_utils.apply import apply_plan
from plugins.module_utils.ipmctl import Ipmctl
from plugins.module_utils.ndctl import INVENTORY_ARGS, Ndctl
from plugins.module_utils.planner import (
    CREATE_NAMESPACE,
    INIT_LABELS,
    DesiredGoal,
    DesiredNamespace,
    plan_goal,
    plan_namespaces,
)
from plugins.module_utils.sizes import MIB, usable_size

D = DesiredNamespace


def sim(tmp_path, **topology):
    runner = SimRunner(make_state(tmp_path, **topology))
    return runner, Ndctl(runner)


def converge(ndctl, desired, **flags):
    plan = plan_namespaces(desired, ndctl.inventory(), **flags)
    results = apply_plan(plan, ndctl)
    return plan, results, plan_namespaces(desired, ndctl.inventory(), **flags)


def test_inventory_is_one_call(tmp_path):
    runner, ndctl = sim(tmp_path, preset="qemu")
    inventory = ndctl.inventory()
    assert runner.calls == [("ndctl", *INVENTORY_ARGS)]
    assert [r.dev for r in inventory.regions] == ["region0", "region1"]


def test_qemu_label_less_to_named_namespaces(tmp_path):
    _runner, ndctl = sim(tmp_path, preset="qemu-captures")
    inventory = ndctl.inventory()
    assert all(r.label_less for r in inventory.regions)
    with pytest.raises(errors.SafeModeRefused):
        plan_namespaces([D("vol1", size="256M", numa_node=1)], inventory)
    plan, results, again = converge(
        ndctl,
        [D("vol1", size="256M", numa_node=1), D("vol2", mode="devdax", size="256M", numa_node=1)],
        allow_data_loss=True,
    )
    assert [a.kind for a in plan] == [INIT_LABELS, CREATE_NAMESPACE, CREATE_NAMESPACE]
    assert results[1]["namespace"]["size"] == usable_size("fsdax", 256 * MIB)
    assert results[2]["namespace"]["mode"] == "devdax"
    assert again == []
    inventory = ndctl.inventory()
    assert not inventory.region_by_dev("region1").label_less
    assert inventory.namespace_by_name("vol1").region == "region1"


def test_destroy_and_reconfigure_on_the_simulator(tmp_path):
    _, ndctl = sim(tmp_path, preset="qemu")
    converge(ndctl, [D("a", size="1G"), D("b", size="512M")], allow_data_loss=True)
    plan, _, again = converge(
        ndctl,
        [D("a", mode="sector", size="1G"), D("b", state="absent")],
        reconfigure=True,
        allow_data_loss=True,
    )
    assert sorted(a.kind for a in plan) == ["destroy_namespace", "reconfigure_namespace"]
    assert again == []
    inventory = ndctl.inventory()
    assert inventory.namespace_by_name("a").mode == "sector" and inventory.namespace_by_name("b") is None


def test_optane_goal_plan_on_the_simulator(tmp_path):
    runner = SimRunner(make_state(tmp_path, preset="optane-1s"))
    ipmctl = Ipmctl(runner)
    platform = ipmctl.platform()
    assert platform.optane_present and platform.ipmctl_usable and platform.module_count == 6
    modules = ipmctl.show_dimm()
    plan = plan_goal(DesiredGoal(), modules, ipmctl.show_region(), ipmctl.show_goal())
    assert [a.kind for a in plan] == ["create_goal"]
    apply_plan(plan, Ndctl(runner), ipmctl)
    goals = ipmctl.show_goal()
    assert len(goals) == 6 and all(g.pending for g in goals)
    assert plan_goal(DesiredGoal(), modules, ipmctl.show_region(), goals) == []


size_st = st.one_of(
    st.none(),
    st.sampled_from(["10%", "25%", "50%"]),
    st.integers(min_value=1, max_value=64).map(lambda n: n * 16 * MIB),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(["qemu", "qemu-captures"]),
    st.lists(
        st.tuples(
            st.sampled_from(["fsdax", "devdax", "sector", "raw"]), size_st, st.sampled_from([None, 0, 1])
        ),
        max_size=4,
    ),
)
def test_sim_one_pass_converges(tmp_path_factory, preset, specs):
    _, ndctl = sim(tmp_path_factory.mktemp("sim"), preset=preset)
    desired = [
        D(f"ns{i}", mode=mode, size=size, numa_node=numa) for i, (mode, size, numa) in enumerate(specs)
    ]
    try:
        plan = plan_namespaces(desired, ndctl.inventory(), allow_data_loss=True)
    except (errors.InsufficientCapacity, errors.InvalidRequest):
        assume(False)
        return
    apply_plan(plan, ndctl)
    after = ndctl.inventory()
    assert plan_namespaces(desired, after, allow_data_loss=True) == []
    for want in desired:
        found = after.namespace_by_name(want.name)
        assert found is not None and found.mode == want.mode
        if isinstance(want.size, int):
            assert found.size == usable_size(want.mode, want.size)


def test_dimms_without_label_support_leave_the_region_enabled(tmp_path):
    _, ndctl = sim(tmp_path, preset="qemu-nolabel")
    before = ndctl.inventory()
    assert all(r.label_less for r in before.regions)
    plan = plan_namespaces([D("web", size="1G", region="region0")], before, allow_data_loss=True)
    assert plan[0].kind == INIT_LABELS
    with pytest.raises(errors.LabelLessRegion) as info:
        apply_plan(plan, ndctl)
    assert "do not support namespace labels" in str(info.value)
    after = ndctl.inventory()
    assert after.region_by_dev("region0").enabled
    assert after.namespace_by_dev("namespace0.0").enabled  # the raw namespace is back
