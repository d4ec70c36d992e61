"""hostlock: real contention between processes, timeout text, holder pid."""

import multiprocessing
import os
import time

import pytest

from plugins.module_utils import errors
from plugins.module_utils.hostlock import (
    DEFAULT_LOCK_PATH,
    LOCK_PATH_ENV,
    HostLock,
    lock_path,
    read_holder_pid,
)


def _hold(path, ready, release, seconds):
    with HostLock(path, timeout=5):
        ready.set()
        release.wait(seconds)


def _take_and_record(path, out_path, timeout):
    start = time.monotonic()
    try:
        with HostLock(path, timeout=timeout), open(out_path, "a") as handle:
            handle.write("got %.3f\n" % (time.monotonic() - start))
    except errors.LockTimeout as exc:
        with open(out_path, "a") as handle:
            handle.write(f"timeout {exc.holder_pid}|{exc}\n")


@pytest.fixture()
def ctx():
    return multiprocessing.get_context("fork")


def test_default_path_and_env(monkeypatch, tmp_path):
    monkeypatch.delenv(LOCK_PATH_ENV, raising=False)
    assert lock_path() == DEFAULT_LOCK_PATH == "/run/pmem-optane.lock"
    monkeypatch.setenv(LOCK_PATH_ENV, str(tmp_path / "x.lock"))
    assert lock_path() == str(tmp_path / "x.lock")
    assert HostLock().path == str(tmp_path / "x.lock")
    assert lock_path(str(tmp_path / "explicit")) == str(tmp_path / "explicit")


def test_holder_pid_written_and_cleared(tmp_path):
    path = str(tmp_path / "pmem.lock")
    lock = HostLock(path)
    with lock:
        assert lock.held
        assert read_holder_pid(path) == os.getpid()
        with lock:  # re-entrant on the same object
            assert lock.held
        assert lock.held
    assert not lock.held
    assert read_holder_pid(path) is None


def test_timeout_names_path_and_holder(ctx, tmp_path):
    path = str(tmp_path / "pmem.lock")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(path, ready, release, 10))
    holder.start()
    try:
        assert ready.wait(5)
        started = time.monotonic()
        with pytest.raises(errors.LockTimeout) as info, HostLock(path, timeout=0.3):
            pytest.fail("must not get the lock while another process holds it")
        assert 0.25 <= time.monotonic() - started < 3
        err = info.value
        assert err.path == path and err.holder_pid == holder.pid
        assert path in str(err) and f"process {holder.pid}" in str(err)
    finally:
        release.set()
        holder.join(5)
    with HostLock(path, timeout=1):
        assert read_holder_pid(path) == os.getpid()


def test_waiter_gets_lock_when_holder_releases(ctx, tmp_path):
    path = str(tmp_path / "pmem.lock")
    out = tmp_path / "out.txt"
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(path, ready, release, 10))
    holder.start()
    assert ready.wait(5)
    waiter = ctx.Process(target=_take_and_record, args=(path, str(out), 5))
    waiter.start()
    time.sleep(0.3)
    assert not out.exists(), "the waiter must block while the lock is held"
    release.set()
    holder.join(5)
    waiter.join(5)
    assert out.read_text().startswith("got ")


def test_lock_released_when_holder_dies(ctx, tmp_path):
    path = str(tmp_path / "pmem.lock")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(path, ready, release, 30))
    holder.start()
    assert ready.wait(5)
    holder.kill()
    holder.join(5)
    with HostLock(path, timeout=2):
        pass


def test_many_processes_are_mutually_exclusive(ctx, tmp_path):
    path = str(tmp_path / "pmem.lock")
    counter = tmp_path / "counter"
    counter.write_text("0")

    procs = [ctx.Process(target=_increment, args=(path, str(counter))) for _ in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(20)
        assert proc.exitcode == 0
    assert counter.read_text() == str(6 * 20)


def _increment(path, counter_path):
    for _ in range(20):
        with HostLock(path, timeout=20):
            with open(counter_path) as handle:
                value = int(handle.read())
            time.sleep(0.0005)
            with open(counter_path, "w") as handle:
                handle.write(str(value + 1))


def test_creates_missing_directory(tmp_path):
    path = str(tmp_path / "sub" / "dir" / "pmem.lock")
    with HostLock(path, timeout=1):
        assert os.path.exists(path)


def test_unwritable_lock_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(errors.PmemError) as info, HostLock(str(blocker / "pmem.lock"), timeout=0.1):
        pass
    assert str(blocker / "pmem.lock") in str(info.value) and LOCK_PATH_ENV in str(info.value)
