"""Make `ansible_collections.pmem.optane` importable for the module unit tests; simulated hosts."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[3]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from modules_support import collections_path  # noqa: E402

_COLLECTIONS = str(collections_path())
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

# The simulator package, for the in-process runs (installed into the venv by `make venv`).
try:
    import pmem_sim  # noqa: F401
except ImportError:
    sys.path.insert(0, str(TESTS.parent / "simulator"))


import pytest  # noqa: E402
from uthelper import simulated_host  # noqa: E402


@pytest.fixture
def host(tmp_path, monkeypatch):
    """(make(preset) -> SimRunner, state path); PMEM_OPTANE_LOCK points into tmp_path."""
    return simulated_host(tmp_path, monkeypatch)
