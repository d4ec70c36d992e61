"""Replay the real transcripts through the simulator: stdout, stderr and exit code must match.

Only UUIDs are normalised (each distinct UUID becomes <uuid-N> in order of first
appearance, separately for the real and the simulated run, so a UUID that must
reappear later still has to). Calls after a guest kernel oops (rc 137) are not
replayed, and the exclusions below are listed with their reason.
"""

from __future__ import annotations

import difflib
import os

import pytest
from pmem_sim.dispatch import run_tool
from pmem_sim.testing import make_state
from sim_transcripts import FIXTURES, SCENARIOS, UuidNormaliser, parse_transcript, replayable

# (scenario, command): why the simulator's answer may differ.
EXCLUDED: dict[tuple[str, str], str] = {}


def replay(scenario: str, tmp_path) -> tuple[list[str], int, int]:
    calls = replayable(parse_transcript(os.path.join(FIXTURES, f"{scenario}.log")))
    path = make_state(tmp_path, preset=SCENARIOS[scenario])
    real_uuids, sim_uuids = UuidNormaliser(), UuidNormaliser()
    failures = []
    compared = 0
    for call in calls:
        rc, stdout, stderr = run_tool(call.argv[0], call.argv[1:], state_path=path)
        if (scenario, call.command) in EXCLUDED:
            continue
        compared += 1
        expected = (call.rc, real_uuids(call.stdout), real_uuids(call.stderr))
        got = (rc, sim_uuids(stdout), sim_uuids(stderr))
        if expected != got:
            diff = []
            for name, want, have in (("stdout", expected[1], got[1]), ("stderr", expected[2], got[2])):
                diff.extend(
                    difflib.unified_diff(want.splitlines(True), have.splitlines(True), f"real {name}", name)
                )
            failures.append(f"$ {call.command}\nrc real={expected[0]} sim={got[0]}\n{''.join(diff)}")
    return failures, compared, len(calls)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_transcript_parity(scenario, tmp_path, record_property):
    failures, compared, total = replay(scenario, tmp_path)
    record_property("coverage", f"{compared - len(failures)}/{total}")
    identical = compared - len(failures)
    print(f"{scenario}: {identical} of {total} tool calls identical ({total - compared} excluded)")
    assert compared >= 20, f"{scenario}: too few calls replayed ({compared})"
    assert not failures, "\n".join(failures)


def test_parity_detects_a_difference(tmp_path):
    """The comparison is not vacuous: a wrong initial state makes the replay fail."""
    calls = replayable(parse_transcript(os.path.join(FIXTURES, "labels.log")))
    path = make_state(tmp_path, preset="qemu")  # 4 GiB regions instead of 4 GiB - 2 MiB
    call = next(c for c in calls if c.command == "ndctl list -R")
    rc, stdout, _ = run_tool("ndctl", ["list", "-R"], state_path=path)
    assert rc == call.rc
    assert stdout != call.stdout


def test_every_scenario_fixture_present():
    for scenario in SCENARIOS:
        assert os.path.exists(os.path.join(FIXTURES, f"{scenario}.log"))
