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
        [str(VENV_BIN / "molecule"), "test", "-s", "simulator"],
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
    for step in STEPS:
        assert f"simulator ➜ {step}: Executed: Successful" in output, (step, output[-20000:])
    assert "Verifier completed successfully" in output
    # The host whose BIOS fails the goal failed with ipmctl's words, in converge and idempotence.
    converge = output.split("simulator ➜ converge: Executing")[1]
    converge = converge.split("simulator ➜ idempotence: Executing")[0]
    assert "Failed - Bad request" in converge
    assert re.search(r"sim-badbios\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", converge)
    assert "rescued=1" in converge
