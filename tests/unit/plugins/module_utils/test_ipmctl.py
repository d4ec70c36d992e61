"""ipmctl: nvmxml parsing (documented-layout reconstructions), real no-PMem captures, errors."""

import pytest

from plugins.module_utils import errors
from plugins.module_utils.ipmctl import (
    Ipmctl,
    no_pmem_modules,
    parse_status,
    parse_xml,
    raise_for_failed_goals,
)

from .conftest import (
    CAPTURES,
    IPMCTL_XML,
    TRANSCRIPTS,
    FixedRunner,
    ReplayRunner,
    load_capture,
    load_transcript,
)

AD = 135291469824
CAP = 136365211648


def xml(name):
    return load_capture(IPMCTL_XML / name)


def ipmctl_for(*names):
    runner = ReplayRunner([xml(n) for n in names])
    return Ipmctl(runner), runner


def test_show_dimm_all_attributes():
    ipm, runner = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-dimm.txt")
    modules = ipm.show_dimm()
    assert runner.calls == [("ipmctl", "show", "-a", "-o", "nvmxml", "-u", "B", "-dimm")]
    assert [m.dimm_id for m in modules] == ["0x0001", "0x0011", "0x1001", "0x1011"]
    assert [m.socket_id for m in modules] == [0, 0, 1, 1]
    first = modules[0]
    assert first.capacity == CAP and first.app_direct_capacity == AD and first.memory_capacity == 0
    assert first.health_state == "Healthy" and first.lock_state == "Disabled"
    assert first.fw_version == "02.02.00.1553" and first.dimm_uid == "8089-a2-1837-00000be8"
    assert first.configuration_status == "Valid" and first.sku_violation is False
    assert first.attributes["PartNumber"] == "NMA1XBD128GQS"
    assert first.to_dict()["capacity"] == CAP


def test_show_region_and_no_regions():
    ipm, _ = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-region.txt")
    regions = ipm.show_region()
    assert [(r.socket_id, r.persistent_memory_type, r.capacity, r.free_capacity) for r in regions] == [
        (0, "AppDirect", 2 * AD, 2 * AD),
        (1, "AppDirect", 2 * AD, AD),
    ]
    assert regions[0].dimm_ids == ("0x0001", "0x0011")
    assert regions[1].iset_id == 0xAF67DA902D5A8A22 and regions[0].region_id == 1
    ipm, _ = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-region.no-regions.txt")
    assert ipm.show_region() == []


def test_show_goal_new_failed_and_none():
    ipm, _ = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-goal.txt")
    goals = ipm.show_goal()
    assert len(goals) == 4 and all(g.status_prefix == "New" and g.pending and not g.failed for g in goals)
    assert goals[2].socket_id == 1 and goals[2].app_direct1_size == AD and goals[2].memory_size == 0
    assert goals[0].app_direct1_settings == "x2 (ByOne)" and goals[0].app_direct2_settings is None
    raise_for_failed_goals(goals)

    ipm, _ = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-goal.failed.txt")
    failed = ipm.show_goal()
    assert {g.status_prefix for g in failed} == {"Failed - Not enough resources"}
    assert all(g.failed and not g.pending for g in failed)
    with pytest.raises(errors.GoalFailed) as info:
        raise_for_failed_goals(failed)
    assert "Failed - Not enough resources on module 0x0001" in str(info.value)

    ipm, _ = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-goal.no-goals.txt")
    assert ipm.show_goal() == []


def test_memory_resources_topology_sensor_firmware_capabilities():
    ipm, runner = ipmctl_for(
        "ipmctl_show_-o_nvmxml_-u_B_-memoryresources.txt",
        "ipmctl_show_-o_nvmxml_-u_B_-topology.txt",
        "ipmctl_show_-o_nvmxml_-u_B_-sensor.txt",
        "ipmctl_show_-o_nvmxml_-u_B_-dimm_-firmware.txt",
        "ipmctl_show_-a_-o_nvmxml_-u_B_-system_-capabilities.txt",
    )
    resources = ipm.show_memory_resources()
    assert resources.app_direct == {"ddr": None, "pmem_module": 4 * AD, "total": 4 * AD}
    assert resources.volatile["ddr"] == 192 << 30 and resources.pmem_app_direct == 4 * AD
    assert resources.cache == {"ddr": 0, "pmem_module": None, "total": 0}
    topology = ipm.show_topology()
    assert [t.is_pmem for t in topology] == [True] * 4 + [False]
    assert topology[-1].memory_type == "DDR4" and topology[0].device_locator == "CPU1_DIMM_A1"
    sensors = ipm.show_sensor()
    assert len(sensors) == 20
    assert (sensors[0].dimm_id, sensors[0].type, sensors[0].current_value) == ("0x0001", "Health", "Healthy")
    assert sensors[1].current_value == "34C"
    firmware = ipm.show_firmware()
    assert firmware[0].active_fw_version == "02.02.00.1553" and firmware[0].staged_fw_version is None
    caps = ipm.show_system_capabilities()
    assert caps["PlatformConfigSupported"] == "1" and caps["CurrentVolatileMode"] == "1LM"
    assert runner.calls[-1] == ("ipmctl", "show", "-a", "-o", "nvmxml", "-u", "B", "-system", "-capabilities")


