"""Simulated ipmctl 03.00.00.0468 (Debian build): filled in below."""

from __future__ import annotations

from . import model as m
from .result import Output

VERSION_LINE = "Intel(R) Optane(TM) Persistent Memory Command Line Interface Version 03.00.00.0468-1"
NO_MODULES = "Initialization failed. No PMem modules in the system."


def execute(state: m.State, argv: list[str], stdin=None) -> tuple[Output, bool]:
    out = Output()
    if argv[:1] == ["version"]:
        out.out(VERSION_LINE + "\n")
        return out, False
    out.out(NO_MODULES + "\n")
    out.rc = 1
    return out, False
