"""`molecule test -s simulator`: create, prepare, converge, idempotence, verify, destroy."""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import ROOT, VENV_BIN, ansible_env

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STEPS = ("destroy", "create", "prepare", "converge", "idempotence", "verify")


def test_molecule_simulator_scenario_passes():
    done = subprocess.run(
        # --report prints one "Executed: ..." line per step of the sequence.
        [str(VENV_BIN / "molecule"), "test", "-s", "simulator", "--report"],
        cwd=ROOT,
        # The scenario lives in the top-level molecule/ of the design, not extensions/molecule.
        env=ansible_env(MOLECULE_GLOB="molecule/*/molecule.yml", NO_COLOR="1", PY_COLORS="0"),
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    output = ANSI.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, output[-20000:]
    # Molecule may wrap long lines in a box: compare with whitespace and box rules folded.
    flat = re.sub(r"[\s│]+", " ", output)
    for step in STEPS:
        assert re.search(rf"simulator \S+ {step}: Executed: Successful", flat), (step, output[-6000:])
    # The host whose BIOS fails the goal failed with ipmctl's words in converge and again in
    # the idempotence run, each time caught by the scenario's rescue (and nothing changed).
    assert flat.count("PLAY [Provision the host whose BIOS fails the goal]") >= 2
    assert "Failed - Bad request" in flat
    assert (
        len(
            re.findall(r"sim-badbios : ok=\d+ changed=\d+ unreachable=0 failed=0 skipped=\d+ rescued=1", flat)
        )
        >= 2
    )
