"""Replay of real tool output for the library's unit tests.

The fixtures under tests/unit/fixtures are verbatim copies of the reference
transcripts and captures (see fixtures/README.md). ReplayRunner answers an argv
with what the real tool printed for it.
"""

import json
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[4]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from plugins.module_utils.runner import CommandResult  # noqa: E402

FIXTURES = REPO_ROOT / "tests" / "unit" / "fixtures"
TRANSCRIPTS = FIXTURES / "transcripts"
CAPTURES = FIXTURES / "captures"
IPMCTL_XML = FIXTURES / "ipmctl"

_CMD_RE = re.compile(r"### CMD: (.*)$")
_RC_RE = re.compile(r"^--- rc=(\d+)$")


@dataclass(frozen=True)
class Recorded:
    source: str  # file name (and scenario order index)
    index: int
    argv: tuple[str, ...]
    stdout: str
    stderr: str
    rc: int

    def result(self) -> CommandResult:
        return CommandResult(argv=self.argv, rc=self.rc, stdout=self.stdout, stderr=self.stderr)


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n" if lines else ""


def load_transcript(path: Path) -> list[Recorded]:
    """Parse the ``### CMD:`` / ``--- stdout:`` / ``--- stderr:`` / ``--- rc=N`` format."""
    records: list[Recorded] = []
    current: dict | None = None
    section: str | None = None
    for line in path.read_text(errors="replace").split("\n"):
        match = _CMD_RE.search(line)
        if match:
            current = {"cmd": match.group(1), "stdout": [], "stderr": []}
            section = None
            continue
        if current is None:
            continue
        if line == "--- stdout:":
            section = "stdout"
            continue
        if line == "--- stderr:":
            section = "stderr"
            continue
        rc_match = _RC_RE.match(line)
        if rc_match:
            records.append(
                Recorded(
                    source=path.name,
                    index=len(records),
                    argv=tuple(shlex.split(current["cmd"])),
                    stdout=_join(current["stdout"]),
                    stderr=_join(current["stderr"]),
                    rc=int(rc_match.group(1)),
                )
            )
            current = None
            continue
        if section:
            current[section].append(line)
    return records


def load_capture(path: Path) -> Recorded:
    """Parse a guest capture: ``$ cmd``, stdout+stderr interleaved, ``[exit code: N]``.

    The capture merged both streams; JSON at the start is stdout, the rest of an
    ndctl/daxctl capture is stderr (where those tools print messages). ipmctl
    prints everything on stdout.
    """
    lines = path.read_text().split("\n")
    assert lines[0].startswith("$ "), path
    argv = tuple(shlex.split(lines[0][2:]))
    rc_line = max(i for i, line in enumerate(lines) if line.startswith("[exit code: "))
    rc = int(lines[rc_line][len("[exit code: ") : -1])
    body = _join(lines[1:rc_line])
    if argv[0] == "ipmctl":
        return Recorded(path.name, 0, argv, body, "", rc)
    if "--version" in argv or not body.lstrip().startswith(("{", "[")):
        return Recorded(
            path.name,
            0,
            argv,
            "" if "--version" not in argv else body,
            "" if "--version" in argv else body,
            rc,
        )
    decoder = json.JSONDecoder()
    index = len(body) - len(body.lstrip())
    while body[index:].lstrip().startswith(("{", "[")):
        index += len(body[index:]) - len(body[index:].lstrip())
        _, index = decoder.raw_decode(body, index)
    stdout = body[:index] + "\n"
    rest = body[index:].lstrip("\n")
    return Recorded(path.name, 0, argv, stdout, rest, rc)


def all_transcripts() -> list[Recorded]:
    out: list[Recorded] = []
    for path in sorted(TRANSCRIPTS.glob("*.log")):
        out.extend(load_transcript(path))
    return out


def all_captures() -> list[Recorded]:
    return [load_capture(p) for p in sorted(CAPTURES.glob("*.txt"))]


def all_recorded() -> list[Recorded]:
    return all_transcripts() + all_captures()


def recorded_for(argv: Sequence[str], records: Iterable[Recorded] | None = None) -> list[Recorded]:
    wanted = tuple(argv)
    return [r for r in (records if records is not None else all_recorded()) if r.argv == wanted]


class ReplayRunner:
    """A runner answering from recorded calls.

    ``script`` is a list of Recorded answered in order for matching argv (so a
    repeated ``ndctl list -N`` gets successive answers). Unknown argv fail the
    test loudly instead of inventing output.
    """

    def __init__(self, script: Iterable[Recorded]) -> None:
        self.queue: dict[tuple[str, ...], list[Recorded]] = {}
        for rec in script:
            self.queue.setdefault(rec.argv, []).append(rec)
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> CommandResult:
        key = tuple(argv)
        self.calls.append(key)
        pending = self.queue.get(key)
        if not pending:
            raise AssertionError(f"no recorded answer for {key!r}")
        rec = pending.pop(0) if len(pending) > 1 else pending[0]
        return rec.result()


class FixedRunner:
    """Answers every call with the given results in order (for hand-built cases)."""

    def __init__(self, *results: tuple[int, str, str]) -> None:
        self.results = list(results)
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], *, stdin: str | None = None) -> CommandResult:
        self.calls.append(tuple(argv))
        rc, stdout, stderr = self.results.pop(0)
        return CommandResult(argv=tuple(argv), rc=rc, stdout=stdout, stderr=stderr)


@pytest.fixture(scope="session")
def transcripts() -> list[Recorded]:
    return all_transcripts()


@pytest.fixture(scope="session")
def captures() -> list[Recorded]:
    return all_captures()
