"""ansible-lint's production profile passes on the roles and playbooks (config: .ansible-lint)."""

from __future__ import annotations

import subprocess

import pytest
from conftest import ROOT, VENV_BIN, ansible_env

pytestmark = pytest.mark.slow

# This area's roles and playbooks (site.yml pulls in driver.yml) and the Molecule scenario.
LINTED = [
    "roles/appdirect",
    "roles/namespaces",
    "playbooks/provision.yml",
    "playbooks/site.yml",
    "playbooks/decommission.yml",
    "playbooks/facts.yml",
    "molecule/simulator",
]


def test_ansible_lint_production_profile_passes(tmp_path):
    # --offline and a private HOME: ansible-lint must lint this checkout (found
    # through ANSIBLE_COLLECTIONS_PATH), not install a copy into ~/.ansible.
    done = subprocess.run(
        [str(VENV_BIN / "ansible-lint"), "--offline", *LINTED],
        cwd=ROOT,
        env=ansible_env(HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Passed" in output and "production" in output, output
