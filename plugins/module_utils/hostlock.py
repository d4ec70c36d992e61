"""Host-wide lock around every PMem mutation (modules and CSI driver share it).

fcntl.flock on /run/pmem-optane.lock (env PMEM_OPTANE_LOCK overrides). The
holder writes its pid into the file so a waiter that times out can name it.
The lock is released when the holder closes the file or dies.
"""

import errno
import fcntl
import os
import time
from typing import Optional

from .errors import LockTimeout, PmemError

DEFAULT_LOCK_PATH = "/run/pmem-optane.lock"
LOCK_PATH_ENV = "PMEM_OPTANE_LOCK"
DEFAULT_TIMEOUT = 60.0
POLL_INTERVAL = 0.05


def lock_path(path: Optional[str] = None) -> str:
    """The lock file: an explicit path, else $PMEM_OPTANE_LOCK, else /run/pmem-optane.lock."""
    return path or os.environ.get(LOCK_PATH_ENV) or DEFAULT_LOCK_PATH


def read_holder_pid(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read(32).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class HostLock:
    """Context manager: ``with HostLock(): ...``. Re-entrant within one object only."""

    def __init__(self, path: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = lock_path(path)
        self.timeout = float(timeout)
        self._fd: Optional[int] = None
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            self._depth += 1
            return
        directory = os.path.dirname(self.path)
        try:
            if directory and not os.path.isdir(directory):
                os.makedirs(directory, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise PmemError(
                "cannot open the PMem host lock %s: %s (run as root, or set %s to a writable path)"
                % (self.path, exc.strerror or exc, LOCK_PATH_ENV)
            ) from None
        deadline = time.monotonic() + max(0.0, self.timeout)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.monotonic() >= deadline:
                    holder = read_holder_pid(self.path)
                    who = "process %d" % holder if holder else "another process"
                    raise LockTimeout(
                        "could not take the PMem host lock %s within %.1f s: held by %s "
                        "(another ndctl/ipmctl change is running; retry later or set %s)"
                        % (self.path, self.timeout, who, LOCK_PATH_ENV),
                        path=self.path,
                        holder_pid=holder,
                    )
                time.sleep(POLL_INTERVAL)
            os.ftruncate(fd, 0)
            os.write(fd, ("%d\n" % os.getpid()).encode("ascii"))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        if self._fd is None:
            return
        self._depth -= 1
        if self._depth > 0:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> "HostLock":
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
