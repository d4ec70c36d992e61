"""The SSH-guest captures of the freshly booted QEMU guest, replayed on the qemu-captures preset.

Captures interleave stdout and stderr, so the comparison is on their concatenation
(stdout first; these commands print only one of the two) and on the exit code.
"""

from __future__ import annotations

import os
import re

import pytest
from pmem_sim.dispatch import run_tool
from pmem_sim.testing import make_state

CAPTURES = os.path.join(os.path.dirname(__file__), "fixtures", "captures")


def read_capture(path: str) -> tuple[list[str], str, int]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    first, _, rest = text.partition("\n")
    assert first.startswith("$ "), path
    match = re.search(r"\[exit code: (\d+)\]\n?$", rest)
    assert match, path
    return first[2:].split(), rest[: match.start()], int(match.group(1))


CAPTURE_FILES = sorted(name for name in os.listdir(CAPTURES) if name.endswith(".txt"))


@pytest.mark.parametrize("name", CAPTURE_FILES)
def test_capture_matches(name, tmp_path):
    argv, expected, rc_expected = read_capture(os.path.join(CAPTURES, name))
    path = make_state(tmp_path, preset="qemu-captures")
    rc, stdout, stderr = run_tool(argv[0], argv[1:], state_path=path)
    assert (rc, stdout + stderr) == (rc_expected, expected)


def test_captures_cover_ipmctl_and_ndctl():
    tools = {read_capture(os.path.join(CAPTURES, name))[0][0] for name in CAPTURE_FILES}
    assert tools == {"ipmctl", "ndctl"}