NO_PMEM_CAPTURES = sorted(p.name for p in CAPTURES.glob("ipmctl_show*"))


@pytest.mark.parametrize("name", NO_PMEM_CAPTURES)
def test_real_no_pmem_captures(name):
    rec = load_capture(CAPTURES / name)
    assert rec.rc == 1 and no_pmem_modules(rec.stdout)
    with pytest.raises(errors.NoPmemModules) as info:
        Ipmctl(FixedRunner((rec.rc, rec.stdout, rec.stderr))).show_dimm()
    assert info.value.tool_message == "Initialization failed. No PMem modules in the system."
    assert info.value.rc == 1


def test_real_no_pmem_transcripts_with_nvmxml():
    recs = [
        r for p in TRANSCRIPTS.glob("*.log") for r in load_transcript(p) if r.argv[0] == "ipmctl" and r.rc
    ]
    assert any("nvmxml" in r.argv for r in recs)
    for rec in recs:
        with pytest.raises(errors.NoPmemModules):
            Ipmctl(FixedRunner((rec.rc, rec.stdout, rec.stderr))).show_goal()


@pytest.mark.parametrize(
    "text",
    [
        "Initialization failed. No PMem modules in the system.\n",
        "No DIMMs in the system.\n",
        "No functional DIMMs in the system.\n",
        "No functional PMem modules in the system.\n",
    ],
)
def test_every_no_modules_wording(text):
    assert no_pmem_modules(text)
    platform = Ipmctl(FixedRunner((1, text, ""))).platform()
    assert not platform.optane_present and not platform.ipmctl_usable
    assert text.strip() in platform.reason


def test_platform_probe():
    ipm, runner = ipmctl_for("ipmctl_show_-a_-o_nvmxml_-u_B_-dimm.txt")
    platform = ipm.platform()
    assert platform.optane_present and platform.ipmctl_usable and platform.module_count == 4
    assert len(ipm.show_dimm()) == 4
    assert len(runner.calls) == 1, "probing then listing costs one call"


class MissingRunner:
    def run(self, argv, *, stdin=None):
        raise errors.ToolMissing(f"{argv[0]} is not installed", argv=argv)


def test_platform_tool_missing_is_not_usable():
    platform = Ipmctl(MissingRunner()).platform()
    assert not platform.ipmctl_usable and "not installed" in platform.reason
    platform = Ipmctl(FixedRunner((127, "", "ipmctl: not found"))).platform()
    assert not platform.ipmctl_usable and "not installed" in platform.reason


def test_platform_not_root():
    rec = xml("ipmctl_show_-a_-o_nvmxml_-u_B_-dimm.not-root.txt")
    platform = Ipmctl(FixedRunner((rec.rc, rec.stdout, rec.stderr))).platform()
    assert not platform.ipmctl_usable and "root" in platform.reason


def test_create_goal_argv_and_result():
    ipm, runner = ipmctl_for(
        "ipmctl_create_-o_nvmxml_-u_B_-goal_MemoryMode=0_PersistentMemoryType=AppDirect.txt"
    )
    goals = ipm.create_goal("AppDirect")
    assert runner.calls == [
        (
            "ipmctl",
            "create",
            "-o",
            "nvmxml",
            "-u",
            "B",
            "-goal",
            "MemoryMode=0",
            "PersistentMemoryType=AppDirect",
        )
    ]
    assert len(goals) == 4 and goals[0].app_direct1_size == AD
    ipm, runner = ipmctl_for(
        "ipmctl_create_-o_nvmxml_-u_B_-goal_-socket_1_MemoryMode=0_PersistentMemoryType=AppDirectNotInterleaved.txt"
    )
    goals = ipm.create_goal("AppDirectNotInterleaved", sockets=[1])
    assert [g.socket_id for g in goals] == [1, 1]


