"""json-c's pretty printer as ndctl/daxctl 76 use it, plus their human number formats.

json-c (JSON_C_TO_STRING_PRETTY) prints two-space indentation, ``"key":value``
without a space, escapes ``/`` as ``\\/`` and keeps insertion order. ndctl's
``--human`` sizes are custom serialisers that print pre-quoted strings; they are
represented here by :class:`Verbatim`.
"""

from __future__ import annotations

# Annotations only: typing is not imported at run time (tool start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Verbatim(str):
    """Text emitted as is (already valid JSON), e.g. a human size string with its quotes."""


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


_PLAIN = frozenset('"\\/')


def _string(text: str) -> str:
    if text.isprintable() and not _PLAIN.intersection(text):
        return '"' + text + '"'
    out = []
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, Verbatim):
        return str(value)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        text = repr(value)
        return text if ("." in text or "e" in text) else text + ".0"
    return str(value)


def dumps(value: Any, indent: int = 0) -> str:
    """Pretty JSON exactly as json_object_to_json_string_ext(..., PRETTY) prints it."""
    if isinstance(value, dict):
        if not value:
            return "{\n" + " " * indent + "}"
        pad = " " * (indent + 2)
        items = [f"{pad}{_string(key)}:{dumps(item, indent + 2)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list):
        if not value:
            return "[\n" + " " * indent + "]"
        pad = " " * (indent + 2)
        items = [pad + dumps(item, indent + 2) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return _scalar(value)


def human_size(size: int) -> Any:
    """ndctl/daxctl display_size(): numbers under 5000 KiB stay numbers."""
    if size < 5000 * 1024:
        return size
    if size < 2 * 1024**3:
        centi = (size * 200 // (1 << 20) + 1) // 2
        iec = f"{centi // 100}.{centi % 100:02d} MiB"
    elif size < 2 * 1024**4:
        centi = (size * 200 // (1 << 30) + 1) // 2
        iec = f"{centi // 100}.{centi % 100:02d} GiB"
    else:
        centi = (size * 200 // (1 << 40) + 1) // 2
        iec = f"{centi // 100}.{centi % 100:02d} TiB"
    if size < 2 * 1024**3:
        centi = (size // (1000000 // 200) + 1) // 2
        jedec = f"{centi // 100}.{centi % 100:02d} MB"
    elif size < 2 * 1024**4:
        centi = (size // (1000000000 // 200) + 1) // 2
        jedec = f"{centi // 100}.{centi % 100:02d} GB"
    else:
        centi = (size // (1000000000000 // 200) + 1) // 2
        jedec = f"{centi // 100}.{centi % 100:02d} TB"
    return Verbatim(f'"{iec} ({jedec})"')


def size_value(size: int, human: bool) -> Any:
    return human_size(size) if human else size


def hex_value(value: int, human: bool) -> Any:
    """util_json_object_hex(): a hex string with --human (``%#llx``, so 0 prints "0")."""
    if human:
        return f"{value:#x}" if value else "0"
    return value
