"""`ansible-test sanity` for the pinned ansible-core, run on a copy of the collection.

ansible-test insists on running inside `.../ansible_collections/<namespace>/<name>/`, and it resolves
symlinks, so the collection is copied (not linked) into a temporary tree.

Scope: the Ansible-facing content, `plugins/` (modules, module_utils, doc fragments), `meta/` and
`changelogs/`. Roles and playbooks are checked by ansible-lint (roles area), driver and simulator code
by ruff and their own tests.

Offline: ansible-test creates one virtualenv per sanity test under ~/.ansible/test/venv and bootstraps
pip in it with a get-pip script it downloads from ci-files.testing.ansible.com, which CI cannot reach.
`tests/ansible_test_get_pip.py` takes that script's place (it uses CPython's bundled ensurepip); the
packages themselves come from the configured package index once, and are cached afterwards
(`make sanity-venvs` primes them; mk/modules.mk). Tests that need what no host here has are skipped
and listed in SKIPPED with the reason.
"""

import shutil
import tempfile
from pathlib import Path

import pytest
from modules_support import ROOT, run, tool

PYTHON = "3.11"
TARGETS = ["plugins/", "meta/", "changelogs/"]
# Sanity tests that cannot run here, and why.
SKIPPED = {
    "shellcheck": "needs the shellcheck binary; the targets contain no shell scripts",
    "pslint": "PowerShell only; the collection has no PowerShell",
}
# What the copy holds: the sanity targets plus the collection metadata ansible-test reads.
COPY = ["galaxy.yml", "README.md", "plugins", "meta", "changelogs", "tests/sanity"]
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")
GET_PIP_VERSIONS = ("24_2",)
LOG = ROOT / ".build" / "ansible-test-sanity.log"


def install_get_pip_stand_in():
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    source = ROOT / "tests" / "ansible_test_get_pip.py"
    for version in GET_PIP_VERSIONS:
        target = cache / (f"get_pip_{version}.py")
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)


def copy_collection(base: Path) -> Path:
    destination = base / "ansible_collections" / "pmem" / "optane"
    destination.mkdir(parents=True)
    for relative in COPY:
        source = ROOT / relative
        if source.is_dir():
            shutil.copytree(source, destination / relative, ignore=COPY_IGNORE, symlinks=True)
        elif source.exists():
            shutil.copyfile(source, destination / relative)
    return destination


@pytest.mark.slow
def test_ansible_test_sanity():
    install_get_pip_stand_in()
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pmem-sanity-") as base:
        collection = copy_collection(Path(base))
        argv = [
            tool("ansible-test"),
            "sanity",
            "--python",
            PYTHON,
            "--color",
            "no",
            *(f"--skip-test={name}" for name in sorted(SKIPPED)),
            *TARGETS,
        ]
        result = run(argv, cwd=collection, timeout=900)
        LOG.write_text(f"{result.stdout}\n--- stderr:\n{result.stderr}")
        report = f"{result.stdout[-6000:]}\n(full output in {LOG})"
        assert result.returncode == 0, report
        assert 'Running sanity test "validate-modules"' in result.stdout, report
        assert 'Running sanity test "pylint"' in result.stdout, report
        assert "ERROR" not in result.stdout, report


def prime_virtualenvs() -> int:
    """Create the sanity virtualenvs once (`make sanity-venvs`); later runs reuse them offline."""
    install_get_pip_stand_in()
    with tempfile.TemporaryDirectory(prefix="pmem-sanity-") as base:
        collection = copy_collection(Path(base))
        argv = [tool("ansible-test"), "sanity", "--prime-venvs", "--python", PYTHON, "--color", "no"]
        result = run(argv, cwd=collection, timeout=1800)
        print(result.stdout[-3000:], result.stderr[-3000:])
        return result.returncode


if __name__ == "__main__":
    raise SystemExit(prime_virtualenvs())
