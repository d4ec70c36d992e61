"""Server wiring over a real unix socket: identity, socket mode, health, modes, shutdown."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from optane_csi._gen import csi_pb2
from optane_testlib import CannedRunner, rpc_error

ONE_REGION = json.dumps(
    {
        "regions": [
            {
                "dev": "region0",
                "size": 4294967296,
                "align": 16777216,
                "available_size": 4294967296,
                "max_available_extent": 4294967296,
                "type": "pmem",
                "iset_id": 1234,
                "persistence_domain": "memory_controller",
            }
        ]
    }
)
NO_REGIONS = ""


def ndctl_answers(stdout: str) -> CannedRunner:
    return CannedRunner({("ndctl", "list"): (0, stdout, "")})


def test_plugin_info_and_capabilities(serve):
    served = serve(ndctl_answers(ONE_REGION), driver_name="test.csi.example.org")
    info = served.identity.GetPluginInfo(csi_pb2.GetPluginInfoRequest())
    assert info.name == "test.csi.example.org"
    assert info.vendor_version and info.manifest["csi-spec"] == "1.12.0"
    caps = served.identity.GetPluginCapabilities(csi_pb2.GetPluginCapabilitiesRequest())
    types = {c.service.type for c in caps.capabilities}
    Service = csi_pb2.PluginCapability.Service
    assert types == {Service.CONTROLLER_SERVICE, Service.VOLUME_ACCESSIBILITY_CONSTRAINTS}


def test_probe_ready_only_when_regions_are_listed(serve):
    ready = serve(ndctl_answers(ONE_REGION)).identity.Probe(csi_pb2.ProbeRequest())
    assert ready.HasField("ready") and ready.ready.value is True
    not_ready = serve(ndctl_answers(NO_REGIONS)).identity.Probe(csi_pb2.ProbeRequest())
    assert not_ready.HasField("ready") and not_ready.ready.value is False


def test_probe_without_ndctl_is_failed_precondition(serve):
    served = serve(CannedRunner(), ndctl="/nonexistent/ndctl")
    from optane_csi.runner import SubprocessRunner

    served.driver.backend.ndctl.runner = SubprocessRunner(timeout=5)
    error = rpc_error(served.identity.Probe, csi_pb2.ProbeRequest())
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ndctl" in error.details()


def test_socket_mode_is_0600(serve):
    served = serve(ndctl_answers(ONE_REGION))
    mode = stat.S_IMODE(os.stat(served.socket_path).st_mode)
    assert mode == 0o600
    other = serve(ndctl_answers(ONE_REGION), socket_mode=0o660)
    assert stat.S_IMODE(os.stat(other.socket_path).st_mode) == 0o660


def test_health_follows_probe(serve):
    served = serve(ndctl_answers(ONE_REGION))
    health = health_pb2_grpc.HealthStub(served.channel)
    before = health.Check(health_pb2.HealthCheckRequest(service=""))
    assert before.status == health_pb2.HealthCheckResponse.NOT_SERVING
    served.identity.Probe(csi_pb2.ProbeRequest())
    after = health.Check(health_pb2.HealthCheckRequest(service=""))
    assert after.status == health_pb2.HealthCheckResponse.SERVING


def test_node_mode_serves_no_controller(serve):
    served = serve(ndctl_answers(ONE_REGION), mode="node")
    error = rpc_error(served.controller.ControllerGetCapabilities, csi_pb2.ControllerGetCapabilitiesRequest())
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED
    caps = served.identity.GetPluginCapabilities(csi_pb2.GetPluginCapabilitiesRequest())
    assert csi_pb2.PluginCapability.Service.CONTROLLER_SERVICE not in {
        c.service.type for c in caps.capabilities
    }
    assert served.node.NodeGetInfo(csi_pb2.NodeGetInfoRequest()).node_id == "node-a"


def test_controller_mode_serves_no_node(serve):
    served = serve(ndctl_answers(ONE_REGION), mode="controller")
    error = rpc_error(served.node.NodeGetCapabilities, csi_pb2.NodeGetCapabilitiesRequest())
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


def test_unimplemented_rpcs(serve):
    served = serve(ndctl_answers(ONE_REGION))
    for call, request in (
        (served.controller.CreateSnapshot, csi_pb2.CreateSnapshotRequest(name="s", source_volume_id="v")),
        (served.controller.ControllerExpandVolume, csi_pb2.ControllerExpandVolumeRequest(volume_id="v")),
        (served.node.NodeExpandVolume, csi_pb2.NodeExpandVolumeRequest(volume_id="v")),
    ):
        assert rpc_error(call, request).code() == grpc.StatusCode.UNIMPLEMENTED
    # Publish is off unless --enable-attach.
    error = rpc_error(
        served.controller.ControllerPublishVolume, csi_pb2.ControllerPublishVolumeRequest(volume_id="v")
    )
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


def test_refuses_to_replace_a_non_socket(short_tmp):
    import pytest
    from optane_csi.config import Config
    from optane_csi.errors import FailedPrecondition
    from optane_csi.server import create_server

    path = short_tmp / "not-a-socket"
    path.write_text("precious")
    with pytest.raises(FailedPrecondition):
        create_server(Config(endpoint=f"unix://{path}", node_id="n"), runner=CannedRunner())
    assert path.read_text() == "precious"


def test_sigterm_graceful_shutdown_and_json_logs(short_tmp):
    sock = short_tmp / "d.sock"
    env = dict(os.environ, PMEM_OPTANE_LOCK=str(short_tmp / "lock"))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "optane_csi",
            "--endpoint",
            f"unix://{sock}",
            "--node-id",
            "n1",
            "--ndctl",
            "/nonexistent/ndctl",
            "--state-dir",
            str(short_tmp / "state"),
            "--kubelet-dir",
            str(short_tmp),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sock.exists()
        with grpc.insecure_channel(f"unix:{sock}") as channel:
            from optane_csi._gen import csi_pb2_grpc

            info = csi_pb2_grpc.IdentityStub(channel).GetPluginInfo(csi_pb2.GetPluginInfoRequest(), timeout=5)
            assert info.name == "optane.csi.pmem.io"
        # The daemon keeps OpenSSL out of its memory (see __main__._skip_openssl).
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        assert "libcrypto" not in maps and "libssl" not in maps
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert not sock.exists()
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    messages = [r["msg"] for r in records]
    assert "serving" in messages and "shutting down" in messages and "stopped" in messages
    rpc = next(r for r in records if r["msg"] == "rpc")
    assert rpc["method"] == "/csi.v1.Identity/GetPluginInfo" and rpc["code"] == "OK"
