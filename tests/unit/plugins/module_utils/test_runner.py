from plugins.module_utils.runner import TOOL_ENV, CommandResult, RecordingRunner, tool_env

from .conftest import FixedRunner


def test_tool_env_is_c_locale():
    assert TOOL_ENV == {"LANG": "C", "LC_ALL": "C"}
    env = tool_env({"PMEMSIM_STATE": "/tmp/x"})
    env["LANG"] = "de_DE"
    assert TOOL_ENV["LANG"] == "C"


def test_command_result_and_recording():
    inner = FixedRunner((0, "out", ""), (3, "", "err"))
    runner = RecordingRunner(inner)
    first = runner.run(["ndctl", "list"])
    second = runner.run(("daxctl", "list"))
    assert first == CommandResult(("ndctl", "list"), 0, "out", "") and first.ok
    assert second.rc == 3 and not second.ok
    assert runner.calls == [("ndctl", "list"), ("daxctl", "list")]
