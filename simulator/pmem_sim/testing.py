"""Helpers for other areas' tests: a simulator state in a temporary directory.

from pmem_sim.testing import make_state, sim_env
path = make_state(tmp_path, preset="qemu")
env = sim_env(path)              # PMEMSIM_STATE + PATH with the simulated tools first
runner = SimRunner(path)         # in-process runner for the library
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

from . import model as m
from . import topology


def make_state(
    directory: str | os.PathLike[str], preset: str | None = "qemu", name: str = "pmemsim.json", **topo: Any
) -> str:
    """Write a fresh state (a preset, or an Optane topology from keyword arguments) and return its path."""
    path = os.path.join(os.fspath(directory), name)
    blockdev = topo.pop("blockdev", None)
    if topo:
        preset = topo.pop("preset", None)
    state = topology.build_state(preset=preset, **topo)
    if blockdev:
        state["blockdev"] = blockdev
        from .loopdev import reattach_all

        reattach_all(state)
    with m.locked(path):
        m.save_state(path, state)
    return path


def tools_bin_dir() -> str:
    """Directory holding the simulated ndctl/daxctl/ipmctl console scripts."""
    found = shutil.which("ndctl", path=os.path.dirname(sys.executable))
    if found:
        return os.path.dirname(found)
    return os.path.dirname(sys.executable)


def sim_env(state_path: str | os.PathLike[str], base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for subprocesses: PMEMSIM_STATE set and the simulated tools first on PATH."""
    env = dict(os.environ if base is None else base)
    env[m.STATE_ENV] = os.fspath(state_path)
    env["PATH"] = tools_bin_dir() + os.pathsep + env.get("PATH", "")
    env["LANG"] = "C"
    env["LC_ALL"] = "C"
    return env


def load(state_path: str | os.PathLike[str]) -> m.State:
    return m.load_state(os.fspath(state_path))


def reboot(state_path: str | os.PathLike[str], fail_goal: str | None = None) -> None:
    from .cli import reboot as do_reboot

    with m.transaction(os.fspath(state_path)) as txn:
        do_reboot(txn.state, fail_goal)
        txn.touch()


def add_fault(state_path: str | os.PathLike[str], **fault: Any) -> dict[str, Any]:
    from .faults import add_fault as do_add

    with m.transaction(os.fspath(state_path)) as txn:
        added = do_add(txn.state, **fault)
        txn.touch()
    return added
