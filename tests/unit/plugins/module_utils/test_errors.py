import pytest

from plugins.module_utils import errors


def test_every_error_is_a_pmem_error_with_tool_context():
    for cls in (
        errors.ToolMissing,
        errors.ToolFailed,
        errors.NotFound,
        errors.Busy,
        errors.InsufficientCapacity,
        errors.BadSize,
        errors.BadAlignment,
        errors.LabelLessRegion,
        errors.SafeModeRefused,
        errors.NoPmemModules,
        errors.GoalFailed,
    ):
        err = cls(
            "what failed", argv=["ndctl", "x"], rc=237, stdout="", stderr="  Error: why\n", tool_message="why"
        )
        assert isinstance(err, errors.PmemError)
        assert str(err) == "what failed: why (command: ndctl x, rc=237)"
        assert err.to_dict()["error"] == cls.__name__ and err.to_dict()["tool_message"] == "why"


def test_message_only_error():
    err = errors.ToolFailed("plain")
    assert (
        str(err) == "plain" and err.argv is None and err.to_dict() == {"error": "ToolFailed", "msg": "plain"}
    )


def test_tool_text_used_when_no_tool_message():
    err = errors.ToolFailed("ndctl failed", argv=("ndctl",), rc=1, stderr="boom\n")
    assert "boom" in str(err)


def test_invalid_request_names_field_and_rule():
    err = errors.InvalidRequest("namespaces[2].size", "must be a byte count", "12X")
    assert (err.field, err.rule, err.value) == ("namespaces[2].size", "must be a byte count", "12X")
    assert str(err) == "namespaces[2].size: must be a byte count (got '12X')"
    with pytest.raises(errors.PmemError):
        raise err


def test_incompatible_and_lock_timeout_attributes():
    err = errors.Incompatible("differs", differences=["a", "b"])
    assert err.differences == ["a", "b"]
    lock = errors.LockTimeout("held", path="/run/x.lock", holder_pid=42)
    assert lock.path == "/run/x.lock" and lock.holder_pid == 42
    assert errors.GoalFailed("x", status_code=115).to_dict()["status_code"] == 115
