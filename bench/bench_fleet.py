#!/usr/bin/env python3
"""Fleet benchmark: provision.yml over N simulated hosts against Ansible's own floor.

For each N (default 10, 50, 100) it builds a factory-fresh simulated fleet
(scripts/simfleet.py: one simulator state per host, local connections) and
measures, wall clock:

* the first converge of playbooks/provision.yml (goal, simulated reboot, namespaces);
* the idempotent re-run on the now compliant fleet;
* module calls per host in each run (counted by a callback, not estimated);
* the floor: a play running ansible.builtin.ping as often per host as the
  re-run called modules per host, over the same inventory and forks;
* the split of the re-run's extra cost over the floor: a play making only the
  roles' one pmem_info call (same gather, registered under the same name)
  tells the module's share from the share of the roles' decisions.

The re-run, the floor and the pmem_info play are measured --repeat times
each, alternately, and the medians are compared: a single floor run varies
by 10-15 % on a two-core machine, more than the margin the goal leaves.
Next to the wall clock it
prints the CPU seconds of each run (ansible-playbook and everything it
started), which vary far less. The goal is median re-run <= 1.5 x median
floor: gather once, decide locally, act only where something differs. Every
run is bounded by a timeout.

    .venv/bin/python bench/bench_fleet.py [--hosts 10,50,100] [--forks 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS = ROOT / ".build" / "collections"
CALLBACK_DIR = Path(__file__).resolve().parent / "callbacks"
RUN_TIMEOUT_S = 1800
GOAL_RATIO = 1.5


@dataclass
class Run:
    seconds: float
    cpu_seconds: float
    rc: int
    changed: int
    calls_by_host: dict[str, int]
    calls_by_module: dict[str, int]

    def calls_per_host(self) -> float:
        return sum(self.calls_by_host.values()) / max(1, len(self.calls_by_host))


def env(count_file: Path, forks: int) -> dict[str, str]:
    link = COLLECTIONS / "ansible_collections" / "pmem" / "optane"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    result = dict(os.environ)
    result.update(
        PATH=f"{VENV_BIN}{os.pathsep}{result.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_DIR),
        ANSIBLE_CALLBACKS_ENABLED="module_counter",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        ANSIBLE_DISPLAY_OK_HOSTS="False",
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="False",
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_NOCOLOR="1",
        PMEM_BENCH_COUNT_FILE=str(count_file),
    )
    return result


def run_playbook(inventory: Path, playbook: str, workdir: Path, forks: int, *extra: str) -> Run:
    count_file = workdir / f"count-{time.monotonic_ns()}.json"
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), playbook, *extra]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env(count_file, forks), capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT_S
    )
    seconds = time.perf_counter() - start
    cpu_seconds = _children_cpu() - cpu_before
    counts = json.loads(count_file.read_text()) if count_file.exists() else {}
    calls_by_host: dict[str, int] = {}
    calls_by_module: dict[str, int] = {}
    for host, modules in counts.get("calls", {}).items():
        for module, calls in modules.items():
            calls_by_host[host] = calls_by_host.get(host, 0) + calls
            calls_by_module[module] = calls_by_module.get(module, 0) + calls
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
    return Run(
        seconds, cpu_seconds, done.returncode, int(counts.get("changed", 0)), calls_by_host, calls_by_module
    )


def _children_cpu() -> float:
    """User + system CPU seconds of every waited-for child so far (the playbook and all it started)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_run(runs: list[Run]) -> Run:
    """The run with the median wall time (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda run: run.seconds)
    return ordered[(len(ordered) - 1) // 2]


def write_play(path: Path, name: str, tasks: list[dict[str, object]]) -> Path:
    """One play over all hosts with provision.yml's play keywords (no fact gathering, the tool env)."""
    play = [
        {
            "name": name,
            "hosts": "all",
            "gather_facts": False,
            "environment": "{{ pmem_environment | default({}) }}",
            "tasks": tasks,
        }
    ]
    path.write_text(json.dumps(play))
    return path


def ping_playbook(workdir: Path, repeat: int) -> Path:
    """The floor: `repeat` ping tasks per host."""
    tasks = [{"name": f"Ping {index + 1}", "ansible.builtin.ping": None} for index in range(max(1, repeat))]
    return write_play(workdir / f"ping-{repeat}.yml", "Ansible's floor", tasks)


def info_playbook(workdir: Path) -> Path:
    """The re-run's module call alone: the appdirect role's pmem_info call, as its defaults make it."""
    defaults = yaml.safe_load((ROOT / "roles" / "appdirect" / "defaults" / "main.yml").read_text())
    # As the role's gather task: appdirect_gather | union(['optane']).
    gather = list(dict.fromkeys([*defaults["appdirect_gather"], "optane"]))
    task = {
        "name": "Gather the PMem facts of the node",
        "pmem.optane.pmem_info": {"gather": gather},
        "register": "appdirect_pmem_info",
    }
    return write_play(workdir / "pmem-info.yml", "The roles' fact gathering alone", [task])


