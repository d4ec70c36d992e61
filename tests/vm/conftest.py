"""Start the QEMU scenario in the background as soon as collection ends; run its test last.

See tests/vm/scenario.py for why. PMEM_VM_BACKGROUND=0 keeps the old order (the scenario
starts when its test does). While the scenario runs beside them, the other tests run at a
lower CPU priority (PMEM_VM_SUITE_NICE, default 4).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

MODULE_NAME = "pmem_vm_scenario"


def scenario_module():
    """tests/vm/scenario.py, loaded once under one name: hooks and test share its state."""
    module = sys.modules.get(MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, Path(__file__).with_name("scenario.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module  # dataclasses resolve annotations through sys.modules
        spec.loader.exec_module(module)
    return module


def is_vm_item(item: pytest.Item) -> bool:
    return item.get_closest_marker("vm") is not None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Stable sort: everything else keeps its order, the VM test waits at the end.
    items.sort(key=is_vm_item)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or os.environ.get("PMEM_VM_BACKGROUND", "1") == "0":
        return
    if any(is_vm_item(item) for item in session.items):
        scenario_module().start_background()
        # The guest's wall time is what the scenario's time bound is about; the rest of the
        # suite only has to finish before it. Lower this (main) thread's CPU priority: the
        # tests' own processes inherit it, the scenario thread started above and its QEMU
        # keep theirs (Linux nice values are per thread). PMEM_VM_SUITE_NICE=0 turns it off.
        if not all(is_vm_item(item) for item in session.items):
            os.nice(max(0, min(19, int(os.environ.get("PMEM_VM_SUITE_NICE", "4")))))


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Interrupted or failed early (-x): do not leave molecule and a guest running.
    run = scenario_module().background()
    if run is not None and run.running():
        run.cancel()
        run.wait(120)


@pytest.fixture
def qemu_scenario():
    """The scenario run (started now if collection did not start it already)."""
    return scenario_module().start_background()
