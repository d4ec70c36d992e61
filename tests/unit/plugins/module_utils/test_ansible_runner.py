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
    assert kwargs["expand_user_and_vars"] is False
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


def test_with_a_real_ansible_module():
    """The adapter against AnsibleModule itself: C locale, no shell, no $VAR/~ expansion."""
    from ansible.module_utils.basic import AnsibleModule
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args({}):
        module = AnsibleModule(argument_spec={})
    runner = AnsibleRunner(module)
    env = runner.run(["env"])
    assert env.rc == 0 and "LANG=C\n" in env.stdout and "LC_ALL=C\n" in env.stdout
    literal = runner.run(["printf", "%s|%s|%s", "$HOME", "~root", "a;b"])
    assert literal.stdout == "$HOME|~root|a;b" and literal.argv[0] == "printf"
    failed = runner.run(["ls", "/nonexistent-pmem-path"])
    assert failed.rc != 0 and failed.stderr  # no exception: the wrappers decide