def bench(hosts: int, forks: int, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"bench-fleet-{hosts}-") as tmp:
        workdir = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "simfleet.py"),
                "--dir",
                str(workdir),
                "--hosts",
                str(hosts),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        inventory = workdir / "inventory.yml"
        first = run_playbook(inventory, "pmem.optane.provision", workdir, forks)
        reruns = [run_playbook(inventory, "pmem.optane.provision", workdir, forks)]
        per_host = max(1, round(reruns[0].calls_per_host()))
        floor_play = str(ping_playbook(workdir, per_host))
        info_play = str(info_playbook(workdir))
        floors = [run_playbook(inventory, floor_play, workdir, forks)]
        infos = [run_playbook(inventory, info_play, workdir, forks)]
        # Alternate, so that a slow minute of the machine hits all sides alike.
        for _ in range(repeat - 1):
            reruns.append(run_playbook(inventory, "pmem.optane.provision", workdir, forks))
            floors.append(run_playbook(inventory, floor_play, workdir, forks))
            infos.append(run_playbook(inventory, info_play, workdir, forks))
    return {
        "hosts": hosts,
        "first": first,
        "reruns": reruns,
        "floors": floors,
        "infos": infos,
        "ping_tasks": per_host,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", default="10,50,100", help="comma-separated fleet sizes (each 1-200)")
    parser.add_argument("--forks", type=int, default=10, help="ansible forks (1-50)")
    parser.add_argument("--repeat", type=int, default=3, help="re-runs and floors, alternately (1-9)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.hosts.split(",") if n.strip()]
    if not sizes or any(not 1 <= n <= 200 for n in sizes):
        parser.error("--hosts: sizes must be between 1 and 200")
    if not 1 <= args.forks <= 50:
        parser.error("--forks: must be between 1 and 50")
    if not 1 <= args.repeat <= 9:
        parser.error("--repeat: must be between 1 and 9")

    print(
        "pmem.optane fleet benchmark: provision.yml on simulated hosts, "
        f"forks={args.forks}, cpus={os.cpu_count()}, repeat={args.repeat} (medians)"
    )
    header = (
        f"{'hosts':>5} {'first s':>8} {'calls/h':>7} {'rerun s':>8} {'cpu s':>6} {'calls/h':>7} "
        f"{'changed':>7} {'floor s':>8} {'cpu s':>6} {'pings/h':>7} {'ratio':>6} {'cpu':>5}  goal"
    )
    print(header)
    for size in sizes:
        result = bench(size, args.forks, args.repeat)
        first, reruns, floors, infos = result["first"], result["reruns"], result["floors"], result["infos"]
        assert isinstance(first, Run) and all(isinstance(runs, list) for runs in (reruns, floors, infos))
        rerun, floor = median_run(reruns), median_run(floors)
        ratio = rerun.seconds / floor.seconds if floor.seconds else float("inf")
        rerun_cpu = statistics.median(run.cpu_seconds for run in reruns)
        floor_cpu = statistics.median(run.cpu_seconds for run in floors)
        cpu_ratio = rerun_cpu / floor_cpu if floor_cpu else float("inf")
        clean = first.rc == 0 and all(run.rc == 0 and run.changed == 0 for run in reruns)
        ok = clean and ratio <= GOAL_RATIO
        print(
            f"{size:>5} {first.seconds:>8.1f} {first.calls_per_host():>7.1f} {rerun.seconds:>8.1f} "
            f"{rerun_cpu:>6.1f} {rerun.calls_per_host():>7.1f} {max(run.changed for run in reruns):>7} "
            f"{floor.seconds:>8.1f} {floor_cpu:>6.1f} {result['ping_tasks']:>7} "
            f"{ratio:>6.2f} {cpu_ratio:>5.2f}  {'met' if ok else 'MISSED'} (<= {GOAL_RATIO} x floor)"
        )
        print(f"      re-runs s:         {', '.join(f'{run.seconds:.1f}' for run in reruns)}")
        print(f"      floors s:          {', '.join(f'{run.seconds:.1f}' for run in floors)}")
        info = median_run(infos)
        if floor.seconds and all(run.rc == 0 for run in infos):
            module_share = (info.seconds - floor.seconds) / floor.seconds
            decision_share = (rerun.seconds - info.seconds) / floor.seconds
            print(
                f"      pmem_info alone s: {', '.join(f'{run.seconds:.1f}' for run in infos)}; "
                f"of the re-run's {ratio - 1:+.2f} x floor, the module call {module_share:+.2f}, "
                f"the roles' decisions {decision_share:+.2f}"
            )
        print(f"      first run modules: {json.dumps(first.calls_by_module, sort_keys=True)}")
        print(f"      re-run modules:    {json.dumps(rerun.calls_by_module, sort_keys=True)}")
        if not clean:
            print(f"      playbook rc: first {first.rc}, re-runs {[run.rc for run in reruns]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
