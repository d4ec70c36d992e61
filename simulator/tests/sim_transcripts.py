"""Reading the real-tool transcripts and replaying them through the simulator."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"

# Scenario -> the preset whose initial state is the guest the transcript started from.
SCENARIOS = {
    "labels": "qemu-misaligned",
    "aligned": "qemu",
    "aligned2": "qemu",
    "nolabel": "qemu-nolabel",
}
TOOLS = ("ndctl", "daxctl", "ipmctl")
# Commands the simulator does not implement (none at the moment; the mechanism stays for new transcripts).
UNSUPPORTED: tuple[str, ...] = ()


@dataclass
class Call:
    command: str
    stdout: str
    stderr: str
    rc: int

    @property
    def argv(self) -> list[str]:
        words = self.command.split()
        if words[:2] == ["timeout", "5"]:
            words = words[2:]
        return words

    @property
    def is_tool(self) -> bool:
        return bool(self.argv) and self.argv[0] in TOOLS


def parse_transcript(path: str) -> list[Call]:
    calls = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    for block in text.split("### CMD: ")[1:]:
        command, _, rest = block.partition("\n")
        if "--- stdout:\n" not in rest:
            continue
        stdout_part = rest.split("--- stdout:\n", 1)[1]
        stdout, _, rest = stdout_part.partition("--- stderr:\n")
        stderr, _, rest = rest.partition("--- rc=")
        rc_text = rest.split("\n", 1)[0].strip()
        # kernel console noise (an oops) can interleave with a command's output
        if re.search(r"^\[\s*\d+\.\d+\]", stdout, re.M):
            stdout = "".join(
                line for line in stdout.splitlines(True) if not re.match(r"^\[\s*\d+\.\d+\]", line)
            )
        calls.append(Call(command.strip(), stdout, stderr, int(rc_text)))
    return calls


class UuidNormaliser:
    """Replaces each distinct UUID by <uuid-N> in order of first appearance (zero UUID kept)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            value = match.group(0)
            if value == ZERO_UUID:
                return value
            if value not in self.seen:
                self.seen[value] = f"<uuid-{len(self.seen) + 1}>"
            return self.seen[value]

        return UUID_RE.sub(replace, text)


def replayable(calls: list[Call]) -> list[Call]:
    """Tool calls up to the first one that crashed the guest kernel (rc 137: killed by an oops)."""
    selected = []
    for call in calls:
        if call.rc == 137:
            break
        if call.is_tool and not (UNSUPPORTED and call.command.startswith(UNSUPPORTED)):
            selected.append(call)
    return selected
