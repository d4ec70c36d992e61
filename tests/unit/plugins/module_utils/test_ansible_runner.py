"""AnsibleRunner against a stand-in for AnsibleModule (the real one needs a module invocation)."""

import pytest

from plugins.module_utils import errors
from plugins.module_utils.ansible_runner import AnsibleRunner
from plugins.module_utils.ndctl import Ndctl


class FakeModule:
    def __init__(self, paths, answers):
        self.paths = paths
        self.answers = list(answers)
        self.calls = []

    def get_bin_path(self, name, required=False):
        return self.paths.get(name)

    def run_command(self, args, **kwargs):
        self.calls.append((args, kwargs))
        return self.answers.pop(0)


def test_runs_resolved_argv_with_c_locale_and_no_check_rc():
    module = FakeModule(
        {"ndctl": "/usr/bin/ndctl"},
        [(0, "", ""), (250, "", "error destroying namespaces: No such device or address\n")],
    )
    runner = AnsibleRunner(module)
    result = runner.run(["ndctl", "list", "-N"])
    args, kwargs = module.calls[0]
    assert args == ["/usr/bin/ndctl", "list", "-N"]
    assert kwargs["environ_update"] == {"LANG": "C", "LC_ALL": "C"}
    assert kwargs["check_rc"] is False and kwargs["use_unsafe_shell"] is False
    assert result.argv == ("ndctl", "list", "-N") and result.rc == 0
    with pytest.raises(errors.NotFound):
        Ndctl(runner).destroy_namespace("namespace9.9")


def test_missing_binary_is_tool_missing():
    runner = AnsibleRunner(FakeModule({}, []))
    with pytest.raises(errors.ToolMissing) as info:
        runner.run(["ipmctl", "show", "-dimm"])
    assert "ipmctl" in str(info.value)


def test_absolute_path_not_executable(tmp_path):
    runner = AnsibleRunner(FakeModule({}, []))
    with pytest.raises(errors.ToolMissing):
        runner.run([str(tmp_path / "nope"), "list"])


def test_stdin_passed_as_data():
    module = FakeModule({"ipmctl": "/usr/bin/ipmctl"}, [(0, "x", "")])
    AnsibleRunner(module).run(["ipmctl", "create", "-goal"], stdin="n\n")
    assert module.calls[0][1]["data"] == "n\n"
