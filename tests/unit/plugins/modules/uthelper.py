"""One helper runs every YAML-described module test case (the community.general UTHelper pattern).

A test file test_pmem_<noun>.py is one call::

    test_module = UTHelper.from_module(pmem_noun, __file__).test

and test_pmem_<noun>.yaml lists the cases. Each case has:

- ``id``: test id.
- ``input``: module arguments. ``{tmp}`` in any string becomes a per-case temporary directory.
- ``flags``: optional ``check: true`` / ``diff: true``.
- ``files``: optional ``{relative path: text}`` written under ``{tmp}`` before the run (mount tables,
  existing daxctl.conf.d files).
- ``missing_tools``: optional list of tool names that are not installed on the fake host.
- ``mocks.run_command``: every command the module must run, in order, each with ``command`` (the exact
  argv), ``rc``, ``out`` and ``err``. The outputs are copied from real captured tool output (see the
  ``source`` key of each mock).
- ``output_items``: optional ``{list key: [items]}``; each item must be in that result list.
- ``output_contains``: optional ``{dotted.key: [substrings]}`` for text results.
- ``output``: the expected result. Every key given must be equal in the module's result; ``msg`` is
  matched as a substring; ``failed: true`` expects fail_json.
- ``files_after``: optional ``{relative path: text or null}``; null means the file must not exist.

The helper fails a case when the module runs a command that is not the next expected one, or leaves
expected commands unrun.
"""

import json
import os
from pathlib import Path

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class CommandMock:
    """Replays the expected commands in order; asserts the argv of each call."""

    def __init__(self, case_id, calls):
        self.case_id = case_id
        self.expected = list(calls or [])
        self.position = 0

    def __call__(self, args, **kwargs):
        argv = [str(a) for a in args]
        assert self.position < len(self.expected), f"{self.case_id}: unexpected extra command {argv!r}"
        call = self.expected[self.position]
        self.position += 1
        wanted = [str(a) for a in call["command"]]
        assert argv == wanted, f"{self.case_id}: command #{self.position} is {argv!r}, expected {wanted!r}"
        assert kwargs.get("environ_update", {}).get("LC_ALL") == "C", "tools must run with LC_ALL=C"
        return call.get("rc", 0), call.get("out", ""), call.get("err", "")

    def check_all_used(self):
        unused = [c["command"] for c in self.expected[self.position :]]
        assert not unused, f"{self.case_id}: commands never run: {unused!r}"


def _substitute(value, tmp):
    if isinstance(value, str):
        return value.replace("{tmp}", tmp)
    if isinstance(value, list):
        return [_substitute(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, tmp) for k, v in value.items()}
    return value


