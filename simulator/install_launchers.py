"""Replace pip's console scripts for the simulated ipmctl/ndctl/daxctl with lean launchers.

    python simulator/install_launchers.py BIN_DIR

pip's scripts start a full interpreter: `site` processes every .pth file in the venv and
the script imports `re`. Tests, the demo and the fleet benchmark start these tools
thousands of times, so each starts with `python -S` (no site) and finds pmem_sim by its
path instead. The simulator needs nothing but the standard library.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIMULATOR_DIR = Path(__file__).resolve().parent
TOOLS = {"ipmctl": "ipmctl_main", "ndctl": "ndctl_main", "daxctl": "daxctl_main"}
TEMPLATE = """#!{python} -S
# Simulated {tool} (pmem.optane simulator); written by simulator/install_launchers.py.
import sys
sys.path.insert(0, {path!r})
from pmem_sim.entry import {function}
{function}()
"""


def main(argv: list[str]) -> int:
    bin_dir = Path(os.path.abspath(argv[1]))  # not resolve(): the venv python is a symlink
    python = bin_dir / "python"
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
