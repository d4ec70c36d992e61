"""ipmctl text tables, list views and nvmxml against the documented layouts (pmem-tools.md 1.3/1.4)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pmem_sim import ipmctl
from pmem_sim.dispatch import run_tool
from pmem_sim.testing import make_state, reboot

GIB = 1024**3


def xml_root(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - the simulator's own output


def run(path, *args, stdin=None):
    return run_tool("ipmctl", list(args), state_path=path, stdin=stdin)


@pytest.fixture
def optane(tmp_path):
    return make_state(tmp_path, preset=None, sockets=2, dimms_per_socket=6, dimm_capacity=128, generation=100)


# --- the renderer against the documented examples --------------------------------------


def test_table_matches_documented_show_dimm_example():
    text = ipmctl.render_table(
        ["DimmID", "Capacity", "LockState", "HealthState", "FWVersion"],
        [["0x0011", "126.742 GiB", "Disabled", "Healthy", "02.02.00.1553"]],
    )
    header, rule, row = text.splitlines()
    assert header == " DimmID | Capacity    | LockState | HealthState | FWVersion    "
    assert rule == "=" * 63
    assert row == " 0x0011 | 126.742 GiB | Disabled  | Healthy     | 02.02.00.1553"


def test_table_matches_documented_memoryresources_example():
    rows = [
        ["Volatile", "381.500 GiB", "0.000 GiB", "381.500 GiB"],
        ["AppDirect", "-", "3024.000 GiB", "3024.000 GiB"],
        ["Cache", "0.000 GiB", "-", "0.000 GiB"],
        ["Inaccessible", "2.500 GiB", "5.452 GiB", "7.952 GiB"],
        ["Physical", "384.000 GiB", "3029.452 GiB", "3413.452 GiB"],
    ]
    lines = ipmctl.render_table(["MemoryType", "DDR", "PMemModule", "Total"], rows).splitlines()
    assert lines[0] == " MemoryType   | DDR         | PMemModule   | Total        "
    assert lines[1] == "=" * 58
    assert lines[2] == " Volatile     | 381.500 GiB | 0.000 GiB    | 381.500 GiB"
    assert lines[6] == " Physical     | 384.000 GiB | 3029.452 GiB | 3413.452 GiB"


def test_table_matches_documented_region_and_goal_examples():
    region = ipmctl.render_table(
        ["SocketID", "ISetID", "PersistentMemoryType", "Capacity", "FreeCapacity", "HealthState"],
        [
            [
                "0x0000",
                "0x2beada903e338a22",
                "AppDirectNotInterleaved",
                "502.000 GiB",
                "502.000 GiB",
                "Healthy",
            ]
        ],
        dict(ipmctl.COLMAX, HealthState=ipmctl.REGION_HEALTH_COLMAX),
    ).splitlines()
    assert region[0].rstrip() == (
        " SocketID | ISetID             | PersistentMemoryType    | Capacity    | FreeCapacity | HealthState"
    )
    assert region[1] == "=" * 100
    assert region[2] == (
        " 0x0000   | 0x2beada903e338a22 | AppDirectNotInterleaved | 502.000 GiB | 502.000 GiB  | Healthy"
    )
    goal = ipmctl.render_table(
        ipmctl.GOAL_TABLE, [["0x0000", "0x0001", "0.000 GiB", "252.000 GiB", "0.000 GiB"]]
    )
    assert goal.splitlines()[1] == "=" * 66
    assert goal.splitlines()[2] == " 0x0000   | 0x0001 | 0.000 GiB  | 252.000 GiB    | 0.000 GiB"


def test_non_last_cells_are_truncated_to_colmax():
    text = ipmctl.render_table(["FWVersion", "DimmID"], [["01.02.00.5435-extra", "0x0001"]])
    assert text.splitlines()[2] == " 01.02.00.5435|" + " 0x0001"


def test_list_view_and_flat_xml():
    assert ipmctl.render_list([{"DimmID": "0x0001", "Capacity": "1.000 GiB"}]) == (
        "---DimmID=0x0001---\n   Capacity=1.000 GiB\n"
    )
    assert ipmctl.render_xml_flat("SystemCapabilities", {"Alignment": "1.000 GiB"}) == (
        '<?xml version="1.0"?>\n <SystemCapabilities>\n'
        "  <Alignment>1.000 GiB</Alignment>\n </SystemCapabilities>\n"
    )


# --- hosts without Optane -------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["show", "-dimm"],
        ["show", "-o", "nvmxml", "-dimm"],
        ["show", "-region"],
        ["show", "-goal"],
        ["create", "-f", "-goal"],
        ["delete", "-goal"],
        ["show", "-system", "-capabilities"],
        ["show", "-o", "json", "-dimm"],
    ],
)
@pytest.mark.parametrize("preset", ["qemu", "no-optane"])
def test_no_modules_everywhere_but_version(tmp_path, preset, args):
    path = make_state(tmp_path, preset=preset)
    assert run(path, *args) == (1, "Initialization failed. No PMem modules in the system.\n", "")


def test_version_and_help_work_without_modules(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    rc, out, err = run(path, "version")
    assert (rc, out, err) == (
        0,
        "Intel(R) Optane(TM) Persistent Memory Command Line Interface Version 03.00.00.0468-1\n",
        "",
    )
    rc, out, _ = run(path, "help")
    assert rc == 0 and out.startswith("Intel(R) Optane(TM) Persistent Memory Command Line Interface\n")


def test_unknown_verb_is_a_syntax_error(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    assert run(path, "bogus") == (
        201,
        "Syntax Error: First token must be a verb, 'bogus' is not a supported verb.\n",
        "",
    )


# --- Optane hosts -----------------------------------------------------------------------


def test_show_dimm_text_and_nvmxml(optane):
    rc, out, err = run(optane, "show", "-dimm")
    lines = out.splitlines()
    assert rc == 0 and err == ""
    assert lines[0] == " DimmID | Capacity    | LockState | HealthState | FWVersion    "
    assert lines[2] == " 0x0001 | 126.742 GiB | Disabled  | Healthy     | 01.02.00.5435"
    assert len(lines) == 2 + 12
    rc, out, _ = run(optane, "show", "-o", "nvmxml", "-dimm")
    assert out.startswith('<?xml version="1.0"?>\n <DimmList>\n  <Dimm>\n   <Capacity>')
    root = xml_root(out)
    assert root.tag == "DimmList" and len(root) == 12
    assert [child.tag for child in root[0]] == ["Capacity", "HealthState", "LockState", "FWVersion", "DimmID"]


def test_units_bytes_have_no_decimals(optane):
    _, out, _ = run(optane, "show", "-a", "-o", "nvmxml", "-u", "B", "-dimm", "-socket", "1")
    root = xml_root(out)
    assert len(root) == 6
    capacity = root[0].find("Capacity").text
    assert capacity.endswith(" B") and capacity[:-2].isdigit()
    assert root[0].find("SocketID").text == "0x0001"
    assert root[0].find("UnconfiguredCapacity").text == f"{126 * GIB} B"


def test_messages_only_results_and_goal_flow(optane):
    rc, out, _ = run(optane, "show", "-o", "nvmxml", "-goal")
    assert rc == 0
    assert out == (
        '<?xml version="1.0"?>\n<Results>\n<Result>\n'
        "There are no goal configs defined in the system.\n"
        "Please use 'show -region' to display currently valid persistent memory regions.\n"
        "</Result>\n</Results>\n"
    )
    assert run(optane, "show", "-region") == (0, "There are no Regions defined in the system.\n", "")
    rc, out, _ = run(optane, "create", "-o", "nvmxml", "-u", "B", "-goal", "persistentmemorytype=appdirect")
    root = xml_root(out)
    assert rc == 0 and root.tag == "ConfigGoalList" and len(root) == 12
    assert "reboot" not in out
    rc, out, _ = run(optane, "show", "-goal")
    assert out.endswith("A reboot is required to process new memory allocation goals.\n")
    # a second goal is refused with status 115, exit code 1
    rc, out, _ = run(optane, "create", "-f", "-goal")
    assert rc == 1
    assert out == (
        "Create region configuration goal failed: Error 115 - PMem modules on one or more sockets "
        "already have a configured goal. Delete this existing goal before creating a new one.\n"
    )
    rc, out, _ = run(optane, "create", "-o", "nvmxml", "-goal")
    assert rc == 1 and out.startswith('<?xml version="1.0"?>\n<Error Type = "1">\nCreate region')


def test_prompt_flow_without_force(optane):
    rc, out, _ = run(optane, "create", "-goal", stdin="")
    assert rc == 201
    assert out.startswith("The following configuration will be applied:\n SocketID | DimmID")
    assert out.endswith("Do you want to continue? [y/n] Error: Invalid data input.\n")
    assert run(optane, "show", "-goal")[1].startswith("There are no goal configs")
    rc, out, _ = run(optane, "create", "-goal", stdin="n\n")
    assert rc == 0 and out.endswith("Do you want to continue? [y/n] ")
    rc, out, _ = run(optane, "create", "-goal", "MemoryMode=20", stdin="y\n")
    assert rc == 0
    assert "[y/n] Created following region configuration goal\n" in out
    assert " 0x0000   | 0x0001 | 25.000 GiB | 101.000 GiB    | 0.000 GiB" in out
    assert out.endswith("A reboot is required to process new memory allocation goals.\n")


def test_goal_property_errors(optane):
    assert run(optane, "create", "-f", "-goal", "PersistentMemoryType=Bogus")[0:2] == (
        201,
        "Syntax Error: Incorrect value for property PersistentMemoryType.\n",
    )
    assert run(optane, "create", "-f", "-goal", "MemoryMode=101")[0] == 201
    assert run(optane, "create", "-f", "-goal", "MemoryMode=60", "Reserved=50")[0] == 201


def test_regions_after_reboot_and_pending_health(optane):
    run(optane, "create", "-f", "-goal", "-socket", "0")
    assert run(optane, "show", "-region")[1] == "There are no Regions defined in the system.\n"
    reboot(optane)
    _rc, out, _ = run(optane, "show", "-a", "-o", "nvmxml", "-u", "B", "-region")
    root = xml_root(out)
    assert len(root) == 1
    region = {child.tag: child.text for child in root[0]}
    assert list(region) == [
        "SocketID",
        "PersistentMemoryType",
        "Capacity",
        "FreeCapacity",
        "HealthState",
        "DimmID",
        "RegionID",
        "ISetID",
    ]
    assert region["Capacity"] == f"{6 * 126 * GIB} B"
    assert region["HealthState"] == "Healthy"
    assert region["DimmID"] == "0x0001, 0x0011, 0x0021, 0x0101, 0x0111, 0x0121"
    # the ISetID is ndctl's iset_id in hex
    _, ndctl_out, _ = run_tool("ndctl", ["list", "-R"], state_path=optane)
    assert f'"iset_id":{int(region["ISetID"], 16)}' in ndctl_out
    run(optane, "create", "-f", "-goal", "-socket", "1", "PersistentMemoryType=AppDirectNotInterleaved")
    text = run(optane, "show", "-region")[1]
    assert "Pending" not in text  # socket 0's region is not touched by socket 1's goal
    reboot(optane)
    _rc, out, _ = run(optane, "show", "-o", "nvmxml", "-region")
    assert len(xml_root(out)) == 1 + 6  # one interleaved + six not interleaved


def test_pending_health_while_new_goal_exists(optane):
    run(optane, "create", "-f", "-goal")
    reboot(optane)
    run(optane, "delete", "-goal")
    run(optane, "create", "-f", "-goal", "MemoryMode=50")
    rows = run(optane, "show", "-region")[1].splitlines()[2:]
    assert rows and all(row.rstrip().endswith("Pending") for row in rows)


def test_namespaces_block_a_new_goal(optane):
    run(optane, "create", "-f", "-goal")
    reboot(optane)
    rc, _, err = run_tool("ndctl", ["create-namespace", "-r", "region0", "-s", "12G"], state_path=optane)
    assert rc == 0, err
    rc, out, _ = run(optane, "create", "-f", "-goal", "-socket", "0", "MemoryMode=100")
    assert rc == 1
    assert out.splitlines() == [
        "Create region configuration goal failed: Error 124 - Namespaces exist on specified PMem modules. "
        "They have to be removed before running this command.",
        "WARNING: Removing Namespaces will erase existing data. Please make a backup first.",
    ]
    # the other socket has no namespaces
    assert run(optane, "create", "-f", "-goal", "-socket", "1", "MemoryMode=100")[0] == 0


def test_delete_goal_lines(optane):
    run(optane, "create", "-f", "-goal", "-socket", "1")
    rc, out, _ = run(optane, "delete", "-goal")
    lines = out.splitlines()
    assert rc == 0 and len(lines) == 12
    assert lines[0] == (
        "Delete memory allocation goal from PMem module 0x0001: "
        "Error 122 - There is no goal configuration on this PMem module."
    )
    assert lines[6] == "Delete memory allocation goal from PMem module 0x1001: Success"


def test_sensor_firmware_topology_capabilities_socket(optane):
    _, out, _ = run(optane, "show", "-o", "nvmxml", "-sensor", "-dimm", "0x0001")
    root = xml_root(out)
    assert root.tag == "SensorList" and len(root) == len(ipmctl.SENSOR_TYPES)
    assert [child.tag for child in root[0]] == ["Type", "CurrentValue", "DimmID"]
    assert root[1].find("CurrentValue").text == "36C"
    _, out, _ = run(optane, "show", "-dimm", "-firmware")
    assert out.splitlines()[2] == " 0x0001 | 01.02.00.5435   | N/A"
    _, out, _ = run(optane, "show", "-topology")
    assert " 0x0001 | Logical Non-Volatile Device | 126.742 GiB |" in out
    assert " N/A    | DDR4" in out
    _, out, _ = run(optane, "show", "-system", "-capabilities")
    assert out.splitlines()[:2] == ["PlatformConfigSupported=1", "Alignment=1.000 GiB"]
    _, out, _ = run(optane, "show", "-o", "nvmxml", "-socket")
    assert xml_root(out).tag == "SocketList"


def test_memory_mode_partitions_are_1gib_aligned(optane):
    run(optane, "create", "-f", "-goal", "MemoryMode=33")
    reboot(optane)
    _, out, _ = run(optane, "show", "-a", "-o", "nvmxml", "-u", "B", "-dimm", "-dimm", "0x0001")
    dimm = {child.tag: child.text for child in xml_root(out)[0]}
    memory = int(dimm["MemoryCapacity"][:-2])
    appdirect = int(dimm["AppDirectCapacity"][:-2])
    assert memory == 41 * GIB and appdirect == 85 * GIB
    _, out, _ = run(optane, "show", "-memoryresources")
    assert " Volatile     | 0.000 GiB   | 492.000 GiB  | 492.000 GiB" in out
    assert run(optane, "show", "-system", "-capabilities")[1].splitlines()[3] == "CurrentVolatileMode=2LM"


def test_display_keeps_ipmctl_order_not_request_order(optane):
    """DAOS asks for -d DimmID,ChannelID,... and gets ipmctl's own order back (pmem-tools.md 1.3)."""
    _, out, _ = run(
        optane,
        "show",
        "-d",
        "PartNumber,ChannelPos,ChannelID,MemControllerID,SocketID,DimmUID,PhysicalID,FWVersion,HealthState,Capacity,DimmID",
        "-o",
        "nvmxml",
        "-dimm",
        "0x0001",
    )
    assert [child.tag for child in xml_root(out)[0]] == [
        "DimmID",
        "Capacity",
        "HealthState",
        "FWVersion",
        "PhysicalID",
        "DimmUID",
        "SocketID",
        "MemControllerID",
        "ChannelID",
        "ChannelPos",
        "PartNumber",
    ]
