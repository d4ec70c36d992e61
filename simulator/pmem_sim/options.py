"""The git-style option parser ndctl and daxctl share (util/parse-options.c), with its messages.

Short flags combine (``-RDN``, ``-iv``), values attach (``-r0``) or follow
(``-r 0``), long options take ``--opt=value`` or ``--opt value``, booleans accept
``--no-<name>``. Errors print ``  Error: ...`` and the usage text, exit 129.
"""

from __future__ import annotations

# Annotations only: typing is not imported at run time (tool start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USAGE_OPTS_WIDTH = 24
USAGE_GAP = 2
RC_USAGE = 129


class Opt:
    """One option: short letter, long name, destination, kind (bool | str | incr), value name, help."""

    __slots__ = ("argh", "dest", "help", "kind", "long", "short")

    def __init__(
        self, short: str | None, long: str, dest: str, kind: str = "bool", argh: str = "", help: str = ""
    ) -> None:
        self.short = short
        self.long = long
        self.dest = dest
        self.kind = kind
        self.argh = argh
        self.help = help


class Parsed:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.args: list[str] = []


class UsageError(Exception):
    """Bad options: the messages to print before the usage text."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def error_line(message: str) -> str:
    """ndctl's error(): two spaces, "Error: ", the message, a newline."""
    return f"  Error: {message}\n"


def usage_text(usage: str, options: list[Opt]) -> str:
    lines = [f"\n usage: {usage}\n\n"]
    for opt in options:
        text = "    "
        if opt.short:
            text += f"-{opt.short}"
        if opt.short and opt.long:
            text += ", "
        if opt.long:
            text += f"--{opt.long}"
        if opt.kind == "str":
            text += f" <{opt.argh}>"
        if len(text) <= USAGE_OPTS_WIDTH:
            pad = USAGE_OPTS_WIDTH - len(text)
        else:
            text += "\n"
            pad = USAGE_OPTS_WIDTH
        lines.append(f"{text}{' ' * (pad + USAGE_GAP)}{opt.help}\n")
    lines.append("\n")
    return "".join(lines)


def parse(argv: list[str], options: list[Opt]) -> Parsed:
    """Parse ``argv`` (without the subcommand); raise UsageError like parse_options() would."""
    by_short = {opt.short: opt for opt in options if opt.short}
    by_long = {opt.long: opt for opt in options}
    parsed = Parsed()
    for opt in options:
        parsed.values.setdefault(opt.dest, 0 if opt.kind == "incr" else None)
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            parsed.args.extend(argv[index:])
            break
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            opt = by_long.get(name)
            negated = False
            if opt is None and name.startswith("no-") and name[3:] in by_long:
                opt = by_long[name[3:]]
                negated = True
            if opt is None:
                raise UsageError([f"unknown option `{name}'"])
            if opt.kind == "str":
                if not has_value:
                    if index >= len(argv):
                        raise UsageError([f"option `{name}' requires a value"])
                    value = argv[index]
                    index += 1
                parsed.values[opt.dest] = value
            elif opt.kind == "incr":
                parsed.values[opt.dest] = 0 if negated else parsed.values[opt.dest] + 1
            else:
                if has_value:
                    raise UsageError([f"option `{name}' takes no value"])
                parsed.values[opt.dest] = not negated
            continue
        if arg.startswith("-") and len(arg) > 1:
            chars = arg[1:]
            position = 0
            while position < len(chars):
                char = chars[position]
                position += 1
                opt = by_short.get(char)
                if opt is None:
                    raise UsageError([f"unknown switch `{char}'"])
                if opt.kind == "str":
                    if position < len(chars):
                        value = chars[position:]
                    else:
                        if index >= len(argv):
                            raise UsageError([f"switch `{char}' requires a value"])
                        value = argv[index]
                        index += 1
                    parsed.values[opt.dest] = value
                    break
                if opt.kind == "incr":
                    parsed.values[opt.dest] += 1
                else:
                    parsed.values[opt.dest] = True
            continue
        parsed.args.append(arg)
    return parsed


def parse_size64(text: str) -> int | None:
    """util/size.c parse_size64(): bytes with optional k/m/g/t (binary) suffix, or None."""
    text = text.strip()
    if not text:
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    multiplier = 1
    if text[-1].lower() in units:
        multiplier = units[text[-1].lower()]
        text = text[:-1]
    try:
        number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
    except ValueError:
        return None
    if number < 0:
        return None
    return number * multiplier


def size_units(text: str) -> int:
    """The unit multiplier of a size argument (used in the "did you intend" hint)."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    return units.get(text.strip()[-1:].lower(), 1)
