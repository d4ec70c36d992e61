"""Replace pip's console scripts for the simulated ipmctl/ndctl/daxctl with lean launchers.

    python simulator/install_launchers.py BIN_DIR

pip's scripts start a full interpreter: `site` processes every .pth file in the venv and
the script imports `re`. Tests, the demo and the fleet benchmark start these tools
thousands of times, so each starts with `python -S` (no site) and finds pmem_sim by its
path instead. The simulator needs nothing but the standard library, so the launchers run
on the interpreter that starts fastest: the system's python3 when it is the same minor
version as the venv's (it reads the same byte code; Debian's is a static build, which
starts in about 12 ms of CPU against 18 ms for a shared-library build such as pyenv's),
else the venv's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SIMULATOR_DIR = Path(__file__).resolve().parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
TOOLS = {"ipmctl": "ipmctl_main", "ndctl": "ndctl_main", "daxctl": "daxctl_main"}
TEMPLATE = """#!{python} -S
# Simulated {tool} (pmem.optane simulator); written by simulator/install_launchers.py.
import sys
sys.path.insert(0, {path!r})
from pmem_sim.entry import {function}
{function}()
"""


def launcher_python(venv_python: Path) -> Path:
    """The system python3 if it runs the venv's byte code (same major.minor), else the venv's."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return venv_python
    ask = [str(SYSTEM_PYTHON), "-S", "-c", "import sys; print(sys.version_info[:2])"]
    try:
        found = subprocess.run(ask, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return venv_python
    return SYSTEM_PYTHON if found.stdout.strip() == str(sys.version_info[:2]) else venv_python


def main(argv: list[str]) -> int:
    bin_dir = Path(os.path.abspath(argv[1]))  # not resolve(): the venv python is a symlink
    python = launcher_python(bin_dir / "python")
    for tool, function in TOOLS.items():
        target = bin_dir / tool
        text = TEMPLATE.format(python=python, tool=tool, path=str(SIMULATOR_DIR), function=function)
        if target.exists() and target.read_text() == text:
            continue
        temporary = target.with_name(f".{tool}.tmp")
        temporary.write_text(text)
        temporary.chmod(0o755)
        os.replace(temporary, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
