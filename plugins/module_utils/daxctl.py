"""daxctl wrapper: list dax devices and switch them between devdax and system-ram.

daxctl prints JSON on stdout (an array, a bare object with --human, nothing when
no device matches) and counts/errors on stderr (pmem-tools.md section 2.6).
"""

import re
from typing import Any, Dict, List, Optional, Sequence

from .errors import InvalidRequest, ToolFailed
from .model import DaxDevice
from .ndctl import _dax_device, error_for, parse_count, parse_json_objects
from .runner import CommandResult, CommandRunner

DAX_MODES = ("devdax", "system-ram")
_DEV_RE = re.compile(r"^dax\d+\.\d+$")


def parse_devices(stdout: str) -> List[DaxDevice]:
    """Devices from ``daxctl list`` / ``reconfigure-device`` output (array, object or empty)."""
    devices: List[Dict[str, Any]] = []
    for value in parse_json_objects(stdout):
        for obj in value if isinstance(value, list) else [value]:
            if not isinstance(obj, dict):
                continue
            if "chardev" in obj:
                devices.append(obj)
            # daxctl list -R: regions carrying their devices.
            devices.extend(d for d in obj.get("devices") or [] if isinstance(d, dict))
    return [_dax_device(d) for d in devices]


class Daxctl:
    """daxctl through an injected runner. ``binary`` may be a resolved absolute path."""

    def __init__(self, runner: CommandRunner, binary: str = "daxctl") -> None:
        self.runner = runner
        self.binary = binary

    def _checked(self, args: Sequence[str], action: str) -> CommandResult:
        result = self.runner.run([self.binary, *args])
        if result.rc != 0:
            raise error_for(result, action)
        return result

    def list(self, dev: Optional[str] = None, idle: bool = False) -> List[DaxDevice]:
        """Dax devices of non-zero size (``idle`` adds 0-size seeds)."""
        args = ["list"]
        if idle:
            args.append("-i")
        if dev is not None:
            self._check_dev(dev)
            args += ["-d", dev]
        result = self._checked(args, "daxctl list")
        try:
            return parse_devices(result.stdout)
        except ValueError as exc:
            raise ToolFailed(
                "daxctl list printed output that is not JSON: %s" % exc,
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            ) from None

    def device(self, dev: str) -> Optional[DaxDevice]:
        for device in self.list():
            if device.chardev == dev:
                return device
        return None

    @staticmethod
    def _check_dev(dev: str) -> None:
        if not isinstance(dev, str) or not _DEV_RE.match(dev):
            raise InvalidRequest("device", "must look like daxN.M", dev)

    @classmethod
    def reconfigure_args(
        cls, dev: str, mode: str, force: bool = False, online: bool = True, movable: bool = True
    ) -> List[str]:
        cls._check_dev(dev)
        if mode not in DAX_MODES:
            raise InvalidRequest("mode", "must be devdax or system-ram", mode)
        args = ["reconfigure-device", "--mode=%s" % mode]
        if mode == "system-ram":
            if not online:
                args.append("--no-online")
            if not movable:
                args.append("--no-movable")
        if force:
            args.append("-f")
        args.append(dev)
        return args

    def reconfigure_device(
        self, dev: str, mode: str, force: bool = False, online: bool = True, movable: bool = True
    ) -> DaxDevice:
        """Switch ``dev`` to ``mode``. Busy (EBUSY) when its memory is online and ``force`` is False."""
        args = self.reconfigure_args(dev, mode, force, online, movable)
        result = self._checked(args, "daxctl reconfigure-device %s" % dev)
        devices = parse_devices(result.stdout)
        if not devices:
            raise ToolFailed(
                "daxctl reconfigure-device printed no device (%s)" % (parse_count(result.stderr),),
                argv=result.argv,
                rc=result.rc,
                stdout=result.stdout,
                stderr=result.stderr,
            )
        return devices[0]
