"""Typed errors raised by the PMem library.

Every error carries a human ``message``. When a tool failed it also carries the
``argv``, exit code ``rc``, ``stdout`` and ``stderr`` of that call, and
``tool_message``: the tool's own explanation (for example ndctl's
``failed to create namespace: No space left on device`` or ipmctl's status
message). ``str(err)`` gives the message followed by the tool's text.
"""

from typing import Any, Dict, Optional, Sequence


class PmemError(Exception):
    """Base class of every error the library raises."""

    def __init__(
        self,
        message: str,
        *,
        argv: Optional[Sequence[str]] = None,
        rc: Optional[int] = None,
        stdout: str = "",
        stderr: str = "",
        tool_message: Optional[str] = None,
        status_code: Optional[int] = None,
    ) -> None:
        self.message = message
        self.argv = tuple(argv) if argv is not None else None
        self.rc = rc
        self.stdout = stdout or ""
        self.stderr = stderr or ""
        self.tool_message = tool_message
        # ipmctl NVM status code (for example 115 "goal already exists") when known.
        self.status_code = status_code
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.message
        detail = self.tool_message
        if detail is None and self.argv is not None:
            detail = (self.stderr.strip() or self.stdout.strip()) or None
        if detail and detail not in text:
            text = "%s: %s" % (text, detail)
        if self.argv is not None and self.rc is not None:
            text = "%s (command: %s, rc=%d)" % (text, " ".join(self.argv), self.rc)
        return text

    def to_dict(self) -> Dict[str, Any]:
        """Facts suitable for module.fail_json / gRPC details."""
        out: Dict[str, Any] = {"error": type(self).__name__, "msg": str(self)}
        if self.argv is not None:
            out.update({"cmd": list(self.argv), "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr})
        if self.tool_message:
            out["tool_message"] = self.tool_message
        if self.status_code is not None:
            out["status_code"] = self.status_code
        return out


class ToolMissing(PmemError):
    """The tool binary is not installed / cannot be executed."""


class ToolFailed(PmemError):
    """A tool failed in a way that has no more specific mapping."""


class NotFound(PmemError):
    """The named region, namespace, device or DIMM does not exist."""


class Busy(PmemError):
    """The device is active, mounted or otherwise in use (EBUSY)."""


class InsufficientCapacity(PmemError):
    """Not enough free contiguous capacity (ENOSPC)."""


class BadSize(PmemError):
    """The requested size is invalid for this mode (e.g. below 16 MiB)."""


class BadAlignment(PmemError):
    """The size or physical placement is misaligned."""


class LabelLessRegion(PmemError):
    """The region has no namespace labels: it cannot be sub-divided."""


class Incompatible(PmemError):
    """The object exists but differs from the request."""

    def __init__(self, message: str, differences: Optional[Sequence[str]] = None, **kwargs: Any) -> None:
        self.differences = list(differences or [])
        super().__init__(message, **kwargs)


class SafeModeRefused(PmemError):
    """The change would destroy data or disturb users and needs explicit consent."""


class LockTimeout(PmemError):
    """The host-wide PMem lock could not be taken in time."""

    def __init__(self, message: str, path: str = "", holder_pid: Optional[int] = None, **kwargs: Any):
        self.path = path
        self.holder_pid = holder_pid
        super().__init__(message, **kwargs)


class NoPmemModules(PmemError):
    """ipmctl found no Optane PMem modules on this host (VMs, non-Optane servers)."""


class GoalFailed(PmemError):
    """The BIOS rejected the memory allocation goal."""


class InvalidRequest(PmemError):
    """The caller's input is invalid: ``field`` names the input, ``rule`` says what is expected."""

    def __init__(self, field: str, rule: str, value: Any = None, **kwargs: Any) -> None:
        self.field = field
        self.rule = rule
        self.value = value
        message = "%s: %s" % (field, rule) if value is None else "%s: %s (got %r)" % (field, rule, value)
        super().__init__(message, **kwargs)
