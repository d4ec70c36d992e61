"""Helpers and fixtures of the driver tests (conftest.py re-exports the fixtures).

A uniquely named module: `from conftest import ...` would pick up another area's conftest.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

DRIVER_DIR = Path(__file__).resolve().parents[1]
REPO = DRIVER_DIR.parent
if str(DRIVER_DIR) not in sys.path:  # a fresh clone without `pip install -e driver`
    sys.path.insert(0, str(DRIVER_DIR))

from optane_csi import codegen  # noqa: E402

codegen.generate_stubs(DRIVER_DIR / "proto", DRIVER_DIR)

from optane_csi._gen import csi_pb2, csi_pb2_grpc  # noqa: E402
from optane_csi.config import Config  # noqa: E402
from optane_csi.runner import CommandResult  # noqa: E402
from optane_csi.server import create_server  # noqa: E402


class CannedRunner:
    """Answers argv prefixes with fixed results (only for tests that need no real tool)."""

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str, str]] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv, *, stdin=None):
        argv = tuple(argv)
        self.calls.append(argv)
        for prefix, (rc, out, err) in self.answers.items():
            if argv[: len(prefix)] == prefix:
                return CommandResult(argv=argv, rc=rc, stdout=out, stderr=err)
        return CommandResult(argv=argv, rc=127, stdout="", stderr=f"{argv[0]}: not canned")


@dataclass
class Served:
    server: grpc.Server
    address: str
    driver: object
    channel: grpc.Channel
    config: Config

    @property
    def identity(self):
        return csi_pb2_grpc.IdentityStub(self.channel)

    @property
    def controller(self):
        return csi_pb2_grpc.ControllerStub(self.channel)

    @property
    def node(self):
        return csi_pb2_grpc.NodeStub(self.channel)

    @property
    def socket_path(self) -> str:
        return self.address[len("unix:") :]


@pytest.fixture
def short_tmp(tmp_path_factory):
    """A short directory: unix socket paths are limited to 107 bytes."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="ocsi-", dir="/tmp"))
    yield path
    import shutil

    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def serve(short_tmp):
    """serve(runner, **config) -> Served; every server is stopped at teardown."""
    started: list[Served] = []

    def start(runner, *, eraser=None, **overrides) -> Served:
        base = Config(
            endpoint=f"unix://{short_tmp}/csi-{len(started)}.sock",
            node_id="node-a",
            kubelet_dirs=(str(short_tmp / "kubelet"),),
            state_dir=str(short_tmp / "state"),
            lock_path=str(short_tmp / "pmem.lock"),
            lock_timeout=10.0,
        )
        config = replace(base, **overrides)
        os.makedirs(config.kubelet_dirs[0], exist_ok=True)
        server, address, driver = create_server(config, runner=runner, eraser=eraser)
        channel = grpc.insecure_channel(address)
        served = Served(server, address, driver, channel, config)
        started.append(served)
        return served

    yield start
    for served in started:
        served.channel.close()
        served.server.stop(None)


def rpc_error(call, *args, **kwargs) -> grpc.RpcError:
    """Call and return the RpcError it must raise."""
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    return info.value


# --- the simulator -------------------------------------------------------------------

try:
    import pmem_sim  # noqa: F401
except ImportError:  # a checkout whose venv predates the simulator package
    sys.path.insert(0, str(REPO / "simulator"))

from pmem_sim import testing as simtesting  # noqa: E402
from pmem_sim.runner import SimRunner  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30
AccessMode = csi_pb2.VolumeCapability.AccessMode


def mount_cap(fs_type: str = "", flags=(), mode=AccessMode.SINGLE_NODE_WRITER):
    return csi_pb2.VolumeCapability(
        mount=csi_pb2.VolumeCapability.MountVolume(fs_type=fs_type, mount_flags=list(flags)),
        access_mode=AccessMode(mode=mode),
    )


def block_cap(mode=AccessMode.SINGLE_NODE_WRITER):
    return csi_pb2.VolumeCapability(
        block=csi_pb2.VolumeCapability.BlockVolume(), access_mode=AccessMode(mode=mode)
    )


def create_request(name: str, required: int = 64 * MIB, limit: int = 0, caps=None, **params):
    return csi_pb2.CreateVolumeRequest(
        name=name,
        capacity_range=csi_pb2.CapacityRange(required_bytes=required, limit_bytes=limit),
        volume_capabilities=caps or [mount_cap()],
        parameters=params,
    )


class HostRunner:
    """ndctl from the simulator (in process); mkfs, blkid, mount and umount for real."""

    def __init__(self, state_path: str) -> None:
        from optane_csi.runner import SubprocessRunner

        self.sim = SimRunner(state_path)
        self.host = SubprocessRunner(timeout=120)
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv, *, stdin=None):
        self.calls.append(tuple(argv))
        if os.path.basename(argv[0]) in ("ndctl", "daxctl", "ipmctl"):
            return self.sim.run(list(argv), stdin=stdin)
        return self.host.run(argv, stdin=stdin)


class RecordingEraser:
    """Controller tests without block devices: remember what would be erased."""

    def __init__(self) -> None:
        self.erased: list[str] = []

    def erase(self, device: str) -> None:
        self.erased.append(device)


def label_regions(state_path: str) -> None:
    """The qemu preset's regions are label-less: give them labels, as an operator would."""
    runner = SimRunner(state_path)
    for argv in (("disable-region", "all"), ("init-labels", "all"), ("enable-region", "all")):
        result = runner.run(["ndctl", *argv])
        assert result.rc == 0, result.stderr


@pytest.fixture
def sim_state(short_tmp) -> str:
    """Two labelled 4 GiB regions (qemu preset), no block devices."""
    path = simtesting.make_state(short_tmp, preset="qemu")
    label_regions(path)
    return path


def namespaces_named(state_path: str, name: str) -> list[dict]:
    import json as _json

    listed = SimRunner(state_path).run(["ndctl", "list", "-N"])
    assert listed.rc == 0
    parsed = _json.loads(listed.stdout) if listed.stdout.strip() else []
    parsed = parsed if isinstance(parsed, list) else [parsed]
    return [ns for ns in parsed if ns.get("name") == name]


@pytest.fixture
def controller(serve, sim_state):
    """A driver (attach enabled) on the simulator, in-process runner, recorded erases."""
    eraser = RecordingEraser()
    served = serve(SimRunner(sim_state), eraser=eraser, attach=True)
    served.eraser = eraser
    served.state_path = sim_state
    return served
