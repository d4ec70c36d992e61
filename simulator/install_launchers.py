"""Replace pip's console scripts for the simulated ipmctl/ndctl/daxctl with lean launchers.

    python simulator/install_launchers.py BIN_DIR

pip's scripts start a full interpreter: `site` processes every .pth file in the venv and
the script imports `re`. Tests, the demo and the fleet benchmark start these tools
thousands of times, so each starts with `python -S` (no site) and finds pmem_sim by its
path instead. The simulator needs nothing but the standard library, so the launchers run
on the interpreter that starts fastest: the system's python3 when it is the same minor
version as the venv's (it reads the same byte code; Debian's is a static build, which
starts in about 12 ms of CPU against 18 ms for a shared-library build such as pyenv's),
else the venv's own. Each launcher is a POSIX shell script that first looks for a kept
answer to a repeated read (pmem_sim/readcache.py) and prints it without starting Python.
"""

from __future__ import annotations

import os
import string
import subprocess
import sys
from pathlib import Path

SIMULATOR_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(SIMULATOR_DIR))
from pmem_sim import readcache  # noqa: E402

# readcache.NAME_CHARS as a shell bracket expression ("-" last, so it is literal).
SHELL_NAME_CHARS = "A-Za-z0-9" + readcache.NAME_PUNCTUATION
if frozenset(string.ascii_letters + string.digits + readcache.NAME_PUNCTUATION) != readcache.NAME_CHARS:
    raise SystemExit("install_launchers: SHELL_NAME_CHARS no longer matches readcache.NAME_CHARS")
if not readcache.NAME_PUNCTUATION.endswith("-"):
    raise SystemExit("install_launchers: '-' must end readcache.NAME_PUNCTUATION (a literal in sh)")
SYSTEM_PYTHON = Path("/usr/bin/python3")
TOOLS = {"ipmctl": "ipmctl_main", "ndctl": "ndctl_main", "daxctl": "daxctl_main"}
# A POSIX shell script: it prints a kept answer (pmem_sim/readcache.py) when there is one
# for this command line and the state is not newer than the answers, and otherwise starts
# the simulator. `command exec 3<` opens the answer in the shell itself, so an answer
# removed by a concurrent change just means running the simulator, never half an output.
TEMPLATE = """#!/bin/sh
# Simulated {tool} (pmem.optane simulator); written by simulator/install_launchers.py.
if [ -n "$PMEMSIM_STATE" ] && [ -z "$NDCTL_LIST_LINT$PMEMSIM_DEBUG" ] && [ ! -t 1 ]; then
    entry={tool}
    for arg in "$@"; do
        case $arg in
            '' | *[!{name_chars}]*) entry=; break ;;
        esac
        entry="$entry+$arg"
    done
    reads="$PMEMSIM_STATE{suffix}"
    if [ -n "$entry" ] && [ "${{#entry}}" -le {max_name} ] && [ -f "$PMEMSIM_STATE" ] \\
        && [ ! "$PMEMSIM_STATE" -nt "$reads" ] && {{ command exec 3<"$reads/$entry"; }} 2>/dev/null; then
        exec cat <&3 3<&-
    fi
fi
exec "{python}" -S -c \\
    'import sys; sys.path.insert(0, "{path}"); from pmem_sim.entry import {function}; {function}()' "$@"
"""


def quotable(path: Path) -> str:
    """``path`` as text that can sit in double quotes, in sh and in Python inside sh's single quotes."""
    text = str(path)
    if any(char in text for char in "'\"\\$`"):
        raise SystemExit(f"install_launchers: cannot quote the path {text!r} for sh")
    return text


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
        text = TEMPLATE.format(
            python=quotable(python),
            tool=tool,
            path=quotable(SIMULATOR_DIR),
            function=function,
            name_chars=SHELL_NAME_CHARS,
            suffix=readcache.SUFFIX,
            max_name=readcache.MAX_NAME,
        )
        if target.exists() and target.read_text() == text:
            continue
        temporary = target.with_name(f".{tool}.tmp")
        temporary.write_text(text)
        temporary.chmod(0o755)
        os.replace(temporary, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
