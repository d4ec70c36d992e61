"""Answers to repeated reads, kept beside the state so the launchers can print them without Python.

The real ipmctl, ndctl and daxctl are C programs that start in about a millisecond; a
simulated call starts Python, which costs ten times that. A converged fleet's re-run is
nothing but the same reads again, so the fleet benchmark measured the simulator's
start-up rather than the collection. After a read (``ndctl list``, ``daxctl list``,
``ipmctl show``) has been answered, its stdout is stored in ``<state>.reads/`` under a
name built from the command line; the shell launchers (``install_launchers.py``) print
that file when it exists and the state has not changed since, and run the simulator
otherwise.

What keeps an answer true to the state it came from:

* only a read that left the state untouched, exited 0, wrote nothing to stderr and ran
  with no faults armed and stdout not a terminal is stored (faults count calls; a
  terminal changes ndctl's output);
* every save of the state removes the directory first, under the state's lock, before
  the new state is renamed into place, so no answer outlives the state it describes;
* an answer is stored only under the lock, into a directory stamped with the key of the
  state it was computed from; a directory stamped for another state is removed first;
* the launchers also fall back to the simulator when the state file is newer than the
  directory, which catches a state file written by something other than the simulator.
"""

from __future__ import annotations

import os

SUFFIX = ".reads"
STAMP = ".state-key"
# The read verbs (first argument) whose answers may be kept: none of them prompts.
READ_VERBS = {"ndctl": "list", "daxctl": "list", "ipmctl": "show"}
# Characters an argument may hold to be part of an entry name: ASCII letters, digits and
# NAME_PUNCTUATION (the launchers check the same set). "+" joins the parts, so it cannot
# appear inside one. Spelt out: the `string` module would cost every tool call start-up.
NAME_PUNCTUATION = "._=:,-"
NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + NAME_PUNCTUATION)
MAX_NAME = 200


def entry_name(tool: str, args: list[str]) -> str | None:
    """The file name for ``tool args...``, or None when that call's answer is never kept."""
    if not args or READ_VERBS.get(tool) != args[0]:
        return None
    for arg in args:
        if not arg or not NAME_CHARS.issuperset(arg):
            return None
    name = "+".join([tool, *args])
    return name if len(name) <= MAX_NAME else None


def directory(state_path: str) -> str:
    return state_path + SUFFIX


def forget(state_path: str) -> None:
    """Remove every kept answer for this state (call with the state's lock held).

    Raises OSError when the answers cannot be removed: the caller is about to change
    the state, and must not do so while answers to the old one remain readable.
    """
    reads = directory(state_path)
    # A name no other call uses: renaming onto a leftover directory would fail.
    doomed = f"{reads}.{os.getpid()}.{os.urandom(4).hex()}.old"
    try:
        os.rename(reads, doomed)  # one step: a launcher sees all the answers or none
    except FileNotFoundError:
        return
    except OSError:
        doomed = reads  # cannot rename: remove the answers where they are
    for entry in os.scandir(doomed):
        os.unlink(entry.path)
    os.rmdir(doomed)


def remember(state_path: str, state_key: str, tool: str, args: list[str], stdout: str) -> None:
    """Keep ``stdout`` as the answer to ``tool args...`` for the state with ``state_key``."""
    name = entry_name(tool, args)
    if name is None or not stdout.isascii():
        return
    reads = directory(state_path)
    try:
        if _stamp(reads) != state_key:
            forget(state_path)
            os.mkdir(reads)
            _write(reads, STAMP, state_key)
        _write(reads, name, stdout)
    except OSError:
        pass  # only a cache: a read-only directory just means every call runs Python


def _stamp(reads: str) -> str | None:
    try:
        with open(os.path.join(reads, STAMP), encoding="ascii") as handle:
            return handle.read()
    except OSError:
        return None


def _write(reads: str, name: str, text: str) -> None:
    temporary = os.path.join(reads, f".{name[:64]}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(text)
    os.replace(temporary, os.path.join(reads, name))
