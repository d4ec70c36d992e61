"""Run each integration target with real `ansible-playbook` against the simulator.

Every target lives in tests/integration/targets/<name>/ and follows the four-step pattern
(check, apply, apply again, check again) plus its refusals; its asserts run inside the play.
This driver checks the play's outcome from the json callback (no failed or unreachable task, the
target's own assert tasks ran and passed) and that every check-mode or refused step left the
simulator's state file byte for byte identical: the targets copy the state file to
snapshots/<step>-before.json and snapshots/<step>-after.json around those steps.

The modules run under the oldest target Python available (3.8 when installed), so the 3.8
compatibility promise of plugins/ is exercised too.
"""

import glob
import json
import os
from pathlib import Path

import pytest
from modules_support import ROOT, ansible_env, run, tool

HERE = Path(__file__).resolve().parent
TARGETS = ("pmem_info", "pmem_goal", "pmem_namespace", "pmem_dax")
# Snapshot pairs each target must produce (a target that skipped its check steps fails here).
MIN_SNAPSHOT_PAIRS = {"pmem_info": 1, "pmem_goal": 3, "pmem_namespace": 6, "pmem_dax": 2}
OLD_PYTHON_GLOBS = (
    "/usr/bin/python3.8",
    "/usr/local/bin/python3.8",
    str(Path.home() / ".pyenv/versions/3.8*/bin/python3.8"),
)


def target_python() -> str:
    """A real Python 3.8 binary (not a pyenv shim, which depends on the shell's pyenv setup)."""
    for pattern in OLD_PYTHON_GLOBS:
        for candidate in sorted(glob.glob(pattern)):
            if os.access(candidate, os.X_OK):
                return candidate
    return str(ROOT / ".venv" / "bin" / "python")


def run_target(name: str, work: Path):
    env = ansible_env(
        ANSIBLE_ROLES_PATH=str(HERE / "targets"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        ANSIBLE_REMOTE_TEMP=str(work / "ansible-tmp"),
    )
    argv = [
        tool("ansible-playbook"),
        "-i",
        "localhost,",
        str(HERE / "run_target.yml"),
        "-e",
        json.dumps(
            {
                "pmem_target": name,
                "pmem_work": str(work),
                "pmem_tools_path": str(ROOT / ".venv" / "bin"),
                "ansible_python_interpreter": target_python(),
            }
        ),
    ]
    return run(argv, env=env, cwd=str(ROOT), timeout=900)


def task_results(report):
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                yield task["task"]["name"], host, result


@pytest.mark.parametrize("target", TARGETS)
def test_integration_target(target, tmp_path):
    result = run_target(target, tmp_path)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(
            f"ansible-playbook printed no JSON report:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    # Failed tasks, including the refusals the target expects (ignore_errors) for the report.
    failed = [
        "{}: {}".format(name, res.get("msg"))
        for name, _host, res in task_results(report)
        if res.get("failed")
    ]
    stats = report["stats"]["localhost"]
    assert stats["failures"] == 0 and stats["unreachable"] == 0, "\n".join(failed) or result.stderr[-4000:]
    assert result.returncode == 0, result.stderr[-4000:]

    # Role task names carry the role as a prefix ("pmem_namespace : Assert ...").
    asserts = [
        (name, res) for name, _h, res in task_results(report) if name.split(" : ")[-1].startswith("Assert")
    ]
    assert asserts, "the target ran no assert task"
    assert all(res.get("msg") == "All assertions passed" for _n, res in asserts), asserts

    snapshots = tmp_path / "snapshots"
    befores = sorted(snapshots.glob("*-before.json"))
    assert len(befores) >= MIN_SNAPSHOT_PAIRS[target], [p.name for p in befores]
    for before in befores:
        after = before.with_name(before.name.replace("-before.json", "-after.json"))
        assert after.exists(), f"{before.name} has no matching -after snapshot"
        assert before.read_bytes() == after.read_bytes(), "{} changed the simulator state".format(
            before.name[: -len("-before.json")]
        )
