"""The csi_driver role's install_version.py: which wheels land in the version's directory.

Runs the script's own functions on temporary wheel directories laid out as on a host
(one directory per driver version under a common parent).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "csi_driver" / "files" / "install_version.py"


@pytest.fixture(scope="module")
def install_version():
    spec = importlib.util.spec_from_file_location("install_version", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()  # noqa: S324 (the role's checksums are Ansible's SHA-1)


def tar_of(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def host(tmp_path):
    """/opt-like parent: an older version's wheels, and the new version's staging directory."""
    parent = tmp_path / "wheels"
    old = parent / "1.0.0"
    old.mkdir(parents=True)
    (old / "grpcio-1.0-py3-none-any.whl").write_bytes(b"grpcio wheel")
    (old / "changed-1.0-py3-none-any.whl").write_bytes(b"not what the controller listed")
    staging = parent / "1.1.0.new"
    staging.mkdir()
    return parent, staging


def test_shipped_and_host_wheels_land_in_staging(install_version, host, tmp_path):
    parent, staging = host
    shipped = b"driver wheel"
    expected = {
        "optane_csi-1.1.0-py3-none-any.whl": sha1(shipped),
        "grpcio-1.0-py3-none-any.whl": sha1(b"grpcio wheel"),
    }
    archive = tar_of(tmp_path / "ship.tar", {"optane_csi-1.1.0-py3-none-any.whl": shipped})
    install_version.unpack_archive(str(archive), str(staging), expected)
    install_version.take_from_host(str(staging), str(parent / "1.1.0"), expected)

    assert sorted(p.name for p in staging.iterdir()) == sorted(expected)
    assert (staging / "grpcio-1.0-py3-none-any.whl").read_bytes() == b"grpcio wheel"
    assert (staging / "grpcio-1.0-py3-none-any.whl").stat().st_mode & 0o777 == 0o644
    assert not archive.exists()


def test_a_host_wheel_with_another_checksum_is_not_taken(install_version, host, capsys):
    parent, staging = host
    expected = {"changed-1.0-py3-none-any.whl": sha1(b"the listed content")}
    with pytest.raises(SystemExit) as exited:
        install_version.take_from_host(str(staging), str(parent / "1.1.0"), expected)
    assert exited.value.code == 1
    assert "changed-1.0-py3-none-any.whl (sha1 " in capsys.readouterr().err
    assert list(staging.iterdir()) == []  # the rejected copy is gone


def test_a_matching_copy_in_another_directory_is_found(install_version, host):
    parent, staging = host
    newer = parent / "1.0.1"
    newer.mkdir()
    (newer / "changed-1.0-py3-none-any.whl").write_bytes(b"the listed content")
    expected = {"changed-1.0-py3-none-any.whl": sha1(b"the listed content")}
    install_version.take_from_host(str(staging), str(parent / "1.1.0"), expected)
    assert (staging / "changed-1.0-py3-none-any.whl").read_bytes() == b"the listed content"


def test_a_shipped_wheel_with_another_checksum_fails(install_version, host, tmp_path, capsys):
    parent, staging = host
    expected = {"optane_csi-1.1.0-py3-none-any.whl": sha1(b"what the controller built")}
    archive = tar_of(tmp_path / "ship.tar", {"optane_csi-1.1.0-py3-none-any.whl": b"something else"})
    install_version.unpack_archive(str(archive), str(staging), expected)
    with pytest.raises(SystemExit):
        install_version.take_from_host(str(staging), str(parent / "1.1.0"), expected)
    assert "does not have the SHA-1 the controller listed" in capsys.readouterr().err


def test_an_archive_member_not_in_the_marker_is_refused(install_version, host, tmp_path, capsys):
    _parent, staging = host
    archive = tar_of(tmp_path / "ship.tar", {"../escape.whl": b"x"})
    with pytest.raises(SystemExit):
        install_version.unpack_archive(str(archive), str(staging), {"driver.whl": sha1(b"x")})
    assert "unexpected archive member '../escape.whl'" in capsys.readouterr().err
    assert not (tmp_path / "escape.whl").exists()
