"""Benchmark of the CSI driver (issue 5). Prints its figures; asserts nothing.

  idle RSS of a serving driver process           goal <= 40 MiB
  start to Probe-ready                            goal <= 1 s
  per-RPC overhead with an instant runner         goal <= 2 ms p50
  tool calls per RPC                              retry = 1 list; new = 1 list + 1 create + erase;
                                                  GetCapacity, ListVolumes = 1 list
  CreateVolume/DeleteVolume at concurrency 1/8/32 on the simulator: throughput, p50, p99

Run: .venv/bin/python bench/bench_driver.py [--rounds N]
Every loop is bounded; the simulator parts are skipped (and say so) when it is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "driver"))

from optane_csi import codegen  # noqa: E402

codegen.generate_stubs(ROOT / "driver" / "proto", ROOT / "driver")

import grpc  # noqa: E402
from optane_csi import logging as log  # noqa: E402
from optane_csi._gen import csi_pb2, csi_pb2_grpc  # noqa: E402
from optane_csi.config import Config  # noqa: E402
from optane_csi.runner import CommandResult, CountingRunner, SubprocessRunner  # noqa: E402
from optane_csi.server import create_server  # noqa: E402
from optane_csi.volumes import sizes  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20
MOUNT_CAP = csi_pb2.VolumeCapability(
    mount=csi_pb2.VolumeCapability.MountVolume(),
    access_mode=csi_pb2.VolumeCapability.AccessMode(
        mode=csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_WRITER
    ),
)


class InstantNdctl:
    """Answers the ndctl calls the driver makes at once, from an in-memory platform (no I/O)."""

    def __init__(self, dev_dir: Path, regions: int = 2, region_bytes: int = 256 * GIB) -> None:
        # The device node appears with the namespace, as udev makes it on a real host: the
        # driver waits (up to 2 s) for it before the erase, which is not driver overhead.
        self.dev_dir = dev_dir
        self.dev_dir.mkdir(parents=True, exist_ok=True)
        self.regions = [
            {"id": r, "size": region_bytes, "used": 0, "namespaces": {}, "next": 1} for r in range(regions)
        ]
        self.lock = threading.Lock()
        self.busy = 0.0  # seconds spent answering: the tool's share, not the driver's

    def _ns_json(self, region, ns_id, ns):
        return {
            "dev": f"namespace{region['id']}.{ns_id}",
            "mode": ns["mode"],
            "map": "dev",
            "size": ns["size"] - ns["size"] // 64,
            "uuid": f"00000000-0000-4000-8000-{ns_id:012d}",
            "sector_size": 512,
            "align": 2 * MIB,
            "blockdev": f"pmem{region['id']}.{ns_id}",
            "name": ns["name"],
        }

    def _list(self) -> str:
        regions = []
        for region in self.regions:
            free = region["size"] - region["used"]
            regions.append(
                {
                    "dev": f"region{region['id']}",
                    "size": region["size"],
                    "align": 16 * MIB,
                    "available_size": free,
                    "max_available_extent": free,
                    "type": "pmem",
                    "numa_node": region["id"],
                    "iset_id": 1000 + region["id"],
                    "persistence_domain": "memory_controller",
                    "namespaces": [
                        self._ns_json(region, i, ns) for i, ns in sorted(region["namespaces"].items())
                    ],
                }
            )
        return json.dumps({"dimms": [], "regions": regions})

    def run(self, argv, *, stdin=None):
        started = time.perf_counter()
        try:
            return self._answer(tuple(argv))
        finally:
            self.busy += time.perf_counter() - started

    def _answer(self, argv):
        with self.lock:
            verb = argv[1]
            if verb == "list":
                return CommandResult(argv, 0, self._list(), "")
            if verb == "create-namespace":
                args = dict(zip(argv[2::2], argv[3::2], strict=False))
                region = self.regions[int(args["-r"].removeprefix("region"))]
                size = sizes.parse_size(args["-s"])
                if region["used"] + size > region["size"]:
                    return CommandResult(argv, 1, "", "failed to create namespace: No space left on device\n")
                ns_id = region["next"]
                region["next"] += 1
                region["used"] += size
                region["namespaces"][ns_id] = {"mode": args["-m"], "size": size, "name": args.get("-n")}
                created = self._ns_json(region, ns_id, region["namespaces"][ns_id])
                (self.dev_dir / created["blockdev"]).touch()
                return CommandResult(argv, 0, json.dumps(created), "")
            if verb == "destroy-namespace":
                dev = argv[-1].removeprefix("namespace")
                region_id, ns_id = (int(x) for x in dev.split("."))
                region = self.regions[region_id]
                ns = region["namespaces"].pop(ns_id)
                (self.dev_dir / f"pmem{region_id}.{ns_id}").unlink(missing_ok=True)
                region["used"] -= ns["size"]
                return CommandResult(argv, 0, "", "destroyed 1 namespace\n")
        return CommandResult(argv, 1, "", f"unsupported: {argv}")


class CountingEraser:
    def __init__(self) -> None:
        self.count = 0

    def erase(self, device: str) -> None:
        self.count += 1


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def serve_in_process(tmp: Path, runner, eraser, name: str):
    config = Config(
        endpoint=f"unix://{tmp}/{name}.sock",
        node_id="bench-node",
        kubelet_dirs=(str(tmp / "kubelet"),),
        state_dir=str(tmp / f"state-{name}"),
        lock_path=str(tmp / "pmem.lock"),
        dev_dir=str(tmp / "dev"),
        workers=40,
    )
    server, address, driver = create_server(config, runner=runner, eraser=eraser)
    channel = grpc.insecure_channel(address)
    return server, channel, driver


def create_request(name: str, size: int = 64 * MIB):
    return csi_pb2.CreateVolumeRequest(
        name=name, capacity_range=csi_pb2.CapacityRange(required_bytes=size), volume_capabilities=[MOUNT_CAP]
    )


def bench_overhead(tmp: Path, rounds: int) -> None:
    # As in production: every RPC is logged at info level (to /dev/null here).
    log.setup("info", stream=open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    runner = CountingRunner(InstantNdctl(tmp / "dev"))
    eraser = CountingEraser()
    server, channel, _ = serve_in_process(tmp, runner, eraser, "instant")
    identity = csi_pb2_grpc.IdentityStub(channel)
    controller = csi_pb2_grpc.ControllerStub(channel)
    node = csi_pb2_grpc.NodeStub(channel)
    try:
        existing = controller.CreateVolume(create_request("bench-existing")).volume.volume_id
        calls = {
            "Probe": lambda: identity.Probe(csi_pb2.ProbeRequest()),
            "NodeGetInfo": lambda: node.NodeGetInfo(csi_pb2.NodeGetInfoRequest()),
            "GetCapacity": lambda: controller.GetCapacity(csi_pb2.GetCapacityRequest()),
            "ListVolumes": lambda: controller.ListVolumes(csi_pb2.ListVolumesRequest()),
            "ControllerGetVolume": lambda: controller.ControllerGetVolume(
                csi_pb2.ControllerGetVolumeRequest(volume_id=existing)
            ),
            "CreateVolume (retry)": lambda: controller.CreateVolume(create_request("bench-existing")),
        }
        print(f"per-RPC driver overhead with an instant runner ({rounds} calls each; goal p50 <= 2 ms)")

        # Overhead = round trip minus the time the instant runner itself spent building its
        # answers (JSON, device nodes): what the driver adds beyond its tool calls.
        tool = runner.inner

        def timed(call) -> tuple[float, float]:
            busy, started = tool.busy, time.perf_counter()
            call()
            total = (time.perf_counter() - started) * 1000
            return total, total - (tool.busy - busy) * 1000

        def report(label: str, samples: list[tuple[float, float]]) -> None:
            totals, overheads = [s[0] for s in samples], [s[1] for s in samples]
            print(
                f"  {label:24s} overhead p50 {statistics.median(overheads):6.3f} ms  "
                f"p99 {percentile(overheads, 99):6.3f} ms   "
                f"round trip p50 {statistics.median(totals):6.3f} ms",
            )

        for label, call in calls.items():
            report(label, [timed(call) for _ in range(rounds)])
        # New volumes are created and deleted in turn, so the inventory stays one volume large.
        creates, deletes = [], []
        created: list[str] = []
        create = controller.CreateVolume
        for i in range(rounds):
            request = create_request(f"bench-new-{i}")
            creates.append(timed(lambda r=request: created.append(create(r).volume.volume_id)))
            delete = csi_pb2.DeleteVolumeRequest(volume_id=created.pop())
            deletes.append(timed(lambda d=delete: controller.DeleteVolume(d)))
        report("CreateVolume (new)", creates)
        report("DeleteVolume", deletes)

        print("tool calls per RPC (counted)")

        def count(label, call) -> None:
            runner.reset()
            before = eraser.count
            call()
            verbs = [" ".join(argv[1:2]) for argv in runner.calls]
            summary = ", ".join(f"{verbs.count(v)} ndctl {v}" for v in dict.fromkeys(verbs)) or "none"
            print(f"  {label:24s} {summary}; erase {eraser.count - before}")

        count("CreateVolume (retry)", lambda: controller.CreateVolume(create_request("bench-existing")))
        count("CreateVolume (new)", lambda: controller.CreateVolume(create_request("bench-count")))
        count("GetCapacity", lambda: controller.GetCapacity(csi_pb2.GetCapacityRequest()))
        count("ListVolumes", lambda: controller.ListVolumes(csi_pb2.ListVolumesRequest()))
        delete_existing = csi_pb2.DeleteVolumeRequest(volume_id=existing)
        count("DeleteVolume", lambda: controller.DeleteVolume(delete_existing))
        count("Probe", lambda: identity.Probe(csi_pb2.ProbeRequest()))
    finally:
        channel.close()
        server.stop(None)


def simulator_env(tmp: Path) -> dict[str, str] | None:
    pmemsim = shutil.which("pmemsim", path=str(ROOT / ".venv" / "bin")) or shutil.which("pmemsim")
    ndctl = shutil.which("ndctl", path=str(ROOT / ".venv" / "bin"))
    if not pmemsim or not ndctl:
        return None
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["PMEMSIM_STATE"] = str(tmp / "sim.json")
    env["PMEM_OPTANE_LOCK"] = str(tmp / "pmem.lock")
    done = subprocess.run(
        [pmemsim, "init", "--preset", "qemu"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        print(f"  (pmemsim init failed: {done.stderr.strip()[:200]})")
        return None
    # The qemu preset's two 4 GiB regions are label-less until labels are written.
    for args in (("disable-region", "all"), ("init-labels", "all"), ("enable-region", "all")):
        subprocess.run([ndctl, *args], env=env, capture_output=True, text=True, check=True)
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process: a start-up figure that machine load does not inflate."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> tuple[int, int, int]:
    """VmRSS, RssAnon and RssFile in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0])
    return fields.get("VmRSS", 0), fields.get("RssAnon", 0), fields.get("RssFile", 0)


