"""The launchers' read cache: a repeated read is answered without Python, and never from an old state."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pmem_sim import model, readcache
from pmem_sim.testing import add_fault, make_state

SIMULATOR_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def launchers(tmp_path_factory) -> Path:
    """The shell launchers, installed by install_launchers.py into a bin directory of their own."""
    bin_dir = tmp_path_factory.mktemp("bin")
    (bin_dir / "python").symlink_to(sys.executable)
    subprocess.run(
        [sys.executable, str(SIMULATOR_DIR / "install_launchers.py"), str(bin_dir)],
        check=True,
        timeout=60,
    )
    return bin_dir


def run(launchers: Path, state: str, *argv: str, **extra_env: str) -> subprocess.CompletedProcess:
    env = {"PATH": f"{launchers}:/usr/bin:/bin", "LANG": "C", "LC_ALL": "C", model.STATE_ENV: state}
    env.update(extra_env)
    return subprocess.run(
        [str(launchers / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def app_direct_state(directory: Path) -> str:
    """One socket of two modules in App Direct: a labelled region with room for namespaces."""
    return make_state(directory, sockets=1, dimms_per_socket=2, dimm_capacity=128, initial="appdirect")


def kept(state: str, *argv: str) -> Path:
    name = readcache.entry_name(argv[0], list(argv[1:]))
    assert name is not None, argv
    return Path(readcache.directory(state)) / name


def test_a_repeated_read_is_printed_from_the_kept_answer(tmp_path, launchers):
    state = make_state(tmp_path, preset="optane-2s")
    first = run(launchers, state, "ipmctl", "show", "-o", "nvmxml", "-a", "-dimm")
    assert first.returncode == 0 and first.stderr == ""
    entry = kept(state, "ipmctl", "show", "-o", "nvmxml", "-a", "-dimm")
    assert entry.read_text() == first.stdout
    # Replace the answer: if the launcher prints it, the second call never ran the simulator.
    entry.write_text("kept answer\n")
    assert run(launchers, state, "ipmctl", "show", "-o", "nvmxml", "-a", "-dimm").stdout == "kept answer\n"
    # A different command line is a different answer.
    other = run(launchers, state, "ipmctl", "show", "-o", "nvmxml", "-dimm")
    assert other.returncode == 0 and other.stdout.startswith("<?xml")


def test_every_change_of_the_state_removes_the_kept_answers(tmp_path, launchers):
    state = app_direct_state(tmp_path)
    assert run(launchers, state, "ndctl", "list", "-N").stdout == ""
    assert kept(state, "ndctl", "list", "-N").exists()

    created = run(launchers, state, "ndctl", "create-namespace", "-r", "region0", "-s", "1G", "-n", "db")
    assert created.returncode == 0, created.stderr
    assert not Path(readcache.directory(state)).exists(), "a change must drop every kept answer"
    listed = json.loads(run(launchers, state, "ndctl", "list", "-N").stdout)
    assert [ns["name"] for ns in listed] == ["db"]
    assert kept(state, "ndctl", "list", "-N").read_text().count('"db"') == 1

    destroyed = run(launchers, state, "ndctl", "destroy-namespace", "-f", listed[0]["dev"])
    assert destroyed.returncode == 0, destroyed.stderr
    assert run(launchers, state, "ndctl", "list", "-N").stdout == ""


def test_a_state_written_behind_the_simulators_back_is_not_answered_from_old_answers(tmp_path, launchers):
    state = make_state(tmp_path, preset="qemu")
    before = json.loads(run(launchers, state, "ndctl", "list", "-R").stdout)
    assert kept(state, "ndctl", "list", "-R").exists()
    edited = json.loads(Path(state).read_text())
    for region in edited["regions"]:
        region["size"] += 16 * 1024**2
    Path(state).write_text(json.dumps(edited))  # newer than the kept answers
    after = json.loads(run(launchers, state, "ndctl", "list", "-R").stdout)
    assert [r["size"] for r in after] == [r["size"] + 16 * 1024**2 for r in before]
    # The simulator restamped the directory for the new bytes and kept the new answer.
    listing = run(launchers, state, "ndctl", "list", "-R").stdout
    assert kept(state, "ndctl", "list", "-R").read_text() == listing
    stamp = Path(readcache.directory(state)) / readcache.STAMP
    assert stamp.read_text() == model.load_state_and_key(state)[1]


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (("ndctl", "create-namespace", "-r", "region9"), "not a read verb"),
        (("ndctl", "list", "-r", "region 0"), "an argument outside the name characters"),
        (("ndctl", "list", "--region=region+0"), "the joining character inside an argument"),
        (("ipmctl", "show", "-bogus"), "a read that fails"),
        (("ipmctl",), "no verb at all"),
    ],
)
def test_answers_are_kept_only_for_clean_reads(tmp_path, launchers, argv, why):
    state = make_state(tmp_path, preset="optane-1s")
    run(launchers, state, *argv)
    reads = Path(readcache.directory(state))
    names = sorted(p.name for p in reads.iterdir()) if reads.exists() else []
    assert names in ([], [readcache.STAMP]), why


def test_no_answer_is_kept_while_faults_are_armed(tmp_path, launchers):
    state = make_state(tmp_path, preset="optane-1s")
    add_fault(state, error="none", match="ndctl create-namespace", latency_ms=0, times=0)
    for _ in range(2):
        assert run(launchers, state, "ndctl", "list", "-R").returncode == 0
    assert not Path(readcache.directory(state)).exists()
    assert model.load_state(state)["calls"] == 2, "both calls ran the simulator and were counted"


def test_lint_and_debug_runs_always_start_the_simulator(tmp_path, launchers):
    state = make_state(tmp_path, preset="qemu")
    run(launchers, state, "ndctl", "list", "-R")
    kept(state, "ndctl", "list", "-R").write_text("kept answer\n")
    assert run(launchers, state, "ndctl", "list", "-R").stdout == "kept answer\n"
    for variable in ("NDCTL_LIST_LINT", "PMEMSIM_DEBUG"):
        listed = run(launchers, state, "ndctl", "list", "-R", **{variable: "1"})
        assert listed.stdout.startswith("[") or listed.stdout.startswith("{"), (variable, listed.stdout)


def test_reads_beside_changes_see_a_whole_state(tmp_path, launchers):
    """Concurrent reads print a complete listing of some state, never half an answer or an error."""
    state = app_direct_state(tmp_path)
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        for _ in range(40):  # bounded: at most 40 reads per thread
            if stop.is_set():
                return
            got = run(launchers, state, "ndctl", "list", "-N")
            try:
                names = [ns["name"] for ns in json.loads(got.stdout)] if got.stdout else []
            except ValueError:
                failures.append(f"unparsable listing: {got.stdout!r}")
                continue
            if got.returncode != 0 or got.stderr or names not in ([], ["x"]):
                failures.append(f"rc={got.returncode} stderr={got.stderr!r} names={names}")

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for _ in range(8):  # bounded: eight create/destroy cycles
            made = run(launchers, state, "ndctl", "create-namespace", "-r", "region0", "-s", "1G", "-n", "x")
            assert made.returncode == 0, made.stderr
            dev = json.loads(made.stdout)["dev"]
            gone = run(launchers, state, "ndctl", "destroy-namespace", "-f", dev)
            assert gone.returncode == 0, gone.stderr
    finally:
        stop.set()
        for thread in readers:
            thread.join(timeout=120)
    assert failures == []
    assert run(launchers, state, "ndctl", "list", "-N").stdout == ""


def test_the_installer_refuses_a_simulator_path_it_cannot_quote(tmp_path):
    odd = tmp_path / "it's" / "simulator"
    no_bytecode = shutil.ignore_patterns("__pycache__")
    shutil.copytree(SIMULATOR_DIR / "pmem_sim", odd / "pmem_sim", ignore=no_bytecode)
    shutil.copy(SIMULATOR_DIR / "install_launchers.py", odd)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    argv = [sys.executable, str(odd / "install_launchers.py"), str(bin_dir)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "cannot quote" in done.stderr
    assert not (bin_dir / "ndctl").exists()