@pytest.mark.parametrize(
    "kwargs,argv_tail",
    [
        ({"memory_mode": 100}, ["MemoryMode=100"]),
        (
            {"memory_mode": 50, "reserved": 10},
            ["MemoryMode=50", "PersistentMemoryType=AppDirect", "Reserved=10"],
        ),
        ({"sockets": [1, 0, 1]}, ["-socket", "0,1", "MemoryMode=0", "PersistentMemoryType=AppDirect"]),
        (
            {"namespace_label_version": "1.2"},
            ["MemoryMode=0", "PersistentMemoryType=AppDirect", "NamespaceLabelVersion=1.2"],
        ),
    ],
)
def test_create_goal_args(kwargs, argv_tail):
    args = Ipmctl.create_goal_args(**kwargs)
    assert args[:5] == ["create", "-o", "nvmxml", "-u", "B"] and args[5] == "-goal"
    assert args[6:] == argv_tail


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"persistent_memory_type": "MemoryMode"}, "persistent_memory_type"),
        ({"memory_mode": 101}, "memory_mode"),
        ({"memory_mode": 60, "reserved": 50}, "memory_mode"),
        ({"reserved": -1}, "reserved"),
        ({"sockets": []}, "sockets"),
        ({"sockets": ["0"]}, "sockets"),
        ({"namespace_label_version": "2.0"}, "namespace_label_version"),
    ],
)
def test_create_goal_rejects_bad_input(kwargs, field):
    runner = FixedRunner()
    with pytest.raises(errors.InvalidRequest) as info:
        Ipmctl(runner).create_goal(**kwargs)
    assert info.value.field == field and runner.calls == []


@pytest.mark.parametrize(
    "name,cls,code",
    [
        (
            "ipmctl_create_-o_nvmxml_-u_B_-goal_MemoryMode=0_PersistentMemoryType=AppDirect.goal-exists.txt",
            errors.Busy,
            115,
        ),
        (
            "ipmctl_create_-o_nvmxml_-u_B_-goal_MemoryMode=0_PersistentMemoryType=AppDirect.namespaces-exist.txt",
            errors.SafeModeRefused,
            124,
        ),
        ("ipmctl_create_-o_nvmxml_-u_B_-goal_MemoryMode=60_Reserved=50.txt", errors.InvalidRequest, None),
    ],
)
def test_create_goal_errors(name, cls, code):
    rec = xml(name)
    with pytest.raises(cls) as info:
        Ipmctl(FixedRunner((rec.rc, rec.stdout, rec.stderr))).create_goal()
    err = info.value
    assert err.status_code == code and err.rc == rec.rc
    assert (
        err.tool_message and err.tool_message in rec.stdout.replace("\n", " ")
    ) or "Syntax Error" in err.tool_message


def test_delete_goal():
    ipm, runner = ipmctl_for("ipmctl_delete_-o_nvmxml_-goal.txt")
    lines = ipm.delete_goal()
    assert runner.calls == [("ipmctl", "delete", "-o", "nvmxml", "-goal")]
    assert lines[0] == "Delete memory allocation goal from PMem module 0x0001: Success"
    rec = xml("ipmctl_delete_-o_nvmxml_-goal.no-goal.txt")
    # Modules without a goal are fine: there is nothing to delete.
    assert len(Ipmctl(FixedRunner((rec.rc, rec.stdout, ""))).delete_goal()) == 4
    bad = (
        '<?xml version="1.0"?>\n<Error Type = "1">\n'
        "Delete memory allocation goal failed: Error 3 - Command failed\n</Error>\n"
    )
    with pytest.raises(errors.ToolFailed) as info:
        Ipmctl(FixedRunner((1, bad, ""))).delete_goal(sockets=[0])
    assert info.value.status_code == 3
    with pytest.raises(errors.NoPmemModules):
        Ipmctl(FixedRunner((1, "Initialization failed. No PMem modules in the system.\n", ""))).delete_goal()


def test_parse_status_and_xml_shapes():
    assert parse_status("Create region configuration goal failed: Error 115 - PMem modules busy") == (
        115,
        "PMem modules busy",
    )
    assert parse_status("plain") == (None, "plain")
    assert parse_xml("no xml here") is None
    doc = parse_xml(
        '<?xml version="1.0"?>\n <DimmList>\n  <Dimm>\n   <DimmID>0x0001</DimmID>\n'
        "   <PartNumber>A&B</PartNumber>\n  </Dimm>\n </DimmList>\n"
    )
    assert doc.records("Dimm") == [{"DimmID": "0x0001", "PartNumber": "A&B"}]
    err = parse_xml('<?xml version="1.0"?>\n<Error Type = "201">\nSyntax Error: x\n</Error>\n')
    assert err.kind == "error" and err.error_type == 201 and err.text == "Syntax Error: x"


