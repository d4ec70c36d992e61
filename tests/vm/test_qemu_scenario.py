"""`molecule test -s qemu`: a real Debian guest under QEMU with two emulated NVDIMMs,
provisioned by playbooks/site.yml and checked by testinfra (see molecule/qemu/).

The scenario itself runs in the background from the end of collection (tests/vm/conftest.py,
tests/vm/scenario.py); this test, collected last, waits for it. Skipped only when QEMU itself
cannot start, and then loudly. Prints the wall time of the image build, the boot, converge,
the reboot step and verify, and each verified item.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.vm]

STEPS = ("create", "prepare", "converge", "idempotence", "side_effect", "verify")


def banner(capsys, lines: list[str]) -> None:
    with capsys.disabled():
        print("\n" + "=" * 78)
        for line in lines:
            print(line)
        print("=" * 78, flush=True)


def test_molecule_qemu_scenario(capsys, qemu_scenario):
    outcome = qemu_scenario.wait()
    if outcome.skipped:
        banner(
            capsys,
            [
                "!!! WARNING: THE QEMU VM SCENARIO (molecule/qemu) DID NOT RUN !!!",
                f"!!! QEMU cannot start on this machine: {outcome.skipped}",
                "!!! Nothing was verified on a real kernel and ndctl.",
                "!!! Install qemu-system-x86 (make system-packages) and run it again.",
            ],
        )
        pytest.skip(f"QEMU cannot start, the VM scenario did not run: {outcome.skipped}")
    assert not outcome.error, outcome.error

    banner(capsys, outcome.report())
    output = outcome.output
    assert outcome.rc == 0, (
        f"molecule test -s qemu failed (rc {outcome.rc}); see {outcome.log_path}\n" + output[-15000:]
    )
    times = outcome.step_times()
    for step in STEPS:
        assert step in times, f"the {step} step did not run to completion; see {outcome.log_path}"
    results = outcome.results()
    assert results, f"testinfra reported no verified items; see {outcome.log_path}"
    assert all(result == "PASSED" for result, _ in results), "\n".join(" ".join(r) for r in results)
