"""Run `molecule test -s qemu` (image build included) in a background thread.

The QEMU guest runs under TCG here: the scenario is CPU-bound on one or two host cores for
many minutes while the rest of the suite needs the others. tests/vm/conftest.py starts a
`ScenarioRun` as soon as collection ends and tests/vm/test_qemu_scenario.py (collected last)
waits for it and checks the outcome, so a full `make test` takes about as long as the longer
of the two rather than their sum. The runner writes only to its log files, never to the
terminal, so it cannot interleave with pytest's output.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LOG_DIR = ROOT / ".build" / "vm"
DEPS_DIR = ROOT / ".build" / "lifecycle" / "deps"
# The whole molecule run; generous because the rest of the suite shares the cores meanwhile.
SCENARIO_TIMEOUT = int(os.environ.get("PMEM_VM_SCENARIO_TIMEOUT", "3600"))
IMAGE_TIMEOUT = int(os.environ.get("PMEM_VM_IMAGE_TIMEOUT", "1500"))
# Molecule 26 prints "[qemu > create] Executing"; older ones "qemu ➜ create: Executing".
STEP_LINE = re.compile(r"\bqemu\s*(?:➜|>)\s*(\w+)(?:\]|:)\s+(Executing|Executed: .*)$")
TEST_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (tests/\S+|\S+\.py::\S+)")
BOOT_LINE = re.compile(r"SSH ready after ([0-9.]+) s")
ACCEL_LINE = re.compile(r"accel=(\w+)")


def load_pmemvm():
    spec = importlib.util.spec_from_file_location("pmemvm", ROOT / "vm" / "pmemvm.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pmemvm"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def scenario_env() -> dict[str, str]:
    collections = ROOT / ".build" / "collections"
    link = collections / "ansible_collections" / "pmem" / "optane"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    env = dict(os.environ)
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=env.get("ANSIBLE_COLLECTIONS_PATH") or str(collections),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PY_COLORS="0",
        NO_COLOR="1",
        MOLECULE_GLOB="molecule/*/molecule.yml",
        MOLECULE_NO_LOG="false",
        # Step times come from when lines arrive: no block buffering in molecule's output.
        PYTHONUNBUFFERED="1",
    )
    # pytest's own settings must not leak into the testinfra run molecule starts.
    for name in ("PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTEST_VERSION"):
        env.pop(name, None)
    return env


@dataclass
class Outcome:
    """What the scenario did; `skipped` or `error` set means it did not run to the end."""

    skipped: str = ""
    error: str = ""
    image_seconds: float = float("nan")
    image_cache_hit: bool = False
    rc: int | None = None
    lines: list[tuple[float, str]] = field(default_factory=list)
    total_seconds: float = float("nan")
    log_path: Path = LOG_DIR / "molecule-qemu.log"

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def step_times(self) -> dict[str, float]:
        """Wall time of each molecule action (repeated actions such as destroy are summed)."""
        times: dict[str, float] = {}
        open_steps: dict[str, float] = {}
        for when, line in self.lines:
            match = STEP_LINE.search(line)
            if not match:
                continue
            step, what = match.groups()
            if what == "Executing":
                open_steps[step] = when
            elif step in open_steps:
                times[step] = times.get(step, 0.0) + when - open_steps.pop(step)
        return times

    def results(self) -> list[tuple[str, str]]:
        return [m.groups() for m in (TEST_RESULT.match(line) for _, line in self.lines) if m]

    def report(self) -> list[str]:
        times = self.step_times()
        output = self.output
        boot = BOOT_LINE.search(output)
        accel = ACCEL_LINE.search(output)
        results = self.results()
        nan = float("nan")
        return [
            "QEMU VM scenario (molecule test -s qemu) wall times:",
            f"  image build  {self.image_seconds:7.1f} s"
            f"{' (cache hit)' if self.image_cache_hit else ' (cold build)'}",
            f"  boot         {float(boot.group(1)) if boot else nan:7.1f} s to SSH"
            f" (create step {times.get('create', nan):.1f} s, accel {accel.group(1) if accel else '?'})",
            f"  prepare      {times.get('prepare', nan):7.1f} s",
            f"  converge     {times.get('converge', nan):7.1f} s (site.yml)",
            f"  idempotence  {times.get('idempotence', nan):7.1f} s",
            f"  reboot       {times.get('side_effect', nan):7.1f} s (side_effect)",
            f"  verify       {times.get('verify', nan):7.1f} s (testinfra)",
            f"  destroy      {times.get('destroy', nan):7.1f} s",
            f"  total        {self.total_seconds:7.1f} s (image build included)",
            f"verified items ({sum(1 for r, _ in results if r == 'PASSED')} passed of {len(results)}):",
            *[f"  {result:7} {name}" for result, name in results],
            f"full log: {self.log_path}",
        ]


class ScenarioRun:
    """The image build and `molecule test -s qemu`, in a thread; `cancel` kills them."""

    def __init__(self) -> None:
        self.outcome: Outcome | None = None
        self.started = time.monotonic()
        self._proc: subprocess.Popen | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._main, name="qemu-scenario", daemon=True)

    def start(self) -> ScenarioRun:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Outcome:
        self._thread.join(timeout)
        if self.outcome is None:
            self.cancel()
            self._thread.join(120)
        return self.outcome or Outcome(error="the scenario thread did not finish")

    def running(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        self._cancelled.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

    def _main(self) -> None:
        outcome = Outcome()
        try:
            self._run(outcome)
        except Exception:
            outcome.error = traceback.format_exc()
        finally:
            outcome.total_seconds = time.monotonic() - self.started
            self.outcome = outcome

    def _run(self, outcome: Outcome) -> None:
        pmemvm = load_pmemvm()
        ok, why = pmemvm.qemu_available()
        if not ok:
            outcome.skipped = why
            return
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        if not list(DEPS_DIR.glob("grpcio-*.whl")):
            outcome.error = f"{DEPS_DIR} lacks the driver's dependency wheels: run `make lifecycle-deps`"
            return

        began = time.monotonic()
        build = [str(ROOT / "vm" / "build-image.sh")]
        rc, lines = self._stream(build, LOG_DIR / "build-image.log", IMAGE_TIMEOUT)
        outcome.image_seconds = time.monotonic() - began
        image_output = "\n".join(line for _, line in lines)
        outcome.image_cache_hit = "image cache hit" in image_output
        if rc != 0:
            outcome.error = f"guest image build failed (rc {rc}):\n{image_output[-4000:]}"
            return
        try:
            outcome.rc, outcome.lines = self._stream(
                [str(VENV_BIN / "molecule"), "test", "-s", "qemu"], outcome.log_path, SCENARIO_TIMEOUT
            )
        finally:
            # Never leave a guest behind, whatever happened to molecule.
            subprocess.run(
                [sys.executable, str(ROOT / "vm" / "pmemvm.py"), "stop", "pmem-vm", "--remove"],
                capture_output=True,
                timeout=120,
                check=False,
            )

    def _stream(self, argv: list[str], log_path: Path, timeout: float) -> tuple[int, list[tuple[float, str]]]:
        """Run argv in its own process group, keep (seconds since start, line) for each line.

        A watchdog kills the whole group after `timeout` seconds, even when it prints nothing.
        """
        if self._cancelled.is_set():
            return -1, [(0.0, "CANCELLED before start")]
        started = time.monotonic()
        lines: list[tuple[float, str]] = []
        timed_out = threading.Event()
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=scenario_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
            self._proc = proc

            def kill_group() -> None:
                timed_out.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

            watchdog = threading.Timer(timeout, kill_group)
            watchdog.start()
            try:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append((time.monotonic() - started, line.rstrip("\n")))
                    log.write(line)
                    log.flush()
                rc = proc.wait(timeout=60)
            finally:
                watchdog.cancel()
                self._proc = None
            if timed_out.is_set() or self._cancelled.is_set():
                why = f"TIMEOUT: killed after {timeout} s" if timed_out.is_set() else "CANCELLED"
                lines.append((time.monotonic() - started, why))
                log.write(why + "\n")
                rc = -1
        return rc, lines


_background: ScenarioRun | None = None


def start_background() -> ScenarioRun:
    """Start the scenario once per process; later calls return the same run."""
    global _background
    if _background is None:
        _background = ScenarioRun().start()
    return _background


def background() -> ScenarioRun | None:
    return _background
