"""daxctl: list shapes and reconfigure-device results/errors from the real transcripts."""

import pytest

from plugins.module_utils import errors
from plugins.module_utils.daxctl import Daxctl, parse_devices

from .conftest import CAPTURES, FixedRunner, ReplayRunner, all_recorded, load_capture

RECORDED = [r for r in all_recorded() if r.argv[0] == "daxctl"]


def _only(argv):
    return [r for r in RECORDED if r.argv == argv]


def test_every_recorded_list_parses():
    lists = [r for r in RECORDED if r.argv[1] == "list" and r.rc == 0]
    assert lists
    for rec in lists:
        devices = parse_devices(rec.stdout)
        assert all(d.chardev.startswith("dax") for d in devices)
        assert rec.stdout.count('"chardev"') == len(devices)


def test_list_array_and_empty():
    rec = load_capture(CAPTURES / "daxctl_list.txt")
    runner = ReplayRunner([rec])
    devices = Daxctl(runner).list()
    assert runner.calls == [("daxctl", "list")]
    assert devices[0].chardev == "dax0.1" and devices[0].size == 262144000 and devices[0].mode == "devdax"
    empty = next(r for r in _only(("daxctl", "list")) if not r.stdout.strip())
    assert Daxctl(FixedRunner((0, empty.stdout, empty.stderr))).list() == []


def test_human_bare_object():
    rec = _only(("daxctl", "list", "--human"))[0]
    devices = parse_devices(rec.stdout)
    assert len(devices) == 1 and devices[0].size == 3 << 30 and devices[0].align == 1 << 30


def test_reconfigure_to_system_ram_and_back():
    recs = [r for r in RECORDED if r.argv[1] == "reconfigure-device"]
    runner = ReplayRunner(recs)
    dax = Daxctl(runner)
    ram = dax.reconfigure_device("dax0.0", "system-ram")
    assert ram.mode == "system-ram" and ram.online_memblocks == 7 and ram.total_memblocks == 7 and ram.movable
    with pytest.raises(errors.Busy) as info:
        dax.reconfigure_device("dax0.0", "devdax")
    assert info.value.rc == 240 and "Device or resource busy" in info.value.tool_message
    back = dax.reconfigure_device("dax0.0", "devdax", force=True)
    assert back.mode == "devdax"
    offline = dax.reconfigure_device("dax0.0", "system-ram", online=False)
    assert offline.online_memblocks == 0 and offline.movable is None
    with pytest.raises(errors.NotFound):
        dax.reconfigure_device("dax9.9", "devdax")
    assert ("daxctl", "reconfigure-device", "--mode=devdax", "-f", "dax0.0") in runner.calls


def test_bad_mode_from_the_tool_and_before_running():
    rec = _only(("daxctl", "reconfigure-device", "--mode=bogus", "dax0.0"))[0]
    with pytest.raises(errors.InvalidRequest) as info:
        Daxctl(FixedRunner((rec.rc, rec.stdout, rec.stderr))).runner and Daxctl(
            FixedRunner((rec.rc, rec.stdout, rec.stderr))
        )._checked(["reconfigure-device", "--mode=bogus", "dax0.0"], "reconfigure")
    assert info.value.field == "mode" and info.value.rc == 234
    runner = FixedRunner()
    with pytest.raises(errors.InvalidRequest):
        Daxctl(runner).reconfigure_device("dax0.0", "bogus")
    with pytest.raises(errors.InvalidRequest):
        Daxctl(runner).reconfigure_device("/dev/dax0.0; reboot", "devdax")
    assert runner.calls == []


def test_usage_error_is_invalid_request():
    rec = _only(("daxctl", "list", "-D", "-v"))[0]
    with pytest.raises(errors.InvalidRequest):
        Daxctl(FixedRunner((rec.rc, rec.stdout, rec.stderr)))._checked(["list", "-D", "-v"], "daxctl list")


def test_list_regions_with_devices():
    rec = _only(("daxctl", "list", "-RD", "-u"))[0]
    devices = parse_devices(rec.stdout)
    assert devices and all(d.chardev.startswith("dax") for d in devices)
