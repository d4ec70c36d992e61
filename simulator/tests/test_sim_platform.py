"""pmemsim itself: state file, CLI, reboot and goals, faults, concurrency, the in-process runner."""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pmem_sim import model, readcache
from pmem_sim.dispatch import run_tool
from pmem_sim.runner import SimRunner
from pmem_sim.testing import add_fault, load, make_state, reboot, sim_env

GIB = 1024**3


def tool(path, name, *args):
    return run_tool(name, list(args), state_path=path)


def cli(*args, env):
    return subprocess.run(
        [_pmemsim(), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _pmemsim() -> str:
    return os.path.join(os.path.dirname(sys.executable), "pmemsim")


# --- state file -------------------------------------------------------------------------


def test_missing_state_variable_is_named(tmp_path):
    env = dict(os.environ)
    env.pop(model.STATE_ENV, None)
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ndctl"), "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "PMEMSIM_STATE is not set" in result.stderr
    env[model.STATE_ENV] = str(tmp_path / "nowhere.json")
    result = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ndctl"), "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert f"PMEMSIM_STATE={tmp_path / 'nowhere.json'}: no such state file" in result.stderr


def test_cli_init_show_reboot_fault(tmp_path):
    state = tmp_path / "host.json"
    env = sim_env(state)
    result = cli("init", "--sockets", "2", "--dimms-per-socket", "4", "--generation", "300", env=env)
    assert result.returncode == 0, result.stderr
    assert cli("init", env=env).returncode == 1  # exists, needs --force
    shown = json.loads(cli("show", "--json", env=env).stdout)
    assert shown["platform"]["generation"] == 300 and len(shown["dimms"]) == 8
    assert "platform optane-2s: Optane 300 series" in cli("show", env=env).stdout
    ipmctl = os.path.join(os.path.dirname(sys.executable), "ipmctl")
    created = subprocess.run(
        [ipmctl, "create", "-f", "-goal"], capture_output=True, text=True, env=env, check=False
    )
    assert created.returncode == 0, created.stdout
    assert cli("reboot", env=env).returncode == 0
    assert len(load(state)["regions"]) == 2
    added = cli("fault", "add", "--match", "ndctl list", "--error", "enxio", env=env)
    assert added.returncode == 0 and json.loads(added.stdout)["error"] == "enxio"
    ndctl = os.path.join(os.path.dirname(sys.executable), "ndctl")
    failed = subprocess.run([ndctl, "list"], capture_output=True, text=True, env=env, check=False)
    assert failed.returncode == 250
    assert cli("fault", "clear", env=env).returncode == 0
    assert load(state)["faults"] == []
    assert cli("init", "--preset", "bogus", env=env).returncode == 2


# --- goals and reboot -------------------------------------------------------------------


def test_goal_becomes_regions_only_at_reboot(tmp_path):
    path = make_state(tmp_path, preset=None, sockets=1, dimms_per_socket=6, dimm_capacity=256, generation=100)
    assert tool(path, "ndctl", "list", "-R") == (0, "", "")
    assert tool(path, "ipmctl", "create", "-f", "-goal")[0] == 0
    assert tool(path, "ndctl", "list", "-R") == (0, "", "")
    reboot(path)
    regions = json.loads(tool(path, "ndctl", "list", "-R")[1])
    assert len(regions) == 1 and regions[0]["size"] == 6 * 252 * GIB
    assert regions[0]["available_size"] == regions[0]["size"]
    assert tool(path, "ipmctl", "show", "-goal")[1].startswith("There are no goal configs")


def test_failed_goal_stays_and_regions_are_unchanged(tmp_path):
    path = make_state(tmp_path, preset=None, sockets=1, dimms_per_socket=2, dimm_capacity=128, generation=100)
    tool(path, "ipmctl", "create", "-f", "-goal")
    reboot(path)
    before = tool(path, "ndctl", "list", "-R")[1]
    tool(path, "ndctl", "create-namespace", "-r", "region0", "-s", "4G", "-n", "keep")
    tool(path, "ndctl", "destroy-namespace", "-f", "all")
    tool(path, "ipmctl", "create", "-f", "-goal", "MemoryMode=100")
    reboot(path, fail_goal="not-enough-resources")
    assert tool(path, "ndctl", "list", "-R")[1] == before
    rc, out, _ = tool(path, "ipmctl", "show", "-a", "-goal")
    assert rc == 0
    assert (
        "Status=Failed - Not enough resources: There were not enough resources for the BIOS to process "
        "the memory allocation goal."
    ) in out
    assert out.endswith("A reboot is required to process new memory allocation goals.\n")
    # the state flag variant fails the next reboot once
    tool(path, "ipmctl", "delete", "-goal")
    tool(path, "ipmctl", "create", "-f", "-goal", "MemoryMode=100")
    with model.transaction(path) as txn:
        txn.state["fail_next_goal"] = "firmware-error"
        txn.touch()
    reboot(path)
    assert "Failed - Firmware error" in tool(path, "ipmctl", "show", "-a", "-goal")[1]
    assert load(path)["fail_next_goal"] is None


def test_namespaces_and_labels_persist_across_reboot(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    for args in (["disable-region", "all"], ["init-labels", "all"], ["enable-region", "all"]):
        tool(path, "ndctl", *args)
    first = json.loads(tool(path, "ndctl", "create-namespace", "-r", "region0", "-s", "1G", "-n", "a")[1])
    second = json.loads(tool(path, "ndctl", "create-namespace", "-r", "region0", "-s", "1G", "-n", "b")[1])
    tool(path, "ndctl", "destroy-namespace", "-f", first["dev"])
    before = {ns["name"]: ns for ns in json.loads(tool(path, "ndctl", "list", "-N")[1])}
    reboot(path)
    after = {ns["name"]: ns for ns in json.loads(tool(path, "ndctl", "list", "-N")[1])}
    assert set(after) == {"b"}
    assert after["b"]["uuid"] == second["uuid"] == before["b"]["uuid"]
    assert after["b"]["dev"] == "namespace0.0"  # ids are renumbered in DPA order at probe time
    assert "iset_id" in json.loads(tool(path, "ndctl", "list", "-R")[1])[0]


def test_zeroed_labels_go_label_less_at_reboot(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    for args in (
        ["disable-region", "all"],
        ["init-labels", "all"],
        ["zero-labels", "all"],
        ["enable-region", "all"],
    ):
        tool(path, "ndctl", *args)
    region = json.loads(tool(path, "ndctl", "list", "-R", "-r", "region1")[1])[0]
    assert region["iset_id"] == 0xBA90120012B4DC  # the labelling flag sticks until reboot
    reboot(path)
    region = json.loads(tool(path, "ndctl", "list", "-R", "-r", "region1")[1])[0]
    assert "iset_id" not in region and region["available_size"] == 0


# --- faults -----------------------------------------------------------------------------


def test_fault_on_nth_matching_call(tmp_path):
    path = make_state(tmp_path, preset="qemu-nolabel")
    add_fault(path, match="ndctl create-namespace", nth=2, error="enospc")
    first = tool(path, "ndctl", "create-namespace", "-f", "-e", "namespace0.0", "-m", "fsdax")
    assert first[0] == 0
    tool(path, "ndctl", "list")  # does not match, does not count
    second = tool(path, "ndctl", "create-namespace", "-r", "region1")
    assert second == (237, "", "failed to create namespace: No space left on device\n")
    third = tool(path, "ndctl", "create-namespace", "-f", "-e", "namespace1.0", "-m", "fsdax")
    assert third[0] == 0
    assert load(path)["faults"] == []


@pytest.mark.parametrize(
    ("error", "args", "expected"),
    [
        (
            "ebusy",
            ["destroy-namespace", "namespace0.0"],
            (
                240,
                "",
                "  Error: namespace0.0 is active, specify --force for re-configuration\n\n"
                "error destroying namespaces: Device or resource busy\ndestroyed 0 namespaces\n",
            ),
        ),
        (
            "enxio",
            ["disable-namespace", "namespace0.0"],
            (250, "", "error disabling namespaces: No such device or address\ndisabled 0 namespaces\n"),
        ),
        (
            "misaligned",
            ["create-namespace", "-r", "region0", "-m", "fsdax", "-s", "1G"],
            (
                237,
                "",
                "  Error: namespace0.0 misaligned to 16M, adjust region alignment and retry\n\n"
                "failed to create namespace: Invalid argument\n",
            ),
        ),
    ],
)
def test_fault_errors_are_the_real_texts(tmp_path, error, args, expected):
    path = make_state(tmp_path, preset="qemu")
    add_fault(path, error=error)
    assert tool(path, "ndctl", *args) == expected
    assert load(path)["faults"] == []


def test_fault_latency_and_repeats(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    add_fault(path, match="ndctl list", error="none", latency_ms=150, times=2)
    started = time.monotonic()
    assert tool(path, "ndctl", "list", "-R")[0] == 0
    assert time.monotonic() - started >= 0.15
    tool(path, "ndctl", "list")
    started = time.monotonic()
    tool(path, "ndctl", "list")
    assert load(path)["faults"] == []
    add_fault(path, match="ipmctl", error="no-modules", times=0)
    for _ in range(3):
        assert tool(path, "ipmctl", "version")[1] == "Initialization failed. No PMem modules in the system.\n"
    assert len(load(path)["faults"]) == 1


def test_fault_rejects_unknown_error(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    with pytest.raises(ValueError, match="error must be one of"):
        add_fault(path, error="eperm")


# --- concurrency ------------------------------------------------------------------------


def test_parallel_processes_lose_no_update(tmp_path):
    path = make_state(tmp_path, preset=None, sockets=1, dimms_per_socket=2, dimm_capacity=128, generation=100)
    tool(path, "ipmctl", "create", "-f", "-goal")
    reboot(path)
    env = sim_env(path)
    ndctl = os.path.join(os.path.dirname(sys.executable), "ndctl")
    count = 12

    def create(index: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [ndctl, "create-namespace", "-r", "region0", "-s", "1G", "-n", f"vol{index}"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(create, range(count)))
    assert [r.returncode for r in results] == [0] * count, [r.stderr for r in results]
    devs = {json.loads(r.stdout)["dev"] for r in results}
    assert len(devs) == count
    listed = json.loads(tool(path, "ndctl", "list", "-N")[1])
    assert sorted(ns["name"] for ns in listed) == sorted(f"vol{i}" for i in range(count))
    region = json.loads(tool(path, "ndctl", "list", "-R")[1])[0]
    assert region["available_size"] == region["size"] - count * GIB


# --- in-process runner ------------------------------------------------------------------


def test_sim_runner_matches_the_console_scripts(tmp_path):
    path = make_state(tmp_path, preset="qemu")
    runner = SimRunner(path)
    result = runner.run(["ndctl", "list", "-R"])
    process = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ndctl"), "list", "-R"],
        capture_output=True,
        text=True,
        env=sim_env(path),
        check=False,
    )
    assert (result.rc, result.stdout, result.stderr) == (process.returncode, process.stdout, process.stderr)
    assert result.argv == ("ndctl", "list", "-R")
    assert runner.run(["/usr/bin/ipmctl", "version"]).rc == 0  # absolute paths work too
    missing = runner.run(["lsblk"])
    assert missing.rc == 127
    assert runner.calls[-1] == ("lsblk",)
    answer = runner.run(["ipmctl", "create", "-goal"], stdin="y\n")
    assert answer.rc == 1  # no modules in a QEMU guest


def test_threads_sharing_a_state_through_sim_runner(tmp_path):
    path = make_state(tmp_path, preset=None, sockets=1, dimms_per_socket=2, dimm_capacity=128, generation=100)
    SimRunner(path).run(["ipmctl", "create", "-f", "-goal"])
    reboot(path)

    def create(index: int):
        return SimRunner(path).run(
            ["ndctl", "create-namespace", "-r", "region0", "-s", "1G", "-n", f"t{index}"]
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(16)))
    assert [r.rc for r in results] == [0] * 16, [r.stderr for r in results]
    assert len({json.loads(r.stdout)["dev"] for r in results}) == 16
    names = sorted(ns["name"] for ns in json.loads(SimRunner(path).run(["ndctl", "list", "-N"]).stdout))
    assert names == sorted(f"t{i}" for i in range(16))


def test_reads_leave_the_state_file_byte_for_byte(tmp_path):
    path = make_state(tmp_path, preset=None, sockets=1, dimms_per_socket=2, dimm_capacity=128, generation=100)
    before = Path(path).read_bytes()
    runner = SimRunner(path)
    for argv in (
        ["ndctl", "list", "-RDN", "-iv"],
        ["daxctl", "list"],
        ["ipmctl", "show", "-a", "-o", "nvmxml", "-u", "B", "-dimm"],
        ["ipmctl", "show", "-goal"],
        ["ipmctl", "create", "-goal"],  # the prompt gets EOF: nothing is stored
        ["ndctl", "read-labels", "-j", "nmem0"],
    ):
        runner.run(argv)
    assert Path(path).read_bytes() == before


def test_cli_dimm_health_shows_in_ipmctl_and_ndctl(tmp_path):
    state = tmp_path / "host.json"
    env = sim_env(state)
    assert cli("init", "--preset", "optane-1s", env=env).returncode == 0
    assert (
        cli("dimm", "0x0011", "--health", "Critical failure", "--temperature", "80", env=env).returncode == 0
    )
    _, out, _ = tool(state, "ipmctl", "show", "-o", "nvmxml", "-dimm", "0x0011")
    assert "<HealthState>Critical failure</HealthState>" in out
    dimms = json.loads(tool(state, "ndctl", "list", "-DH")[1])
    (changed,) = [d for d in dimms if d["health"]["health_state"] != "ok"]
    assert changed["health"]["health_state"] == "critical"
    assert changed["health"]["temperature_celsius"] == 80.0
    assert changed["handle"] == 0x0011
    assert cli("dimm", "nmem99", "--health", "Healthy", env=env).returncode == 2


def test_state_cache_follows_every_change_of_the_json(tmp_path):
    """The marshal copy beside the state only ever saves parsing: a hand edit of the JSON,
    a corrupt cache or a cache of other bytes must never be what a tool call sees."""
    path = make_state(tmp_path, preset="qemu")
    cache = Path(path + model.CACHE_SUFFIX)
    assert cache.exists(), "save_state writes the cache"
    env = sim_env(path)

    def region_sizes() -> list[int]:
        out = subprocess.run(
            ["ndctl", "list", "-R"], capture_output=True, text=True, env=env, timeout=60, check=True
        ).stdout
        return sorted(region["size"] for region in json.loads(out))

    before = region_sizes()
    # Edit the JSON behind the simulator's back (no cache update): the next call sees it.
    state = json.loads(Path(path).read_text())
    for region in state["regions"]:
        region["size"] += 16 * 1024**2
    Path(path).write_text(json.dumps(state))
    assert region_sizes() == [size + 16 * 1024**2 for size in before]

    # A corrupt cache is ignored, and rewritten from the JSON on the next read. The state
    # has not changed, so the launcher would answer from the read cache without loading
    # the state: drop those answers to make this read run the simulator.
    cache.write_bytes(b"\x00garbage")
    readcache.forget(path)
    assert region_sizes() == [size + 16 * 1024**2 for size in before]
    _key, cached = marshal.loads(cache.read_bytes())  # noqa: S302 (the file this test wrote)
    assert cached == json.loads(Path(path).read_text())
