"""Command runner protocol: how the library runs ipmctl, ndctl and daxctl.

The library never starts processes itself. Callers inject a runner: the Ansible
modules wrap ``AnsibleModule.run_command`` (ansible_runner.py), the CSI driver
uses a subprocess adapter, tests use a replay or simulator runner.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

try:  # typing.Protocol exists from Python 3.8 on; keep a fallback for odd builds.
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment,misc]

# Every tool call runs with a C locale so messages and number formats are the
# ones the parsers expect.
TOOL_ENV = {"LANG": "C", "LC_ALL": "C"}


@dataclass(frozen=True)
class CommandResult:
    argv: Tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


class CommandRunner(Protocol):
    """Runs one argv (never through a shell) and returns its result.

    A runner never raises because the exit code is non-zero: the tool wrappers
    decide what a failure means. It may raise ToolMissing when the binary cannot
    be started at all.
    """

    def run(self, argv: Sequence[str], *, stdin: Optional[str] = None) -> CommandResult: ...


@dataclass
class RecordingRunner:
    """Wraps another runner and remembers every argv it ran (for tests and call counting)."""

    inner: "CommandRunner"
    calls: List[Tuple[str, ...]] = field(default_factory=list)

    def run(self, argv: Sequence[str], *, stdin: Optional[str] = None) -> CommandResult:
        self.calls.append(tuple(argv))
        return self.inner.run(argv, stdin=stdin)


def tool_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """TOOL_ENV plus caller additions (a fresh dict, safe to mutate)."""
    env = dict(TOOL_ENV)
    if extra:
        env.update(extra)
    return env
