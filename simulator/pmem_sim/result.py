"""What one simulated tool invocation produced."""

from __future__ import annotations

EINVAL = 22
ENXIO = 6
ENODEV = 19
EBUSY = 16
ENOSPC = 28
EAGAIN = 11
EOPNOTSUPP = 95
ENOMEM = 12

STRERROR = {
    EINVAL: "Invalid argument",
    ENXIO: "No such device or address",
    ENODEV: "No such device",
    EBUSY: "Device or resource busy",
    ENOSPC: "No space left on device",
    EAGAIN: "Resource temporarily unavailable",
    EOPNOTSUPP: "Operation not supported",
    ENOMEM: "Cannot allocate memory",
}


def exit_code(negative_errno: int) -> int:
    """How a C main() returning -errno shows up as a process exit status."""
    return negative_errno & 0xFF


class Output:
    """Accumulates stdout/stderr like the C tools' buffered streams."""

    def __init__(self) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.rc = 0

    def out(self, text: str) -> None:
        self.stdout.append(text)

    def err(self, text: str) -> None:
        self.stderr.append(text)

    def error(self, message: str) -> None:
        """ndctl/daxctl error(): "  Error: " + message + newline."""
        self.stderr.append(f"  Error: {message}\n")

    def text(self) -> tuple[str, str]:
        return "".join(self.stdout), "".join(self.stderr)
