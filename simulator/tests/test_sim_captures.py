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


SEQUENCE = os.path.join(os.path.dirname(__file__), "fixtures", "capture-sequence")
# The first run of the capture README (steps 2-8), in order; None is a `pmemsim reboot`.
STEPS = [
    "ndctl_create-namespace_--mode_fsdax_--region_region0_--size_256M_--name_vol1.before-init-labels.txt",
    "ndctl_disable-region_all.txt",
    "ndctl_init-labels_all.txt",
    "ndctl_enable-region_all.txt",
    "ndctl_create-namespace_--mode_fsdax_--region_region0_--size_256M_--name_vol1.txt",
    "ndctl_create-namespace_--mode_devdax_--region_region0_--size_256M_--name_vol2.txt",
    "ndctl_create-namespace_--mode_fsdax_--region_region0_--size_4G_--name_toobig.txt",
    "ndctl_list_-N.txt",
    "ndctl_list_-RN.txt",
    "daxctl_list.txt",
    "ndctl_create-namespace_--mode_fsdax_--region_region1_--name_whole1.txt",
    "ndctl_create-namespace_--mode_fsdax_--region_region1_--size_1008M_--name_whole1.txt",
    "ndctl_create-namespace_--mode_fsdax_--region_region1_--align_2M_--name_whole1.txt",
    "ndctl_create-namespace_--mode_fsdax_--region_region1_--size_512M_--name_half1.txt",
    "ndctl_list_-R_-r_region1.txt",
    None,
    "ndctl_list_-N.after-reboot.txt",
    "ndctl_list_-RN.after-reboot.txt",
    "ndctl_destroy-namespace_-f_namespace0.0.after-destroy.txt",
    "ndctl_list_-N.after-destroy.txt",
    "ndctl_destroy-namespace_namespace0.1.after-destroy.txt",
    "ndctl_destroy-namespace_-f_all.after-destroy.txt",
    "ndctl_list_-RN.after-destroy.txt",
]


def test_capture_sequence(tmp_path):
    from pmem_sim.testing import reboot
    from sim_transcripts import UuidNormaliser

    path = make_state(tmp_path, preset="qemu-captures-noaddr")
    real_uuids, sim_uuids = UuidNormaliser(), UuidNormaliser()
    assert sorted(name for name in STEPS if name) == sorted(os.listdir(SEQUENCE))
    for name in STEPS:
        if name is None:
            reboot(path)
            continue
        argv, expected, rc_expected = read_capture(os.path.join(SEQUENCE, name))
        rc, stdout, stderr = run_tool(argv[0], argv[1:], state_path=path)
        assert (rc, sim_uuids(stdout + stderr)) == (rc_expected, real_uuids(expected)), name
