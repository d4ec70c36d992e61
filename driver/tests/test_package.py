"""One source of truth: the driver runs the collection's plugins/module_utils unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from optane_csi import pmemlib

REPO = Path(__file__).resolve().parents[2]
MODULE_UTILS = REPO / "plugins" / "module_utils"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_driver_imports_the_collection_files():
    # Load everything the driver uses, then compare the bytes the interpreter read.
    import optane_csi.server  # noqa: F401

    loaded = pmemlib.loaded_files()
    for name in ("errors", "naming", "runner", "sizes", "ndctl", "hostlock", "model"):
        assert name in loaded, name
    for name, path in loaded.items():
        shipped = MODULE_UTILS / f"{name}.py"
        assert sha256(path.read_bytes()) == sha256(shipped.read_bytes()), name


@pytest.mark.slow
def test_wheel_carries_module_utils_unchanged(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(REPO / "driver"),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("pmem_optane_csi-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = sorted(MODULE_UTILS.glob("*.py"))
        assert shipped
        for source in shipped:
            member = f"optane_csi/_pmemlib/{source.name}"
            assert member in names, member
            assert sha256(archive.read(member)) == sha256(source.read_bytes()), source.name
        assert "optane_csi/_gen/csi_pb2.py" in names and "optane_csi/_gen/csi_pb2_grpc.py" in names
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        assert "optane-csi = optane_csi.__main__:main" in entry_points
    # The installed layout prefers the bundled copy: prove it by loading from an unpacked wheel.
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    code = (
        "from optane_csi import pmemlib; import optane_csi.volumes; "
        "print(pmemlib.library_dir()); print(sorted(pmemlib.loaded_files()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=unpacked,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unpacked)},
    )
    assert done.stdout.splitlines()[0] == str(unpacked / "optane_csi" / "_pmemlib")


def test_proto_records_spec_version_and_package():
    text = (REPO / "driver" / "proto" / "csi.proto").read_text()
    assert "CSI v1.12" in text
    assert "package csi.v1;" in text


def test_wire_names_and_numbers():
    from optane_csi._gen import csi_pb2

    services = csi_pb2.DESCRIPTOR.services_by_name
    assert csi_pb2.DESCRIPTOR.package == "csi.v1"
    assert [m.name for m in services["Identity"].methods] == [
        "GetPluginInfo",
        "GetPluginCapabilities",
        "Probe",
    ]
    assert len(services["Controller"].methods) == 15 and len(services["Node"].methods) == 8
    fields = {f.name: f.number for f in csi_pb2.CreateVolumeRequest.DESCRIPTOR.fields}
    assert fields == {
        "name": 1,
        "capacity_range": 2,
        "volume_capabilities": 3,
        "parameters": 4,
        "secrets": 5,
        "volume_content_source": 6,
        "accessibility_requirements": 7,
        "mutable_parameters": 8,
    }
    publish = {f.name: f.number for f in csi_pb2.NodePublishVolumeRequest.DESCRIPTOR.fields}
    assert publish["target_path"] == 4 and publish["readonly"] == 6 and publish["volume_context"] == 8
    rpc = csi_pb2.ControllerServiceCapability.RPC
    assert rpc.GET_VOLUME == 12 and rpc.GET_SNAPSHOT == 15
    assert csi_pb2.NodeServiceCapability.RPC.VOLUME_MOUNT_GROUP == 6
    # Every field the spec marks csi_secret is named "secrets" (the log redaction relies on it).
    text = (REPO / "driver" / "proto" / "csi.proto").read_text()
    secret_lines = [
        line for line in text.splitlines() if "// csi_secret" in line and not line.startswith("//")
    ]
    assert len(secret_lines) == 19
    assert all(line.strip().startswith("map<string, string> secrets = ") for line in secret_lines)
