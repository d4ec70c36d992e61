"""Shared fixtures: a driver served on a unix socket in a tmp dir, real gRPC stubs."""

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

from optane_csi._gen import csi_pb2_grpc  # noqa: E402
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