class UTHelper:
    def __init__(self, module, cases):
        self.module = module
        self.cases = cases

    @classmethod
    def from_module(cls, module, test_file):
        spec_path = Path(test_file).with_suffix(".yaml")
        cases = yaml.safe_load(spec_path.read_text())
        helper = cls(module, cases)
        helper.test = helper.make_test()
        return helper

    def make_test(self):
        helper = self

        @pytest.mark.parametrize("case", helper.cases, ids=[c["id"] for c in helper.cases])
        def test_module(case, tmp_path, monkeypatch):
            helper.run_case(case, tmp_path, monkeypatch)

        return test_module

    def run_case(self, case, tmp_path, monkeypatch):
        tmp = str(tmp_path)
        case = _substitute(case, tmp)
        for relative, text in (case.get("files") or {}).items():
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        monkeypatch.setenv("PMEM_OPTANE_LOCK", os.path.join(tmp, "pmem-optane.lock"))
        missing = set(case.get("missing_tools") or [])
        mock = CommandMock(case["id"], (case.get("mocks") or {}).get("run_command"))
        flags = case.get("flags") or {}

        def fake_exit(module, **kwargs):
            kwargs.setdefault("failed", False)
            raise ModuleExit(kwargs)

        def fake_fail(module, msg, **kwargs):
            kwargs.update(failed=True, msg=msg)
            raise ModuleExit(kwargs)

        def fake_bin_path(module, name, required=False, opt_dirs=None):
            return None if name in missing else name

        def fake_run(module, args, **kwargs):
            return mock(args, **kwargs)

        monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run)
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", fake_exit)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", fake_fail)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", fake_bin_path)
        args = dict(case.get("input") or {})
        if flags.get("check"):
            args["_ansible_check_mode"] = True
        if flags.get("diff"):
            args["_ansible_diff"] = True
        with patch_module_args(args), pytest.raises(ModuleExit) as exited:
            self.module.main()
        result = json.loads(json.dumps(exited.value.result))
        expected = case.get("output") or {}
        for key, value in expected.items():
            assert key in result, "{}: result lacks {!r}: {!r}".format(case["id"], key, result)
            if key == "msg":
                assert value in result["msg"], "{}: msg {!r} lacks {!r}".format(
                    case["id"], result["msg"], value
                )
            else:
                assert result[key] == value, "{}: {} is {!r}, expected {!r}".format(
                    case["id"],
                    key,
                    result[key],
                    value,
                )
        for key, items in (case.get("output_items") or {}).items():
            for item in items:
                assert item in result[key], f"{case['id']}: {key} lacks {item!r}; it holds {result[key]!r}"
        for dotted, needles in (case.get("output_contains") or {}).items():
            value = result
            for part in dotted.split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
            for needle in needles:
                assert needle in value, f"{case['id']}: {dotted}={value!r} lacks {needle!r}"
        if "failed" not in expected:
            assert not result.get("failed"), "{}: module failed: {}".format(case["id"], result.get("msg"))
        mock.check_all_used()
        for relative, text in (case.get("files_after") or {}).items():
            target = tmp_path / relative
            if text is None:
                assert not target.exists(), "{}: {} should not exist".format(case["id"], relative)
            else:
                assert target.read_text() == text, "{}: {} content differs".format(case["id"], relative)


def run_module(module, args, monkeypatch, runner, *, check=False, diff=False):
    """Run ``module.main()`` with ``args``, sending every command to ``runner`` (e.g. the simulator's
    in-process SimRunner); return the result dict (``failed`` true when the module failed)."""

    def fake_run(mod, argv, **kwargs):
        result = runner.run([str(a) for a in argv], stdin=kwargs.get("data"))
        return result.rc, result.stdout, result.stderr

    def fake_exit(mod, **kwargs):
        kwargs.setdefault("failed", False)
        raise ModuleExit(kwargs)

    def fake_fail(mod, msg, **kwargs):
        kwargs.update(failed=True, msg=msg)
        raise ModuleExit(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", fake_run)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", fake_exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fake_fail)
    monkeypatch.setattr(
        basic.AnsibleModule, "get_bin_path", lambda mod, name, required=False, opt_dirs=None: name
    )
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(ModuleExit) as exited:
        module.main()
    return json.loads(json.dumps(exited.value.result))


# --- simulated hosts for the in-process module runs ----------------------------------------


def simulated_host(tmp_path, monkeypatch):
    """(make(preset) -> SimRunner, state path) of a simulated host in tmp_path (the `host` fixture)."""
    from pmem_sim import model as sim_model
    from pmem_sim import topology
    from pmem_sim.runner import SimRunner

    state = tmp_path / "state.json"
    monkeypatch.setenv("PMEMSIM_STATE", str(state))
    monkeypatch.setenv("PMEM_OPTANE_LOCK", str(tmp_path / "lock"))

    def make(preset):
        sim_model.save_state(str(state), topology.build_state(preset=preset))
        return SimRunner(state)

    return make, state


def reboot(state, fail=None):
    """What the BIOS does at boot: pending goals become regions (or fail)."""
    from pmem_sim import model as sim_model
    from pmem_sim import topology

    with sim_model.transaction(str(state)) as txn:
        topology.apply_goals(txn.state, fail=fail)
        txn.touch()
