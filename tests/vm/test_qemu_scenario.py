"""`molecule test -s qemu`: a real Debian guest under QEMU with two emulated NVDIMMs,
provisioned by playbooks/site.yml and checked by testinfra (see molecule/qemu/).

Skipped only when QEMU itself cannot start, and then loudly. Prints the wall time of the
image build, the boot, converge, the reboot step and verify, and each verified item.
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
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.vm]

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LOG_DIR = ROOT / ".build" / "vm"
SCENARIO_TIMEOUT = int(os.environ.get("PMEM_VM_SCENARIO_TIMEOUT", "1500"))  # cold CI budget: 20 min
IMAGE_TIMEOUT = 1500
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


def banner(capsys, lines: list[str]) -> None:
    with capsys.disabled():
        print("\n" + "=" * 78)
        for line in lines:
            print(line)
        print("=" * 78, flush=True)


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
    return env


def run_streaming(argv: list[str], log_path: Path, timeout: float) -> tuple[int, list[tuple[float, str]]]:
    """Run argv in its own process group, keep (seconds since start, line) for each line.

    A watchdog kills the whole group after `timeout` seconds, even when it prints nothing.
    """
    started = time.monotonic()
    lines: list[tuple[float, str]] = []
    timed_out = threading.Event()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=scenario_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

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
            rc = proc.wait(timeout=60)
        finally:
            watchdog.cancel()
        if timed_out.is_set():
            lines.append((time.monotonic() - started, f"TIMEOUT: killed after {timeout} s"))
            log.write(f"TIMEOUT: killed after {timeout} s\n")
            rc = -1
    return rc, lines


def step_times(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Wall time of each molecule action (repeated actions such as destroy are summed)."""
    times: dict[str, float] = {}
    open_steps: dict[str, float] = {}
    for when, line in lines:
        match = STEP_LINE.search(line)
        if not match:
            continue
        step, what = match.groups()
        if what == "Executing":
            open_steps[step] = when
        elif step in open_steps:
            times[step] = times.get(step, 0.0) + when - open_steps.pop(step)
    return times


def test_molecule_qemu_scenario(capsys):
    pmemvm = load_pmemvm()
    ok, why = pmemvm.qemu_available()
    if not ok:
        banner(
            capsys,
            [
                "!!! WARNING: THE QEMU VM SCENARIO (molecule/qemu) DID NOT RUN !!!",
                f"!!! QEMU cannot start on this machine: {why}",
                "!!! Nothing was verified on a real kernel and ndctl.",
                "!!! Install qemu-system-x86 (make system-packages) and run it again.",
            ],
        )
        pytest.skip(f"QEMU cannot start, the VM scenario did not run: {why}")

    LOG_DIR.mkdir(parents=True, exist_ok=True)
    deps = ROOT / ".build" / "lifecycle" / "deps"
    assert list(deps.glob("grpcio-*.whl")), (
        f"{deps} lacks the driver's dependency wheels: run `make lifecycle-deps`"
    )

    started = time.monotonic()
    build = subprocess.run(
        [str(ROOT / "vm" / "build-image.sh")],
        capture_output=True,
        text=True,
        timeout=IMAGE_TIMEOUT,
        check=False,
    )
    image_seconds = time.monotonic() - started
    (LOG_DIR / "build-image.log").write_text(build.stdout + build.stderr)
    assert build.returncode == 0, f"guest image build failed:\n{build.stderr[-4000:]}"
    cache_hit = "image cache hit" in build.stderr

    log_path = LOG_DIR / "molecule-qemu.log"
    try:
        rc, lines = run_streaming(
            [str(VENV_BIN / "molecule"), "test", "-s", "qemu"], log_path, SCENARIO_TIMEOUT
        )
    finally:
        # Never leave a guest behind, whatever happened to molecule.
        subprocess.run(
            [sys.executable, str(ROOT / "vm" / "pmemvm.py"), "stop", "pmem-vm", "--remove"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    output = "\n".join(line for _, line in lines)
    times = step_times(lines)
    boot = BOOT_LINE.search(output)
    accel = ACCEL_LINE.search(output)
    results = [m.groups() for m in (TEST_RESULT.match(line) for _, line in lines) if m]

    report = [
        "QEMU VM scenario (molecule test -s qemu) wall times:",
        f"  image build  {image_seconds:7.1f} s{' (cache hit)' if cache_hit else ' (cold build)'}",
        f"  boot         {float(boot.group(1)) if boot else float('nan'):7.1f} s to SSH"
        f" (create step {times.get('create', float('nan')):.1f} s, accel {accel.group(1) if accel else '?'})",
        f"  prepare      {times.get('prepare', float('nan')):7.1f} s",
        f"  converge     {times.get('converge', float('nan')):7.1f} s (site.yml)",
        f"  idempotence  {times.get('idempotence', float('nan')):7.1f} s",
        f"  reboot       {times.get('side_effect', float('nan')):7.1f} s (side_effect)",
        f"  verify       {times.get('verify', float('nan')):7.1f} s (testinfra)",
        f"  destroy      {times.get('destroy', float('nan')):7.1f} s",
        f"  total        {time.monotonic() - started:7.1f} s",
        f"verified items ({sum(1 for r, _ in results if r == 'PASSED')} passed of {len(results)}):",
        *[f"  {result:7} {name}" for result, name in results],
        f"full log: {log_path}",
    ]
    banner(capsys, report)

    assert rc == 0, f"molecule test -s qemu failed (rc {rc}); see {log_path}\n" + output[-15000:]
    for step in ("create", "prepare", "converge", "idempotence", "side_effect", "verify"):
        assert step in times, f"the {step} step did not run to completion; see {log_path}"
    assert results, f"testinfra reported no verified items; see {log_path}"
    assert all(result == "PASSED" for result, _ in results), "\n".join(" ".join(r) for r in results)