def bench_process(tmp: Path, env: dict[str, str]) -> None:
    sock = tmp / "proc.sock"
    argv = [
        sys.executable,
        "-m",
        "optane_csi",
        "--endpoint",
        f"unix://{sock}",
        "--node-id",
        "bench-node",
        "--kubelet-dir",
        str(tmp / "kubelet"),
        "--state-dir",
        str(tmp / "state-proc"),
        "--log-level",
        "warning",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    try:
        ready_after = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if sock.exists():
                try:
                    with grpc.insecure_channel(f"unix:{sock}") as channel:
                        reply = csi_pb2_grpc.IdentityStub(channel).Probe(csi_pb2.ProbeRequest(), timeout=2)
                    if reply.ready.value:
                        ready_after = time.perf_counter() - started
                        break
                except grpc.RpcError:
                    pass
            time.sleep(0.01)
        cpu = cpu_seconds(process.pid)
        print(
            "start to Probe-ready (goal <= 1 s): "
            + (f"{ready_after:.3f} s" if ready_after is not None else "not ready within 15 s")
            + f" (driver CPU time by then {cpu:.3f} s; load average {os.getloadavg()[0]:.1f})"
        )
        time.sleep(1.0)
        total, anon, file_backed = rss_kib(process.pid)
        print(
            f"idle RSS of a serving driver (goal <= 40 MiB): {total / 1024:.1f} MiB "
            f"(private {anon / 1024:.1f} MiB + shared library pages {file_backed / 1024:.1f} MiB)"
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class DeviceNodes:
    """Around the simulator's runner: makes the device node of each namespace ndctl creates,
    as udev does on a host (the simulator without loop devices makes none, and the driver
    would wait its 2 s for each before the erase)."""

    def __init__(self, inner, dev_dir: Path) -> None:
        self.inner, self.dev_dir = inner, dev_dir
        dev_dir.mkdir(parents=True, exist_ok=True)

    def run(self, argv, *, stdin=None):
        result = self.inner.run(argv, stdin=stdin)
        if result.rc == 0 and len(argv) > 1 and argv[1] == "create-namespace":
            blockdev = json.loads(result.stdout).get("blockdev")
            if blockdev:
                (self.dev_dir / blockdev).touch()
        return result


def bench_concurrency(tmp: Path, env: dict[str, str], per_level: int) -> None:
    os.environ.update({k: env[k] for k in ("PATH", "PMEMSIM_STATE", "PMEM_OPTANE_LOCK")})
    eraser = CountingEraser()  # simulator without loop devices: the erase is not timed here
    runner = DeviceNodes(SubprocessRunner(timeout=60), tmp / "dev")
    server, channel, _ = serve_in_process(tmp, runner, eraser, "sim")
    controller = csi_pb2_grpc.ControllerStub(channel)
    print(f"CreateVolume/DeleteVolume on the simulator ({per_level} volumes per level; erase excluded)")
    try:
        for level in (1, 8, 32):
            names = [f"conc-{level}-{i}" for i in range(per_level)]

            def one(name: str) -> tuple[float, float]:
                t0 = time.perf_counter()
                created = controller.CreateVolume(create_request(name, 32 * MIB), timeout=120)
                t1 = time.perf_counter()
                controller.DeleteVolume(
                    csi_pb2.DeleteVolumeRequest(volume_id=created.volume.volume_id), timeout=120
                )
                return (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000

            wall = time.perf_counter()
            with futures.ThreadPoolExecutor(max_workers=level) as pool:
                results = list(pool.map(one, names))
            wall = time.perf_counter() - wall
            creates = [r[0] for r in results]
            deletes = [r[1] for r in results]
            print(
                f"  concurrency {level:2d}: {per_level / wall:6.1f} create+delete/s   "
                f"create p50 {statistics.median(creates):7.1f} ms p99 {percentile(creates, 99):7.1f} ms   "
                f"delete p50 {statistics.median(deletes):7.1f} ms p99 {percentile(deletes, 99):7.1f} ms"
            )
    finally:
        channel.close()
        server.stop(None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="calls per RPC for the overhead figures")
    parser.add_argument("--per-level", type=int, default=32, help="volumes per concurrency level")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ocsi-bench-", dir="/tmp"))
    (tmp / "kubelet").mkdir()
    try:
        bench_overhead(tmp, max(10, min(args.rounds, 5000)))
        env = simulator_env(tmp)
        if env is None:
            print("simulator not installed: skipping RSS, start-up and concurrency figures")
            return 0
        bench_process(tmp, env)
        bench_concurrency(tmp, env, max(1, min(args.per_level, 256)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
