"""Planner: unit cases plus hypothesis convergence on an in-memory host driven through apply_plan()."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from plugins.module_utils import errors
from plugins.module_utils.apply import apply_plan
from plugins.module_utils.ndctl import inventory_from_list, parse_list_output
from plugins.module_utils.planner import (
    CREATE_NAMESPACE,
    DESTROY_NAMESPACE,
    ENABLE_NAMESPACE,
    INIT_LABELS,
    RECONFIGURE_NAMESPACE,
    DesiredNamespace,
    plan_namespaces,
)
from plugins.module_utils.sizes import GIB, MIB, usable_size

from .conftest import CAPTURES, load_capture
from .statemodel import FakeHost, FakeRegion

D = DesiredNamespace


def host(*regions):
    return FakeHost(list(regions))


def converge(fake, desired, **flags):
    plan = plan_namespaces(desired, fake.inventory(), **flags)
    results = apply_plan(plan, fake)
    return plan, results, plan_namespaces(desired, fake.inventory(), **flags)


def test_create_then_nothing():
    fake = host(FakeRegion(0, 4 * GIB))
    plan, results, again = converge(fake, [D("web", size="1G"), D("db", mode="devdax", size=512 * MIB)])
    assert [a.kind for a in plan] == [CREATE_NAMESPACE, CREATE_NAMESPACE]
    assert plan[0].params == {"region": "region0", "mode": "fsdax", "size": GIB, "name": "web"}
    assert results[0]["namespace"]["size"] == 1054867456 and results[0]["namespace"]["name"] == "web"
    assert again == []
    inv = fake.inventory()
    assert inv.namespace_by_name("db").mode == "devdax" and inv.namespace_by_name("db").size == 526385152


def test_best_fit_and_numa_and_explicit_region():
    fake = host(
        FakeRegion(0, 8 * GIB, numa_node=0),
        FakeRegion(1, 2 * GIB, numa_node=0),
        FakeRegion(2, 4 * GIB, numa_node=1),
    )
    plan = plan_namespaces(
        [D("small", size="1G"), D("node1", size="1G", numa_node=1), D("pinned", size="1G", region="region0")],
        fake.inventory(),
    )
    assert [a.params["region"] for a in plan] == ["region1", "region2", "region0"]
    # All remaining goes to the roomiest region.
    plan = plan_namespaces([D("rest")], fake.inventory())
    assert plan[0].params["region"] == "region0" and plan[0].params["size"] == 8 * GIB


def test_percent_size_is_stable():
    fake = host(FakeRegion(0, 4 * GIB - 2 * MIB))
    plan, _, again = converge(fake, [D("half", size="50%")])
    assert plan[0].params["size"] == 2032 * MIB  # 50% of 4G-2M aligned down to 16M
    assert again == []


def test_sizes_with_units_and_misaligned_size():
    fake = host(FakeRegion(0, 4 * GIB))
    plan = plan_namespaces([D("x", size="1001M", region="region0")], fake.inventory())
    assert plan[0].params["size"] == 1008 * MIB  # rounded up to the 16 MiB granule
    assert "rounded up to 1008 MiB (a multiple of 16 MiB in region0)" in plan[0].reason
    plan, _, again = converge(fake, [D("x", size="1001M")])
    assert again == []
    with pytest.raises(errors.InvalidRequest) as info:
        plan_namespaces([D("x", size="lots")], fake.inventory())
    assert info.value.field == "namespaces[0].size"
    with pytest.raises(errors.InvalidRequest):
        plan_namespaces([D("x", size="8M")], fake.inventory())
    with pytest.raises(errors.InvalidRequest):
        plan_namespaces([D("x", size="0%")], fake.inventory())


def test_insufficient_capacity_names_extents():
    fake = host(FakeRegion(0, 1 * GIB))
    with pytest.raises(errors.InsufficientCapacity) as info:
        plan_namespaces([D("big", size="2G")], fake.inventory())
    assert "region0 1 GiB" in str(info.value)
    with pytest.raises(errors.InsufficientCapacity):
        plan_namespaces([D("a"), D("b")], fake.inventory())  # both want all remaining


def test_driver_prefix_refused_and_driver_namespaces_untouched():
    fake = host(FakeRegion(0, 4 * GIB))
    fake.add_existing("region0", "fsdax", GIB, "csi-" + "a" * 40)
    with pytest.raises(errors.InvalidRequest) as info:
        plan_namespaces([D("csi-mine", size="1G")], fake.inventory())
    assert info.value.field == "namespaces[0].name" and "CSI driver" in info.value.rule
    plan, _, again = converge(fake, [D("web", size="1G")], reconfigure=True, allow_data_loss=True)
    assert [a.kind for a in plan] == [CREATE_NAMESPACE] and again == []
    assert fake.inventory().namespace_by_name("csi-" + "a" * 40) is not None


def test_bad_input_names_the_field():
    inv = host(FakeRegion(0, GIB)).inventory()
    for desired, field in [
        ([D("")], "namespaces[0].name"),
        ([D("a"), D("a")], "namespaces[1].name"),
        ([D("a", mode="dax")], "namespaces[0].mode"),
        ([D("a", state="gone")], "namespaces[0].state"),
        ([D("a", mode="raw", align=2 * MIB)], "namespaces[0].align"),
        ([D("a", region="zero")], "namespaces[0].region"),
        ([D("a b")], "namespaces[0].name"),
    ]:
        with pytest.raises(errors.InvalidRequest) as info:
            plan_namespaces(desired, inv)
        assert info.value.field == field
    with pytest.raises(errors.NotFound):
        plan_namespaces([D("a", region="region7")], inv)


def test_differences_are_listed_and_need_consent():
    fake = host(FakeRegion(0, 4 * GIB))
    converge(fake, [D("web", size="1G")])
    with pytest.raises(errors.BadSize):  # 1 GiB devdax aligned to 1 GiB would hold 0 bytes
        plan_namespaces(
            [D("web", mode="devdax", size="1G", align=GIB)],
            fake.inventory(),
            reconfigure=True,
            allow_data_loss=True,
        )
    want = [D("web", mode="devdax", size="1G")]
    with pytest.raises(errors.Incompatible) as info:
        plan_namespaces(want, fake.inventory())
    assert len(info.value.differences) == 1 and "mode is fsdax, wanted devdax" in str(info.value)
    with pytest.raises(errors.SafeModeRefused):
        plan_namespaces(want, fake.inventory(), reconfigure=True)
    with pytest.raises(errors.Busy):
        plan_namespaces(want, fake.inventory(), reconfigure=True, allow_data_loss=True, in_use={"/dev/pmem0"})
    plan, _, again = converge(fake, want, reconfigure=True, allow_data_loss=True)
    assert [a.kind for a in plan] == [RECONFIGURE_NAMESPACE] and plan[0].destroys_data
    assert again == []
    assert fake.inventory().namespace_by_name("web").mode == "devdax"


def test_every_difference_listed():
    fake = host(FakeRegion(0, 4 * GIB), FakeRegion(1, 4 * GIB, numa_node=1))
    converge(fake, [D("a", size="1G"), D("b", size="1G", region="region1")])
    with pytest.raises(errors.Incompatible) as info:
        plan_namespaces(
            [D("a", size="2G"), D("b", mode="sector", size="1G", region="region0")], fake.inventory()
        )
    text = str(info.value)
    assert "a (namespace0.0): usable size" in text
    assert (
        "b (namespace1.0): mode is fsdax, wanted sector" in text
        and "lives in region1, wanted region0" in text
    )
    plan, _, again = converge(
        fake,
        [D("a", size="2G"), D("b", mode="sector", size="1G", region="region0")],
        reconfigure=True,
        allow_data_loss=True,
    )
    assert [a.kind for a in plan] == [
        DESTROY_NAMESPACE,
        DESTROY_NAMESPACE,
        CREATE_NAMESPACE,
        CREATE_NAMESPACE,
    ]
    assert again == []


def test_absent_destroys_unless_in_use():
    fake = host(FakeRegion(0, 4 * GIB))
    converge(fake, [D("web", size="1G"), D("tmp", mode="devdax", size="1G")])
    with pytest.raises(errors.Busy) as info:
        plan_namespaces([D("tmp", state="absent")], fake.inventory(), in_use={"dax0.1"})
    assert "tmp" in str(info.value)
    plan = plan_namespaces([D("tmp", state="absent")], fake.inventory(), in_use={"dax0.1"}, force=True)
    assert [a.kind for a in plan] == [DESTROY_NAMESPACE]
    plan, _, again = converge(fake, [D("tmp", state="absent")])
    assert plan[0].target == "namespace0.1" and plan[0].destroys_data and again == []
    assert plan_namespaces([D("never", state="absent")], fake.inventory()) == []


def test_label_less_region_needs_consent_then_init_labels():
    fake = host(FakeRegion(0, 4 * GIB - 2 * MIB, label_less=True))
    with pytest.raises(errors.SafeModeRefused) as info:
        plan_namespaces([D("web", size="1G")], fake.inventory())
    assert "label-less" in str(info.value) and "namespace0.0" in str(info.value)
    with pytest.raises(errors.Busy):
        plan_namespaces([D("web", size="1G")], fake.inventory(), allow_data_loss=True, in_use={"pmem0"})
    plan, _, again = converge(fake, [D("web", size="1G"), D("rest")], allow_data_loss=True)
    assert [a.kind for a in plan] == [INIT_LABELS, CREATE_NAMESPACE, CREATE_NAMESPACE]
    assert plan[0].params == {"nmems": ["nmem0"]} and plan[0].destroys_data
    assert fake.calls[:3] == [
        ("disable-region", "region0"),
        ("init-labels", "nmem0"),
        ("enable-region", "region0"),
    ]
    assert plan[2].params["size"] == 3 * GIB - 16 * MIB
    assert again == []


def test_label_less_whole_region_namespace():
    fake = host(FakeRegion(0, GIB - 128 * 1024, label_less=True))
    plan, _, again = converge(fake, [D("all")], allow_data_loss=True)
    assert [a.kind for a in plan] == [INIT_LABELS, CREATE_NAMESPACE]
    assert plan[1].params["size"] == GIB - 16 * MIB and again == []


def test_label_less_after_destroy_needs_no_consent():
    fake = host(FakeRegion(0, 4 * GIB, label_less=True))
    fake.destroy_namespace("namespace0.0", force=True)
    plan = plan_namespaces([D("web", size="1G")], fake.inventory())
    assert plan[0].kind == INIT_LABELS and not plan[0].destroys_data


def test_label_less_real_capture_plans_init_labels():
    inv = inventory_from_list(parse_list_output(load_capture(CAPTURES / "ndctl_list_-RDN_-iv.txt").stdout))
    plan = plan_namespaces([D("vol1", size="256M", numa_node=1)], inv, allow_data_loss=True)
    assert [(a.kind, a.target) for a in plan] == [(INIT_LABELS, "region1"), (CREATE_NAMESPACE, "region1")]
    assert plan[1].params["size"] == 256 * MIB


def test_disabled_namespace_is_enabled_first():
    fake = host(FakeRegion(0, 4 * GIB))
    converge(fake, [D("web", size="1G")])
    fake.regions["region0"].namespaces[0].enabled = False
    plan, _, again = converge(fake, [D("web", size="1G")])
    assert [a.kind for a in plan] == [ENABLE_NAMESPACE] and again == []


def test_apply_refuses_destructive_plan_without_consent():
    fake = host(FakeRegion(0, 4 * GIB))
    converge(fake, [D("web", size="1G")])
    plan = plan_namespaces([D("web", state="absent")], fake.inventory())
    with pytest.raises(errors.SafeModeRefused):
        apply_plan(plan, fake, allow_data_loss=False)
    assert fake.inventory().namespace_by_name("web") is not None


def test_action_dicts():
    plan = plan_namespaces([D("web", size="1G")], host(FakeRegion(0, 4 * GIB)).inventory())
    assert plan[0].to_dict() == {
        "kind": "create_namespace",
        "target": "region0",
        "params": {"region": "region0", "mode": "fsdax", "size": GIB, "name": "web"},
        "reason": "web is absent",
        "destroys_data": False,
    }


def test_from_dict():
    want = D.from_dict({"name": "x", "size": "50%", "align": "2M", "region": 1, "map": None})
    assert want == D("x", size="50%", align=2 * MIB, region="region1")
    with pytest.raises(errors.InvalidRequest) as info:
        D.from_dict({"name": "x", "colour": "red"})
    assert info.value.field == "namespaces.colour"


# --- property: one pass converges, a second plans nothing --------------------------------------

MODES = ["fsdax", "devdax", "sector", "raw"]
region_st = st.builds(
    lambda i, sixteens, slack, numa, label_less: FakeRegion(i, sixteens * 16 * MIB + slack, numa, label_less),
    st.just(0),
    st.integers(min_value=8, max_value=512),
    st.sampled_from([0, 2 * MIB]),
    st.integers(min_value=0, max_value=1),
    st.booleans(),
)
size_st = st.one_of(
    st.none(),
    st.sampled_from(["10%", "25%", "50%", "100%"]),
    st.integers(min_value=1, max_value=96).map(lambda n: n * 16 * MIB),
    st.sampled_from(["256M", "1G", "48M"]),
)
desired_st = st.builds(
    lambda mode, size, pin, numa, state, align: (mode, size, pin, numa, state, align),
    st.sampled_from(MODES),
    size_st,
    st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=1)),
    st.sampled_from(["present"] * 4 + ["absent"]),
    st.sampled_from([None, None, 4096, 2 * MIB]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(region_st, min_size=1, max_size=4),
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from(MODES),
            st.integers(1, 32),
            st.sampled_from([None, "old", "web", "csi-" + "0" * 40]),
        ),
        max_size=4,
    ),
    st.lists(desired_st, max_size=5),
    st.booleans(),
)
def test_one_pass_converges_and_second_plan_is_empty(regions, existing, desired_specs, consent):
    for index, region in enumerate(regions):
        region.index = index
    fake = FakeHost(regions)
    for region_index, mode, sixteens, name in existing:
        if region_index < len(regions):
            fake.add_existing(f"region{region_index}", mode, sixteens * 16 * MIB, name)
    desired = []
    for i, (mode, size, pin, numa, state, align) in enumerate(desired_specs):
        desired.append(
            D(
                name=f"ns{i}",
                mode=mode,
                size=size,
                region=f"region{pin}" if pin is not None and pin < len(regions) else None,
                numa_node=numa,
                state=state,
                align=align if mode in ("fsdax", "devdax") else None,
            )
        )
    if any(e[3] == "web" for e in existing):
        desired.append(D("web", mode="fsdax", size="256M"))
    before = fake.inventory()
    flags = {"reconfigure": consent, "allow_data_loss": consent}
    try:
        plan = plan_namespaces(desired, before, **flags)
    except (
        errors.InsufficientCapacity,
        errors.Incompatible,
        errors.SafeModeRefused,
        errors.InvalidRequest,
        errors.NotFound,
    ):
        assume(False)
        return
    # Consent rules: nothing destructive without allow_data_loss.
    if not consent:
        assert not any(a.destroys_data and a.kind != DESTROY_NAMESPACE for a in plan)
    apply_plan(plan, fake)  # every planned create must fit: no exception
    after = fake.inventory()
    assert plan_namespaces(desired, after, **flags) == []
    for want in desired:
        found = after.namespaces_by_name(want.name)
        if want.state == "absent":
            assert found == []
            continue
        assert len(found) == 1 and found[0].mode == want.mode and found[0].enabled
        region = after.region_by_dev(found[0].region)
        if want.region:
            assert found[0].region == want.region
        if want.numa_node is not None:
            assert region.numa_node == want.numa_node
        if isinstance(want.size, int):
            assert found[0].size == usable_size(want.mode, want.size, want.align)
    # Namespaces nobody asked about are untouched (same device, size and mode).
    wanted_names = {w.name for w in desired}
    for ns in before.namespaces():
        if ns.name and ns.name not in wanted_names:
            kept = after.namespace_by_dev(ns.dev)
            assert kept is not None and (kept.name, kept.size, kept.mode) == (ns.name, ns.size, ns.mode)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(MODES), st.integers(1, 16), st.booleans()), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["absent", "mode", "size"])), max_size=5),
    st.booleans(),
)
def test_devices_in_use_are_never_destroyed_without_force(existing, changes, force):
    fake = FakeHost([FakeRegion(0, 4 * GIB), FakeRegion(1, 4 * GIB - 2 * MIB, label_less=True)])
    for i, (mode, sixteens, _busy) in enumerate(existing):
        fake.add_existing("region0", mode, sixteens * 16 * MIB, f"vol{i}")
    inventory = fake.inventory()
    busy = {
        ns.device
        for i, (_m, _s, b) in enumerate(existing)
        if b
        for ns in inventory.namespaces_by_name(f"vol{i}")
    }
    busy.add("/dev/pmem1")  # the label-less raw namespace is mounted
    desired = []
    for target, change in changes:
        ns = inventory.namespace_by_name(f"vol{target}")
        if ns is None or any(d.name == ns.name for d in desired):
            continue
        if change == "absent":
            desired.append(D(ns.name, state="absent"))
        elif change == "mode":
            desired.append(D(ns.name, mode="raw" if ns.mode != "raw" else "fsdax"))
        else:
            desired.append(D(ns.name, mode=ns.mode, size="512M"))
    if force:
        desired.append(D("new-on-label-less", size="256M", region="region1"))
    else:
        with pytest.raises(errors.Busy):  # its raw namespace is mounted
            plan_namespaces(
                [D("new-on-label-less", size="256M", region="region1")],
                inventory,
                allow_data_loss=True,
                in_use=busy,
            )
    try:
        plan = plan_namespaces(
            desired, inventory, reconfigure=True, allow_data_loss=True, in_use=busy, force=force
        )
    except errors.Busy as exc:
        assert not force
        assert any(ns.name in str(exc) for ns in inventory.namespaces() if ns.device in busy)
        return
    except (errors.InsufficientCapacity, errors.BadSize):
        return
    touched = {a.target for a in plan if a.kind in (DESTROY_NAMESPACE, RECONFIGURE_NAMESPACE)}
    touched_devices = {inventory.namespace_by_dev(t).device for t in touched}
    if not force:
        assert not touched_devices & busy
        assert not any(a.kind == INIT_LABELS for a in plan)


@settings(max_examples=100, deadline=None)
@given(region_st, st.sampled_from(MODES), st.sampled_from([None, "100%", "50%"]))
def test_a_lone_namespace_always_fits_an_empty_region(region, mode, size):
    """No false 'no room' answers: one namespace on an empty (or label-less) region must be planned."""
    fake = FakeHost([region])
    plan = plan_namespaces([D("only", mode=mode, size=size)], fake.inventory(), allow_data_loss=True)
    apply_plan(plan, fake)
    found = fake.inventory().namespace_by_name("only")
    assert found is not None and found.mode == mode
    if size in (None, "100%"):
        assert fake.regions["region0"].max_extent() == 0  # all of it used
