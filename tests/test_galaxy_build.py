"""`ansible-galaxy collection build` makes a tarball that `ansible-galaxy collection install` accepts."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
GALAXY = pathlib.Path(sys.executable).with_name("ansible-galaxy")


def test_collection_builds_and_installs(tmp_path):
    build = subprocess.run(
        [str(GALAXY), "collection", "build", "--output-path", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (tarball,) = (tmp_path / "dist").glob("pmem-optane-*.tar.gz")
    # Galaxy is unreachable here: dependencies come from the pinned `ansible` package instead.
    install = subprocess.run(
        [
            str(GALAXY),
            "collection",
            "install",
            "--force",
            "--no-deps",
            "-p",
            str(tmp_path / "coll"),
            str(tarball),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    installed = tmp_path / "coll" / "ansible_collections" / "pmem" / "optane"
    assert (installed / "plugins" / "modules" / "pmem_namespace.py").is_file()
    assert (installed / "playbooks" / "provision.yml").is_file()
    # Local state never ships: virtualenvs, ansible-lint's cache, build trees.
    for local in (".venv", ".ansible", ".build", "driver/build", "simulator/build", "vm/cache"):
        assert not (installed / local).exists(), f"{local} is in the collection tarball"
