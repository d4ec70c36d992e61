"""`ansible-playbook pmem.optane.driver` from a collection installed by ansible-galaxy.

The operator's path: build the collection tarball, `ansible-galaxy collection install` it,
then run the driver playbook by its fully qualified name. The role builds the driver wheel
from the *installed* collection's sources (so the tarball must carry them), installs it with
no package index into a temporary root (systemd left alone) and a re-run changes nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import (
    VENV_BIN,
    PlayResult,
    driver_help,
    host_layout,
    installed_version,
    offline_env,
    parse_recap,
)

pytestmark = pytest.mark.slow
PLAYBOOK = "pmem.optane.driver"


def galaxy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_driver_playbook_from_a_galaxy_installed_collection(tmp_path: Path, dependency_wheels: Path):
    root = Path(__file__).resolve().parents[2]
    built = galaxy("build", "--output-path", str(tmp_path / "dist"), str(root))
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = (tmp_path / "dist").glob("pmem-optane-*.tar.gz")
    collections = tmp_path / "collections"
    # Galaxy is unreachable here: the dependencies come with the pinned `ansible` package.
    installed = galaxy("install", "--force", "--no-deps", "-p", str(collections), str(tarball))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    collection = collections / "ansible_collections" / "pmem" / "optane"
    assert (collection / "driver" / "pyproject.toml").is_file(), "the tarball lacks the driver sources"

    inventory = tmp_path / "inventory.ini"
    inventory.write_text(
        "[pmem_nodes]\n"
        # ansible_become overrides the playbook's `become: true`: the test already runs as
        # root and a CI machine need not have sudo.
        "localhost ansible_connection=local ansible_become=false"
        f" ansible_python_interpreter={sys.executable}\n"
    )
    variables = {
        **host_layout(tmp_path / "host"),
        "csi_driver_build_isolation": False,
        "csi_driver_pip_download_args": ["--no-index", f"--find-links={dependency_wheels}"],
    }
    env = {
        **os.environ,
        **offline_env(),
        # Only the installed copy: never this checkout.
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    extra_vars = tmp_path / "vars.json"
    extra_vars.write_text(json.dumps(variables))

    def run() -> PlayResult:
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-e", f"@{extra_vars}", PLAYBOOK],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output = proc.stdout + proc.stderr
        return PlayResult(proc.returncode, output, parse_recap(output))

    first = run()
    assert first.rc == 0, first.output[-6000:]
    install_dir = tmp_path / "host" / "opt" / "pmem-optane-csi"
    version = os.readlink(install_dir / "current")
    assert installed_version(install_dir / "current") == version
    assert "--driver-name" in driver_help(install_dir / "current")
    # The wheel came from the installed collection's sources, built under the build dir.
    assert list((tmp_path / "host" / "build" / "dist").glob(f"pmem_optane_csi-{version}-*.whl"))

    again = run()
    assert again.rc == 0, again.output[-6000:]
    assert again.changed == 0, again.output[-6000:]
    # What is already as it should be is not even touched: no copy, no pip, no unit write.
    for task in (
        "Copy the archive to the host",
        "Unpack the wheels, build the virtualenv and install the driver with no package index",
        "Write the systemd unit",
        "Point the current link at the new version",
    ):
        assert re.search(
            rf"TASK \[pmem\.optane\.csi_driver : {re.escape(task)}\][^\n]*\nskipping", again.output
        ), f"the re-run did not skip {task!r}:\n{again.output[-6000:]}"