def test_garbage_output_is_tool_failed():
    with pytest.raises(errors.ToolFailed):
        Ipmctl(FixedRunner((0, "DimmID | Capacity\n=====\n", ""))).show_dimm()


def test_version_from_real_capture():
    rec = load_capture(CAPTURES / "ipmctl_version.txt")
    assert Ipmctl(ReplayRunner([rec])).version() == "03.00.00.0468-1"


def test_syntax_errors_are_invalid_requests():
    text = "Syntax Error: Invalid or unexpected token -foo.\n\nDid you mean:\n    show -dimm\n"
    with pytest.raises(errors.InvalidRequest) as info:
        Ipmctl(FixedRunner((201, text, ""))).show_dimm()
    assert info.value.rc == 201 and "Invalid or unexpected token" in str(info.value)


# --- plan_goal on the reconstructed ipmctl views --------------------------------------------

from plugins.module_utils.model import Namespace  # noqa: E402
from plugins.module_utils.planner import DesiredGoal, plan_goal  # noqa: E402


def _views(
    dimm="ipmctl_show_-a_-o_nvmxml_-u_B_-dimm.txt",
    region="ipmctl_show_-a_-o_nvmxml_-u_B_-region.txt",
    goal="ipmctl_show_-a_-o_nvmxml_-u_B_-goal.no-goals.txt",
):
    ipm, _ = ipmctl_for(dimm, region, goal)
    return ipm.show_dimm(), ipm.show_region(), ipm.show_goal()


def test_plan_goal_matching_configuration_plans_nothing():
    assert plan_goal(DesiredGoal(), *_views()) == []


def test_plan_goal_factory_modules_get_a_goal():
    modules, regions, goals = _views(
        dimm="ipmctl_show_-a_-o_nvmxml_-u_B_-dimm.factory.txt",
        region="ipmctl_show_-a_-o_nvmxml_-u_B_-region.no-regions.txt",
    )
    plan = plan_goal(DesiredGoal(sockets=(1,)), modules, regions, goals)
    assert [a.kind for a in plan] == ["create_goal"] and not plan[0].destroys_data
    assert plan[0].params["sockets"] == (1,)


def test_plan_goal_changing_regions_needs_consent():
    modules, regions, goals = _views()
    web = Namespace("namespace0.0", "fsdax", 1 << 30, name="web", region="region0")
    with pytest.raises(errors.SafeModeRefused) as info:
        plan_goal(DesiredGoal(memory_mode=100), modules, regions, goals, [web])
    assert "namespace0.0" in str(info.value)
    plan = plan_goal(DesiredGoal(memory_mode=100), modules, regions, goals, [web], allow_data_loss=True)
    assert [a.kind for a in plan] == ["destroy_namespace", "create_goal"] and plan[-1].destroys_data


def test_plan_goal_failed_and_pending_goals():
    with pytest.raises(errors.GoalFailed):
        plan_goal(DesiredGoal(), *_views(goal="ipmctl_show_-a_-o_nvmxml_-u_B_-goal.failed.txt"))
    modules, regions, goals = _views(goal="ipmctl_show_-a_-o_nvmxml_-u_B_-goal.txt")
    assert plan_goal(DesiredGoal(), modules, regions, goals) == []  # the pending goal already asks for it
    plan = plan_goal(DesiredGoal(state="absent"), modules, regions, goals)
    assert [a.kind for a in plan] == ["delete_goal"]
    assert plan_goal(DesiredGoal(state="absent"), *_views()) == []


def test_delete_goal_failure_without_text_raises():
    with pytest.raises(errors.ToolFailed):
        Ipmctl(FixedRunner((1, "", ""))).delete_goal()


@pytest.mark.parametrize(
    "goal,field",
    [
        (DesiredGoal(persistent_memory_type="Mirror"), "persistent_memory_type"),
        (DesiredGoal(memory_mode=70, reserved=40), "memory_mode"),
        (DesiredGoal(sockets=()), "sockets"),
        (DesiredGoal(state="gone"), "state"),
    ],
)
def test_plan_goal_rejects_bad_input(goal, field):
    with pytest.raises(errors.InvalidRequest) as info:
        plan_goal(goal, *_views())
    assert info.value.field == field
