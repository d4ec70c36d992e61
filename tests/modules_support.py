"""Shared plumbing for the module tests: where the checkout is and how Ansible finds it.

`make` points ANSIBLE_COLLECTIONS_PATH at .build/collections, where pmem/optane is a link to
this checkout. Tests run by hand (plain `pytest`) create the same link themselves.
"""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
MODULES = ("pmem_info", "pmem_goal", "pmem_namespace", "pmem_dax")


def collections_path() -> Path:
    """The directory holding ansible_collections/pmem/optane, creating the link when missing."""
    configured = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)[0]
    base = Path(configured) if configured else ROOT / ".build" / "collections"
    link = base / "ansible_collections" / "pmem" / "optane"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():  # dangling link left by an older checkout
            link.unlink()
        link.symlink_to(ROOT)
    return base


def tool(name: str) -> str:
    """Absolute path of a console script, preferring the project venv."""
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed (run `make venv`)")
    return found


def ansible_env(**extra: str) -> dict:
    """Environment for ansible-* commands: the collection link, no colour, the venv first on PATH."""
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(collections_path())
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_LOCALHOST_WARNING"] = "0"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "0"
    env["PATH"] = "{}{}{}".format(VENV_BIN, os.pathsep, env.get("PATH", ""))
    env.update(extra)
    return env


def run(argv, *, env=None, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
