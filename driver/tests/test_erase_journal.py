"""The write-ahead erase journal: what survives a restart, a torn write and an upgrade."""

from __future__ import annotations

from optane_csi.volumes import PendingErase, naming, read_erase_journal

FIRST = naming.volume_id_for("pvc-first")
SECOND = naming.volume_id_for("pvc-second")


def journal_lines(state_dir) -> list[str]:
    return (state_dir / PendingErase.JOURNAL).read_text().splitlines()


def test_marks_and_clearings_survive_a_restart(tmp_path):
    marks = PendingErase(str(tmp_path))
    marks.mark(FIRST)
    marks.mark(SECOND)
    marks.clear(FIRST)
    assert marks.all() == [SECOND] and marks.pending(SECOND) and not marks.pending(FIRST)
    # Every step is one line on disk, written before the call returned.
    assert journal_lines(tmp_path) == [f"+ {FIRST}", f"+ {SECOND}", f"- {FIRST}"]

    restarted = PendingErase(str(tmp_path))
    assert restarted.all() == [SECOND]
    # The first read rewrites the journal down to what is pending.
    assert journal_lines(tmp_path) == [f"+ {SECOND}"]
    assert (tmp_path / PendingErase.JOURNAL).stat().st_mode & 0o777 == 0o600


def test_clearing_an_unmarked_volume_writes_nothing(tmp_path):
    marks = PendingErase(str(tmp_path))
    marks.clear(FIRST)
    assert journal_lines(tmp_path) == []


def test_torn_last_line_and_foreign_lines_are_ignored(tmp_path):
    # A crash mid-append leaves a partial line; a mark torn so was written before ndctl ran.
    (tmp_path / PendingErase.JOURNAL).write_text(f"+ {FIRST}\nnonsense\n+ ../../etc/passwd\n+ {SECOND}"[:-3])
    assert read_erase_journal(tmp_path / PendingErase.JOURNAL) == ({FIRST}, 3)
    assert PendingErase(str(tmp_path)).all() == [FIRST]


def test_torn_clearing_leaves_the_volume_pending(tmp_path):
    # The clearing never completed, so CreateVolume never replied: erasing again is safe.
    (tmp_path / PendingErase.JOURNAL).write_text(f"+ {FIRST}\n- {FIRST}"[:-2])
    assert PendingErase(str(tmp_path)).all() == [FIRST]


def test_marks_of_earlier_versions_are_honoured_and_folded_in(tmp_path):
    legacy = tmp_path / PendingErase.LEGACY_DIR
    legacy.mkdir()
    (legacy / FIRST).write_text("1700000000\n")
    (legacy / "not-a-volume").write_text("")
    marks = PendingErase(str(tmp_path))
    assert marks.all() == [FIRST]
    assert journal_lines(tmp_path) == [f"+ {FIRST}"]
    assert not (legacy / FIRST).exists()
    assert (legacy / "not-a-volume").exists()  # not ours to remove
    marks.clear(FIRST)
    assert PendingErase(str(tmp_path)).all() == []


def test_journal_is_compacted(tmp_path):
    marks = PendingErase(str(tmp_path))
    marks.COMPACT_AFTER = 10
    marks.mark(SECOND)
    for _ in range(20):
        marks.mark(FIRST)
        marks.clear(FIRST)
        assert len(journal_lines(tmp_path)) < 10
    assert journal_lines(tmp_path)[0] == f"+ {SECOND}"
    assert PendingErase(str(tmp_path)).all() == [SECOND]
    # Appends after a rewrite go to the new file, not to the replaced one.
    marks.mark(FIRST)
    assert journal_lines(tmp_path)[-1] == f"+ {FIRST}"


def test_journal_stays_open_for_appends(tmp_path):
    import os

    marks = PendingErase(str(tmp_path))
    journal = str(tmp_path / PendingErase.JOURNAL)

    def open_on_journal() -> int:
        fds = os.listdir("/proc/self/fd")
        return sum(1 for fd in fds if os.path.realpath(f"/proc/self/fd/{fd}") == journal)

    for _ in range(5):
        marks.mark(FIRST)
        marks.clear(FIRST)
    assert open_on_journal() == 1
    marks.close()
    assert open_on_journal() == 0
    marks.mark(SECOND)  # reopens after close
    assert journal_lines(tmp_path)[-1] == f"+ {SECOND}"


def test_state_directory_is_created_private(tmp_path):
    state = tmp_path / "state"
    PendingErase(str(state)).mark(FIRST)
    assert state.stat().st_mode & 0o777 == 0o700
    assert PendingErase(str(state)).all() == [FIRST]


def counting_fdatasync(monkeypatch) -> list[int]:
    """Counts os.fdatasync calls (each still syncs for real)."""
    import os

    calls: list[int] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    return calls


def test_mark_is_synced_at_once_and_a_deferred_clearing_on_make_durable(tmp_path, monkeypatch):
    synced = counting_fdatasync(monkeypatch)
    marks = PendingErase(str(tmp_path))
    marks.mark(FIRST)
    assert len(synced) == 1  # on disk before ndctl may run
    marks.clear(FIRST, durable=False)
    assert len(synced) == 1 and journal_lines(tmp_path)[-1] == f"- {FIRST}"  # written, not yet synced
    marks.make_durable()
    assert len(synced) == 2
    marks.make_durable()  # nothing new to sync
    assert len(synced) == 2
    marks.mark(SECOND)
    marks.clear(SECOND)  # durable by default
    assert len(synced) == 4


def test_make_durable_syncs_what_another_process_wrote(tmp_path, monkeypatch):
    PendingErase(str(tmp_path)).make_durable()  # no journal yet: nothing to do, no error
    writer = PendingErase(str(tmp_path))
    writer.mark(FIRST)
    writer.clear(FIRST, durable=False)
    synced = counting_fdatasync(monkeypatch)
    PendingErase(str(tmp_path)).make_durable()  # e.g. the node process after the controller's create
    assert len(synced) == 1
