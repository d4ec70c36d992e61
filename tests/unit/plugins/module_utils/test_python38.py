"""module_utils runs on target Pythons: import and exercise it under Python 3.8 when one is installed."""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
CAPTURE = ROOT / "tests" / "unit" / "fixtures" / "captures" / "ndctl_list_-RDN_-iv.txt"

SMOKE = r"""
import importlib, sys
sys.path.insert(0, sys.argv[1])
for name in ["runner", "errors", "model", "sizes", "naming", "ndctl", "daxctl", "ipmctl", "hostlock",
             "planner", "apply"]:
    importlib.import_module("module_utils." + name)
from module_utils.ndctl import inventory_from_list, parse_list_output
from module_utils.planner import DesiredNamespace, plan_namespaces
from module_utils.hostlock import HostLock
from module_utils.sizes import usable_size
text = open(sys.argv[2]).read().split("\n", 1)[1].rsplit("[exit code", 1)[0]
plan = plan_namespaces([DesiredNamespace("a", size="256M")], inventory_from_list(parse_list_output(text)),
                       allow_data_loss=True)
assert [a.kind for a in plan] == ["init_labels", "create_namespace"], plan
with HostLock(sys.argv[3], timeout=1):
    pass
assert usable_size("fsdax", 1 << 30) == 1054867456
print("ok", sys.version_info[:2])
"""


def _old_pythons():
    found = []
    for version in ("3.8", "3.9"):
        candidates = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python")))
        path = shutil.which("python" + version)
        if path and "/shims/" not in path:  # pyenv shims refuse versions not selected
            candidates.append(path)
        if candidates:
            found.append(candidates[0])
    return found


@pytest.mark.skipif(not _old_pythons(), reason="no Python 3.8/3.9 interpreter on this machine")
@pytest.mark.parametrize("python", _old_pythons())
def test_library_runs_on_old_target_python(python, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(ROOT / "plugins" / "module_utils", lib / "module_utils")
    # The Ansible adapter needs ansible itself; every other file must import on its own.
    (lib / "module_utils" / "ansible_runner.py").unlink()
    result = subprocess.run(
        [python, "-c", SMOKE, str(lib), str(CAPTURE), str(tmp_path / "x.lock")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok (3, ")
    assert sys.version_info >= (3, 10)  # the suite itself runs on the controller's Python
