"""Console-script entry points: ``ndctl``, ``daxctl`` and ``ipmctl`` backed by the simulator."""

from __future__ import annotations

import sys

from .dispatch import main


def ndctl_main() -> None:
    sys.exit(main("ndctl"))


def daxctl_main() -> None:
    sys.exit(main("daxctl"))


def ipmctl_main() -> None:
    sys.exit(main("ipmctl"))


def pmemsim_main() -> None:
    from .cli import main as cli_main

    sys.exit(cli_main())
