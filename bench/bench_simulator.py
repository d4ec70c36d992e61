"""Simulator benchmark: cost of one simulated tool call and of a whole host inventory.

Prints, no assertions:
* process start to exit of ``ndctl list -RDN -iv`` (the console script, as Ansible
  and the driver run it): p50/p95 over a bounded number of runs, next to a bare
  ``python -S -c pass`` and ``python -c pass`` for the interpreter's own share;
* the same call repeated on an unchanged state, which the launcher answers from the
  simulator's read cache without starting Python (pmem_sim/readcache.py);
* the same call through the in-process SimRunner;
* the tool calls a whole host inventory issues (what pmem_info gathers: ipmctl
  platform + memory resources + goals + regions, one ``ndctl list -RDN -iv``,
  one ``daxctl list``). The simulator answers each call exactly once, so this is
  also the number of calls the real tools would take on real hardware.

Run: .venv/bin/python bench/bench_simulator.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pmem_sim import readcache  # noqa: E402
from pmem_sim.runner import SimRunner  # noqa: E402
from pmem_sim.testing import make_state, reboot, sim_env  # noqa: E402

from plugins.module_utils.daxctl import Daxctl  # noqa: E402
from plugins.module_utils.ipmctl import Ipmctl  # noqa: E402
from plugins.module_utils.ndctl import Ndctl  # noqa: E402
from plugins.module_utils.runner import RecordingRunner  # noqa: E402

BIN = os.path.dirname(sys.executable)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50, p95


def time_process(
    argv: list[str], env: dict[str, str], runs: int, before: Callable[[], None] | None = None
) -> list[float]:
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def inventory(runner) -> dict[str, int]:
    """The reads pmem_info makes, through the library."""
    recorder = RecordingRunner(runner)
    ipmctl = Ipmctl(recorder)
    found = ipmctl.platform()
    if found.ipmctl_usable:
        ipmctl.show_dimm()
        ipmctl.show_memory_resources()
        ipmctl.show_goal()
        ipmctl.show_region()
    Ndctl(recorder).inventory()
    Daxctl(recorder).list()
    counts: dict[str, int] = {}
    for argv in recorder.calls:
        tool = os.path.basename(argv[0])
        counts[tool] = counts.get(tool, 0) + 1
    return counts


def host_states(directory: str) -> dict[str, str]:
    optane = make_state(
        directory,
        preset=None,
        name="optane.json",
        sockets=2,
        dimms_per_socket=6,
        dimm_capacity=256,
        generation=200,
    )
    SimRunner(optane).run(["ipmctl", "create", "-f", "-goal"])
    reboot(optane)
    runner = SimRunner(optane)
    for index in range(8):
        runner.run(
            ["ndctl", "create-namespace", "-r", f"region{index % 2}", "-s", "24G", "-n", f"vol{index}"]
        )
    runner.run(["ndctl", "create-namespace", "-r", "region1", "-m", "devdax", "-s", "48G", "-n", "dax"])
    qemu = make_state(directory, preset="qemu", name="qemu.json")
    return {"optane 2s x 6 (8 fsdax + 1 devdax)": optane, "qemu guest (label-less)": qemu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="process runs per figure (default 40)")
    args = parser.parse_args()
    runs = max(5, min(args.runs, 500))
    # make test/demo byte-compile the package (mk/simulator.mk); do the same so the
    # figure is not a compile time when PYTHONDONTWRITEBYTECODE is set.
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "simulator", "pmem_sim"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as directory:
        hosts = host_states(directory)
        state = hosts["optane 2s x 6 (8 fsdax + 1 devdax)"]
        env = sim_env(state)
        load = os.getloadavg()[0]
        print(f"simulator benchmark ({runs} runs per figure, {os.cpu_count()} CPUs, load {load:.2f})")
        baseline_s = percentiles(time_process([sys.executable, "-S", "-c", "pass"], env, runs))
        baseline = percentiles(time_process([sys.executable, "-c", "pass"], env, runs))
        list_argv = [os.path.join(BIN, "ndctl"), "list", "-RDN", "-iv"]
        # The first read after a change runs the simulator; a repeat prints the kept answer.
        listing = percentiles(time_process(list_argv, env, runs, before=lambda: readcache.forget(state)))
        repeated = percentiles(time_process(list_argv, env, runs))
        print(
            f"  python -S -c pass                  p50 {baseline_s[0]:6.1f} ms  p95 {baseline_s[1]:6.1f} ms"
        )
        print(f"  python -c pass (site, .pth hooks)  p50 {baseline[0]:6.1f} ms  p95 {baseline[1]:6.1f} ms")
        print(
            f"  ndctl list -RDN -iv (process)      p50 {listing[0]:6.1f} ms  p95 {listing[1]:6.1f} ms (<=50)"
        )
        print(f"  the same, repeated (kept answer)   p50 {repeated[0]:6.1f} ms  p95 {repeated[1]:6.1f} ms")
        runner = SimRunner(state)
        samples = []
        for _ in range(runs * 5):
            started = time.perf_counter()
            runner.run(["ndctl", "list", "-RDN", "-iv"])
            samples.append((time.perf_counter() - started) * 1000)
        in_process = percentiles(samples)
        print(
            f"  ndctl list -RDN -iv (SimRunner)    p50 {in_process[0]:6.2f} ms  p95 {in_process[1]:6.2f} ms"
        )
        print("host inventory (pmem_info's reads through the library):")
        for label, path in hosts.items():
            started = time.perf_counter()
            counts = inventory(SimRunner(path))
            elapsed = (time.perf_counter() - started) * 1000
            total = sum(counts.values())
            detail = ", ".join(f"{tool} {count}" for tool, count in sorted(counts.items()))
            print(
                f"  {label:36s} {total} tool calls ({detail}) = {total} real-tool calls;"
                f" {elapsed:.1f} ms in process"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
