"""The simulated PMem host (pmem_sim) and the shared naming module, for the removal guard."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

from .conftest import ROOT, VENV_BIN


def load_naming():
    spec = importlib.util.spec_from_file_location("naming", ROOT / "plugins" / "module_utils" / "naming.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


naming = load_naming()


class Simulator:
    """A simulated PMem host (pmem_sim) whose ndctl the role calls."""

    def __init__(self, state: Path) -> None:
        self.env = {"PMEMSIM_STATE": str(state), "PMEM_OPTANE_LOCK": str(state.with_suffix(".lock"))}
        self.tool("pmemsim", "init", "--preset", "qemu")
        # Fresh QEMU DIMMs are label-less; labels are needed to name namespaces.
        self.tool("ndctl", "disable-region", "all")
        self.tool("ndctl", "init-labels", "all")
        self.tool("ndctl", "enable-region", "all")

    def tool(self, name: str, *args: str) -> str:
        proc = subprocess.run(
            [str(VENV_BIN / name), *args],
            env={**self.env, "PATH": f"{VENV_BIN}:/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, f"{name} {args}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def create(self, region: str, name: str) -> None:
        self.tool("ndctl", "create-namespace", "-r", region, "-m", "fsdax", "-s", "256M", "-n", name)

    def names(self) -> list[str]:
        out = self.tool("ndctl", "list", "-N")
        data = json.loads(out) if out.strip() else []
        data = [data] if isinstance(data, dict) else data
        return sorted(ns["name"] for ns in data if "name" in ns)
