"""Small helpers shared by the library tests (argv parsing of recorded ndctl calls)."""

from collections.abc import Sequence
from typing import Any

from plugins.module_utils.sizes import parse_size

_CREATE_OPTIONS = {
    "-r": "region",
    "--region": "region",
    "-m": "mode",
    "--mode": "mode",
    "-s": "size",
    "--size": "size",
    "-n": "name",
    "--name": "name",
    "-M": "map",
    "--map": "map",
    "-a": "align",
    "--align": "align",
    "-l": "sector_size",
    "--sector-size": "sector_size",
    "-u": "uuid",
    "--uuid": "uuid",
    "-e": "reconfig",
    "--reconfig": "reconfig",
}


def create_kwargs(argv: Sequence[str]) -> dict[str, Any]:
    """kwargs of Ndctl.create_namespace equivalent to a recorded ``ndctl create-namespace`` argv."""
    assert argv[:2] == ("ndctl", "create-namespace"), argv
    out: dict[str, Any] = {}
    args = list(argv[2:])
    while args:
        arg = args.pop(0)
        if arg == "-f":
            out["force"] = True
            continue
        if arg == "-c":
            out["greedy"] = True
            continue
        if "=" in arg:
            key, value = arg.split("=", 1)
        else:
            key, value = arg, args.pop(0)
        name = _CREATE_OPTIONS[key]
        if name in ("size", "align"):
            out[name] = parse_size(value)
        elif name == "sector_size":
            out[name] = int(value)
        else:
            out[name] = value
    return out
