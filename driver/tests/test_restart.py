"""A real driver process killed between `ndctl create-namespace` and its reply (root, loop devices)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from optane_csi import client
from optane_csi.volumes import PendingErase, naming, read_erase_journal
from optane_testlib import MIB, SimRunner, namespaces_named


def erase_pending(state_dir: Path, volume_id: str) -> bool:
    """Whether the driver's erase journal on disk holds a mark for the volume."""
    return volume_id in read_erase_journal(state_dir / PendingErase.JOURNAL)[0]


pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("losetup"), reason="needs root and losetup"),
]
BIN = os.path.dirname(sys.executable)


def sim_tool(env, tool: str, *args: str) -> subprocess.CompletedProcess:
    path = shutil.which(tool, path=BIN)
    assert path, f"{tool} console script missing in {BIN}"
    return subprocess.run([path, *args], env=env, capture_output=True, text=True, check=False, timeout=120)


def start_driver(tmp: Path, env: dict[str, str], sock: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "optane_csi",
            "--endpoint",
            f"unix://{sock}",
            "--node-id",
            "node-a",
            "--dev-dir",
            str(tmp / "dev"),
            "--state-dir",
            str(tmp / "state"),
            "--kubelet-dir",
            str(tmp / "kubelet"),
            "--log-level",
            "warning",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if sock.exists():
            try:
                client.call(f"unix://{sock}", "GetPluginInfo", "{}", timeout=2)
                return process
            except grpc.RpcError:
                pass
        time.sleep(0.05)
    process.kill()
    raise AssertionError("driver did not start")


def test_kill_between_create_and_reply(short_tmp):
    state = str(short_tmp / "sim.json")
    env = dict(os.environ, PMEMSIM_STATE=state, PMEM_OPTANE_LOCK=str(short_tmp / "lock"))
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    init = sim_tool(
        env, "pmemsim", "init", "--preset", "qemu", "--blockdev-dir", str(short_tmp / "dev"),
        "--backing-dir", str(short_tmp / "backing"),
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    for args in (("disable-region", "all"), ("init-labels", "all"), ("enable-region", "all")):
        assert sim_tool(env, "ndctl", *args).returncode == 0
    # The namespace is committed, then ndctl "hangs" for 3 s before it answers.
    fault = sim_tool(
        env,
        "pmemsim",
        "fault",
        "add",
        "--error",
        "none",
        "--match",
        "ndctl create-namespace",
        "--latency-ms",
        "3000",
    )
    assert fault.returncode == 0, fault.stderr
    (short_tmp / "kubelet").mkdir()
    sock = short_tmp / "csi.sock"
    endpoint = f"unix://{sock}"
    volume_id = naming.volume_id_for("pvc-killed")
    request = json.dumps(
        {
            "name": "pvc-killed",
            "capacity_range": {"required_bytes": 64 * MIB},
            "volume_capabilities": [{"mount": {}, "access_mode": {"mode": "SINGLE_NODE_WRITER"}}],
        }
    )
    driver = start_driver(short_tmp, env, sock)
    outcome: list[object] = []
    caller = threading.Thread(target=lambda: outcome.append(_try(endpoint, request)))
    try:
        caller.start()
        deadline = time.monotonic() + 20
        while not namespaces_named(state, volume_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert namespaces_named(state, volume_id), "ndctl create-namespace never ran"
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=10)
        caller.join(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert outcome and isinstance(outcome[0], grpc.RpcError)  # the CO never got a reply
    assert erase_pending(short_tmp / "state", volume_id)
    (ns,) = namespaces_named(state, volume_id)
    device = short_tmp / "dev" / ns["blockdev"]
    # Pretend the extents held an earlier tenant's data: the retry must not show it.
    with open(device, "r+b") as handle:
        handle.write(b"OLD-TENANT" * 100)
        os.fsync(handle.fileno())
    sim_tool(env, "pmemsim", "fault", "clear")

    sock.unlink(missing_ok=True)
    restarted = start_driver(short_tmp, env, sock)
    try:
        deadline = time.monotonic() + 20
        while erase_pending(short_tmp / "state", volume_id) and time.monotonic() < deadline:
            time.sleep(0.05)  # start-up recovery finishes the erase; a retry would too
        reply = client.call(endpoint, "CreateVolume", request, timeout=60)
        assert reply["volume"]["volume_id"] == volume_id
        assert len(namespaces_named(state, volume_id)) == 1  # never a second namespace
        assert not erase_pending(short_tmp / "state", volume_id)
        with open(device, "rb") as handle:
            assert handle.read(1000) == bytes(1000)
        listed = client.call(endpoint, "ListVolumes", "{}", timeout=30)
        assert [e["volume"]["volume_id"] for e in listed["entries"]] == [volume_id]
        client.call(endpoint, "DeleteVolume", json.dumps({"volume_id": volume_id}), timeout=60)
        assert not namespaces_named(state, volume_id)
    finally:
        restarted.send_signal(signal.SIGTERM)
        try:
            restarted.wait(timeout=20)
        except subprocess.TimeoutExpired:
            restarted.kill()
        sim_tool(env, "pmemsim", "teardown")


def _try(endpoint: str, request: str) -> object:
    try:
        return client.call(endpoint, "CreateVolume", request, timeout=30)
    except grpc.RpcError as exc:
        return exc


def test_sim_runner_agrees_with_console_script(short_tmp):
    """The in-process SimRunner used by most tests behaves like the ndctl console script."""
    from pmem_sim import testing as simtesting

    path = simtesting.make_state(short_tmp, preset="qemu")
    env = simtesting.sim_env(path)
    script = sim_tool(env, "ndctl", "list", "-RDN", "-iv")
    inproc = SimRunner(path).run(["ndctl", "list", "-RDN", "-iv"])
    assert (script.returncode, script.stdout) == (inproc.rc, inproc.stdout)
