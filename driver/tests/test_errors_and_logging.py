"""The error map (errors.py) and secret-free request logging."""

from __future__ import annotations

import io
import json

import grpc
import pytest
from optane_csi import errors, pmemlib
from optane_csi import logging as log
from optane_csi._gen import csi_pb2

lib = pmemlib.errors


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (lib.NotFound("x"), grpc.StatusCode.NOT_FOUND),
        (lib.Incompatible("x"), grpc.StatusCode.ALREADY_EXISTS),
        (lib.InsufficientCapacity("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (lib.BadSize("x"), grpc.StatusCode.OUT_OF_RANGE),
        (lib.BadAlignment("x"), grpc.StatusCode.OUT_OF_RANGE),
        (lib.SafeModeRefused("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (lib.Busy("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (lib.LockTimeout("x"), grpc.StatusCode.ABORTED),
        (lib.ToolFailed("x"), grpc.StatusCode.INTERNAL),
        (lib.ToolMissing("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (lib.InvalidRequest("size", "must be positive"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.InvalidArgument("name", "is required"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.Aborted("busy"), grpc.StatusCode.ABORTED),
        (NotImplementedError(), grpc.StatusCode.UNIMPLEMENTED),
        (KeyError("/secret/internal/path"), grpc.StatusCode.INTERNAL),
    ],
)
def test_status_for(exc, code):
    got, message = errors.status_for(exc)
    assert got == code
    assert message
    if isinstance(exc, KeyError):
        assert "/secret" not in message


def test_handlers_contain_no_set_code():
    from pathlib import Path

    package = Path(errors.__file__).parent
    for name in ("identity.py", "controller.py", "node.py"):
        text = (package / name).read_text()
        assert "set_code" not in text and "context.abort" not in text, name


def test_redacted_strips_secrets_and_mount_flags():
    request = csi_pb2.NodePublishVolumeRequest(
        volume_id="csi-x",
        target_path="/k/t",
        secrets={"password": "hunter2"},
        volume_capability=csi_pb2.VolumeCapability(
            mount=csi_pb2.VolumeCapability.MountVolume(fs_type="ext4", mount_flags=["pass=hunter3"])
        ),
    )
    shown = log.redacted(request)
    text = json.dumps(shown)
    assert "hunter2" not in text and "hunter3" not in text
    assert shown["volume_id"] == "csi-x" and shown["volume_capability"]["mount"]["fs_type"] == "ext4"
    assert dict(request.secrets) == {"password": "hunter2"}


def test_redacted_names_enums_keeps_numbers_and_drops_secret_map_keys():
    request = csi_pb2.CreateVolumeRequest(
        name="pvc-1",
        capacity_range=csi_pb2.CapacityRange(required_bytes=1 << 40),
        parameters={"mode": "fsdax", "secrets": "not-a-real-one"},
        secrets={"token": "hunter4"},
        volume_capabilities=[
            csi_pb2.VolumeCapability(
                block=csi_pb2.VolumeCapability.BlockVolume(),
                access_mode=csi_pb2.VolumeCapability.AccessMode(
                    mode=csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_WRITER
                ),
            )
        ],
    )
    shown = log.redacted(request)
    assert shown == {
        "name": "pvc-1",
        "capacity_range": {"required_bytes": 1 << 40},
        "parameters": {"mode": "fsdax"},
        "volume_capabilities": [{"block": {}, "access_mode": {"mode": "SINGLE_NODE_WRITER"}}],
    }


def test_json_formatter_one_object_per_line():
    stream = io.StringIO()
    logger = log.setup("info", stream=stream)
    logger.info("hello", extra={"fields": {"volume_id": "csi-1"}})
    record = json.loads(stream.getvalue().strip())
    assert record["msg"] == "hello" and record["level"] == "info" and record["volume_id"] == "csi-1"
