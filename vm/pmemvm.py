#!/usr/bin/env python3
"""Boot, reach and stop the pmem.optane QEMU test guest.

The guest has two emulated NVDIMMs (one per NUMA node, with a label area), boots its
kernel directly (PVH, no bootloader) and is reachable only by SSH on 127.0.0.1 through
QEMU's user-mode network.

Commands:
  image                 build the guest image if the cache lacks it; print its directory
  start NAME [options]  boot instance NAME (run files in vm/run/NAME), wait for SSH, print JSON
  stop NAME [--remove]  stop instance NAME (only our own QEMU, found by its pidfile)
  reboot NAME           reboot the guest through systemd and boot it again (a power cycle)
  ssh NAME -- CMD...    run a command in the guest as root
  kvm-probe             say whether KVM really boots the guest kernel here (else TCG)
  qemu-check            say whether QEMU itself can start (used to decide a loud skip)

Environment: PMEM_VM_RUN (default vm/run), PMEM_VM_ACCEL (auto|tcg|kvm, default auto),
PMEM_VM_CACHE (see build-image.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN_ROOT = Path(os.environ.get("PMEM_VM_RUN", HERE / "run"))
QEMU = "qemu-system-x86_64"
MIB = 1024 * 1024

# Region alignment of libnvdimm: both the region size (backend size minus label area) and
# each DIMM's guest-physical start must be multiples of 16 MiB, or fsdax/devdax creation
# fails ("misaligned to 16M"). Hence explicit addr= values on GiB boundaries.
REGION_ALIGN = 16 * MIB
NVDIMM_BASE_ADDR = 0x100000000
NVDIMM_STRIDE = 0x100000000
BANNER_TIMEOUT = 180.0
BOOT_MASKED_UNITS = (
    "lvm2-monitor.service",
    "blk-availability.service",
    "modprobe@drm.service",
    "getty@tty1.service",
    "systemd-update-utmp-runlevel.service",
)
KVM_PROBE_MARKERS = ("Kernel panic", "VFS: Cannot open root device", "Freeing unused kernel")


class VmError(RuntimeError):
    """A guest could not be built, started, reached or stopped."""


@dataclass(frozen=True)
class GuestSpec:
    name: str
    ssh_port: int
    memory_mib: int = 2048
    cpus: int = 2
    nvdimm_count: int = 2
    nvdimm_mib: int = 2048
    label_mib: int = 2

    def validate(self) -> None:
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise VmError(f"name: '{self.name}' must be letters, digits, '-', '_' or '.'")
        if self.nvdimm_mib * MIB % REGION_ALIGN:
            raise VmError(f"nvdimm_mib: {self.nvdimm_mib} must be a multiple of 16 (region alignment)")
        if self.nvdimm_mib * MIB + self.label_mib * MIB > NVDIMM_STRIDE:
            raise VmError("nvdimm_mib: one NVDIMM plus its label area must fit in 4 GiB")
        if self.label_mib < 1:
            raise VmError("label_mib: the label area must be at least 1 MiB (QEMU minimum is 128 KiB)")
        if self.memory_mib % self.nvdimm_count or self.memory_mib < 512:
            raise VmError("memory_mib: must be at least 512 and split evenly over the NUMA nodes")
        if not 1024 <= self.ssh_port <= 65535:
            raise VmError(f"ssh_port: {self.ssh_port} must be between 1024 and 65535")


@dataclass(frozen=True)
class Instance:
    name: str
    address: str
    port: int
    user: str
    identity_file: str
    ssh_config: str
    run_dir: str
    accel: str
    boot_seconds: float


def image_dir(build: bool = True) -> Path:
    """Return the guest image directory, building the image first when asked."""
    args = [str(HERE / "build-image.sh")] + ([] if build else ["--print-dir"])
    proc = subprocess.run(args, stdout=subprocess.PIPE, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise VmError(f"vm/build-image.sh failed with rc {proc.returncode}")
    return Path(proc.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qemu_available() -> tuple[bool, str]:
    """Can QEMU start a q35 machine with NVDIMM support under TCG at all?"""
    if shutil.which(QEMU) is None:
        return False, f"{QEMU} is not installed (Debian package qemu-system-x86)"
    argv = [QEMU, "-machine", "q35,nvdimm=on", "-accel", "tcg", "-nodefaults", "-display", "none"]
    argv += ["-S", "-monitor", "stdio", "-serial", "none"]
    try:
        proc = subprocess.run(argv, input="quit\n", capture_output=True, text=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return False, f"{QEMU} did not answer 'quit' on its monitor within 30 s"
    if proc.returncode != 0:
        return False, f"{QEMU} exited with rc {proc.returncode}: {proc.stderr.strip()[-400:]}"
    return True, "QEMU starts (TCG, q35, nvdimm=on)"


def kvm_probe(image: Path, timeout: float = 8.0) -> tuple[bool, str]:
    """Boot the guest kernel under KVM without a root disk and watch it get to userspace.

    A working KVM reaches the root-mount panic in about a second. On nested setups where
    /dev/kvm exists but the kernel runs through the instruction emulator, it takes minutes
    or dies with "emulation failure", so a short deadline decides.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is missing or not accessible"
    log = RUN_ROOT / f".kvm-probe-{os.getpid()}.log"
    RUN_ROOT.mkdir(parents=True, exist_ok=True)
    argv = [QEMU, "-accel", "kvm", "-cpu", "host", "-m", "512", "-smp", "1", "-nodefaults"]
    argv += ["-display", "none", "-no-reboot", "-serial", f"file:{log}", "-kernel", str(image / "vmlinux")]
    argv += ["-append", "console=ttyS0 panic=-1 root=/dev/nonexistent rootwait=0"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while time.monotonic() - started < timeout:
            text = log.read_text(errors="replace") if log.exists() else ""
            if any(marker in text for marker in KVM_PROBE_MARKERS):
                return True, f"KVM booted the guest kernel in {time.monotonic() - started:.1f} s"
            if proc.poll() is not None:
                err = (proc.stderr.read() if proc.stderr else "").strip()
                return False, f"QEMU with KVM exited early (rc {proc.returncode}): {err[-300:]}"
            time.sleep(0.2)
        return False, f"KVM did not boot the guest kernel within {timeout:.0f} s (TCG is faster here)"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        log.unlink(missing_ok=True)


def choose_accel(image: Path, wanted: str) -> tuple[str, str]:
    if wanted not in ("auto", "tcg", "kvm"):
        raise VmError(f"accel: '{wanted}' must be auto, tcg or kvm")
    if wanted == "tcg":
        return "tcg", "TCG requested"
    ok, why = kvm_probe(image)
    if ok:
        return "kvm", why
    if wanted == "kvm":
        raise VmError(f"accel: kvm was requested but does not work here: {why}")
    return "tcg", f"falling back to TCG: {why}"


def qemu_argv(spec: GuestSpec, image: Path, run_dir: Path, accel: str) -> list[str]:
    node_mib = spec.memory_mib // spec.nvdimm_count
    max_mib = spec.memory_mib + spec.nvdimm_count * (spec.nvdimm_mib + spec.label_mib) + 4096
    argv = [QEMU, "-name", spec.name, "-machine", "q35,nvdimm=on"]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        argv += ["-accel", "tcg", "-cpu", "max"]
    argv += ["-smp", str(spec.cpus), "-m", f"{spec.memory_mib}M,slots=4,maxmem={max_mib}M"]
    for node in range(spec.nvdimm_count):
        cpus = node % spec.cpus
        argv += ["-object", f"memory-backend-ram,id=ram{node},size={node_mib}M"]
        argv += ["-numa", f"node,nodeid={node},cpus={cpus},memdev=ram{node}"]
    for dimm in range(spec.nvdimm_count):
        backing = run_dir / f"nvdimm{dimm}.img"
        size = spec.nvdimm_mib + spec.label_mib
        addr = NVDIMM_BASE_ADDR + dimm * NVDIMM_STRIDE
        argv += ["-object", f"memory-backend-file,id=nvmem{dimm},share=on,mem-path={backing},size={size}M"]
        device = f"nvdimm,id=nvdimm{dimm},memdev=nvmem{dimm},label-size={spec.label_mib}M"
        argv += ["-device", f"{device},node={dimm},addr={addr:#x}"]
    argv += ["-kernel", str(image / "vmlinux"), "-initrd", str(image / "initrd.img")]
    # Kernel warnings and systemd's unit status go to console.log: the only witness when a
    # boot never reaches sshd.
    # Units a PMem test guest never needs are masked here rather than in the image.
    masks = " ".join(f"systemd.mask={unit}" for unit in BOOT_MASKED_UNITS)
    # tsc=reliable: on a busy host the TCG vCPUs' TSCs fail the kernel's sync check and it
    # falls back to the emulated HPET, which makes every clock read a slow device access.
    append = (
        f"root=/dev/vda rw console=ttyS0 loglevel=4 systemd.show_status=1 net.ifnames=0 tsc=reliable {masks}"
    )
    argv += ["-append", os.environ.get("PMEM_VM_APPEND", append)]
    argv += ["-drive", f"file={run_dir / 'disk.qcow2'},if=virtio,format=qcow2,cache=unsafe"]
    # Only 127.0.0.1 reaches the guest's sshd; nothing else is forwarded.
    argv += ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{spec.ssh_port}-:22"]
    argv += ["-device", "virtio-net-pci,netdev=n0"]
    # sshd and Python block in getrandom() until the guest's CRNG is seeded; without a
    # host entropy source that takes minutes on a busy TCG host.
    argv += ["-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0"]
    # A guest reboot ends QEMU instead of resetting the machine: `reboot` then boots it cold
    # (a power cycle). Under TCG a warm reset left the second vCPU in soft lockups here.
    argv += ["-no-reboot"]
    argv += ["-display", "none", "-vga", "none", "-serial", f"file:{run_dir / 'console.log'}"]
    argv += ["-monitor", f"unix:{run_dir / 'monitor.sock'},server,nowait"]
    argv += ["-pidfile", str(run_dir / "qemu.pid"), "-daemonize"]
    return argv


def ssh_base(instance: Instance) -> list[str]:
    return ["ssh", "-F", instance.ssh_config, instance.name]


def write_ssh_config(spec: GuestSpec, run_dir: Path, identity: Path) -> Path:
    path = run_dir / "ssh_config"
    path.write_text(
        f"Host {spec.name}\n"
        "  HostName 127.0.0.1\n"
        f"  Port {spec.ssh_port}\n"
        "  User root\n"
        f"  IdentityFile {identity}\n"
        "  IdentitiesOnly yes\n"
        "  StrictHostKeyChecking no\n"
        "  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n"
        # Covers the banner exchange, which is slow on a busy TCG host.
        "  ConnectTimeout 180\n"
        "  BatchMode yes\n"
    )
    return path


def read_pid(run_dir: Path) -> int | None:
    """The pid from our pidfile, if that process is alive and is our QEMU."""
    try:
        pid = int((run_dir / "qemu.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if not cmdline or not cmdline[0].endswith(QEMU.encode()):
        return None
    if str(run_dir / "qemu.pid").encode() not in cmdline:
        return None
    return pid


def running_port(name: str) -> int | None:
    """The SSH port of instance `name` if its QEMU runs (so `start` can reuse it)."""
    run_dir = RUN_ROOT / name
    try:
        state = json.loads((run_dir / "instance.json").read_text())
    except (OSError, ValueError):
        return None
    return int(state["port"]) if read_pid(run_dir) is not None else None


def console_tail(run_dir: Path, lines: int = 25) -> str:
    try:
        text = (run_dir / "console.log").read_text(errors="replace")
    except OSError:
        return "(no console log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_for_banner(port: int, run_dir: Path, deadline: float) -> None:
    """Slirp accepts TCP at once; only sshd's banner proves the guest is up.

    Until sshd listens, the guest resets the forwarded connection and recv() returns at
    once. Once it listens, its banner can take many seconds on a busy TCG host: wait for
    it rather than hang up and retry (each abandoned connection costs the guest a fork).
    """
    while time.monotonic() < deadline:
        if read_pid(run_dir) is None:
            raise VmError(f"QEMU exited while booting; console tail:\n{console_tail(run_dir)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.settimeout(max(1.0, min(BANNER_TIMEOUT, deadline - time.monotonic())))
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(1.0)
    raise VmError(f"no SSH banner on 127.0.0.1:{port} in time; console tail:\n{console_tail(run_dir)}")


def wait_for_login(instance: Instance, deadline: float) -> None:
    last = ""
    while time.monotonic() < deadline:
        try:
            proc = subprocess.run(
                [*ssh_base(instance), "true"], capture_output=True, text=True, timeout=300, check=False
            )
        except subprocess.TimeoutExpired:
            last = "ssh timed out"
            continue
        if proc.returncode == 0:
            return
        last = proc.stderr.strip()
        time.sleep(1)
    raise VmError(f"SSH login to {instance.name} failed: {last}")


def start(
    spec: GuestSpec, accel_wanted: str = "auto", timeout: float = 300.0, fresh: bool = False
) -> Instance:
    """Boot the guest (or re-use the running one) and return how to reach it.

    Disk overlay and NVDIMM files are kept between start/stop so labels, namespaces and
    data survive a restart, as on real PMem; `fresh` (or stop --remove) starts from zero.
    """
    spec.validate()
    image = image_dir(build=True)
    run_dir = RUN_ROOT / spec.name
    if fresh and run_dir.exists():
        stop(spec.name, remove=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    identity = run_dir / "id_ed25519"
    shutil.copyfile(image / "id_ed25519", identity)
    identity.chmod(0o600)
    ssh_config = write_ssh_config(spec, run_dir, identity)
    state_file = run_dir / "instance.json"

    if read_pid(run_dir) is not None and state_file.exists():
        instance = Instance(**json.loads(state_file.read_text()))
        if instance.port == spec.ssh_port:
            wait_for_login(instance, time.monotonic() + 60)
            return instance
        raise VmError(f"{spec.name} already runs on port {instance.port}; stop it first")

    disk = run_dir / "disk.qcow2"
    if not disk.exists():
        subprocess.run(
            [
                "qemu-img",
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "raw",
                "-b",
                str(image / "rootfs.raw"),
                str(disk),
            ],
            check=True,
            timeout=60,
        )
    for dimm in range(spec.nvdimm_count):
        backing = run_dir / f"nvdimm{dimm}.img"
        size = (spec.nvdimm_mib + spec.label_mib) * MIB
        if not backing.exists() or backing.stat().st_size != size:
            # Sparse and zero-filled: the guest first sees label-less regions.
            with open(backing, "wb") as handle:
                handle.truncate(size)

    accel, accel_reason = choose_accel(image, accel_wanted)
    (run_dir / "console.log").unlink(missing_ok=True)
    argv = qemu_argv(spec, image, run_dir, accel)
    (run_dir / "qemu.argv").write_text(" ".join(argv) + "\n")
    (run_dir / "qemu.argv.json").write_text(json.dumps(argv) + "\n")
    started = time.monotonic()
    launch(argv)
    instance = Instance(
        name=spec.name,
        address="127.0.0.1",
        port=spec.ssh_port,
        user="root",
        identity_file=str(identity),
        ssh_config=str(ssh_config),
        run_dir=str(run_dir),
        accel=accel,
        boot_seconds=0.0,
    )
    deadline = started + timeout
    try:
        wait_for_banner(spec.ssh_port, run_dir, deadline)
        wait_for_login(instance, deadline)
    except VmError:
        stop(spec.name)
        raise
    instance = Instance(**{**asdict(instance), "boot_seconds": round(time.monotonic() - started, 1)})
    state_file.write_text(json.dumps(asdict(instance), indent=2) + "\n")
    print(f"{spec.name}: {accel_reason}; SSH ready in {instance.boot_seconds} s", file=sys.stderr)
    return instance


def launch(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise VmError(f"QEMU failed to start (rc {proc.returncode}): {proc.stderr.strip()}")


def reboot(name: str, timeout: float = 900.0) -> Instance:
    """Reboot the guest through systemd, then boot it cold with the same disk and NVDIMMs.

    QEMU runs with -no-reboot, so the guest's reboot (a clean shutdown: services stopped,
    filesystems unmounted) ends the QEMU process; this then starts the same command line
    again. For persistent memory that is the interesting case anyway: only what reached
    the NVDIMM backing files survives.
    """
    run_dir = RUN_ROOT / name
    state_file = run_dir / "instance.json"
    if read_pid(run_dir) is None or not state_file.exists():
        raise VmError(f"{name}: not running, nothing to reboot")
    instance = Instance(**json.loads(state_file.read_text()))
    argv = json.loads((run_dir / "qemu.argv.json").read_text())
    deadline = time.monotonic() + timeout
    # The connection may drop before ssh reports back: its exit status tells nothing.
    subprocess.run(
        [*ssh_base(instance), "systemctl", "reboot"], capture_output=True, timeout=120, check=False
    )
    while read_pid(run_dir) is not None:
        if time.monotonic() > deadline:
            raise VmError(f"{name} did not shut down in time; console tail:\n{console_tail(run_dir)}")
        time.sleep(0.5)
    console = run_dir / "console.log"
    if console.exists():
        console.replace(run_dir / "console.before-reboot.log")
    started = time.monotonic()
    launch(argv)
    wait_for_banner(instance.port, run_dir, deadline)
    wait_for_login(instance, deadline)
    instance = Instance(**{**asdict(instance), "boot_seconds": round(time.monotonic() - started, 1)})
    state_file.write_text(json.dumps(asdict(instance), indent=2) + "\n")
    print(f"{name}: rebooted; SSH ready in {instance.boot_seconds} s", file=sys.stderr)
    return instance


def stop(name: str, remove: bool = False, grace: float = 15.0) -> bool:
    """Stop our QEMU for `name`; return whether one was running."""
    run_dir = RUN_ROOT / name
    pid = read_pid(run_dir)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while read_pid(run_dir) == pid and time.monotonic() < deadline:
            time.sleep(0.2)
        if read_pid(run_dir) == pid:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
    (run_dir / "instance.json").unlink(missing_ok=True)
    if remove and run_dir.exists():
        shutil.rmtree(run_dir)
    return pid is not None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("image")
    start_p = sub.add_parser("start")
    start_p.add_argument("name")
    start_p.add_argument("--port", type=int, default=0, help="SSH port on 127.0.0.1 (default: a free one)")
    start_p.add_argument("--accel", default=os.environ.get("PMEM_VM_ACCEL", "auto"))
    start_p.add_argument("--memory-mib", type=int, default=2048)
    start_p.add_argument("--nvdimm-mib", type=int, default=2048, help="region size per NVDIMM")
    start_p.add_argument("--label-mib", type=int, default=2)
    start_p.add_argument("--timeout", type=float, default=300.0)
    start_p.add_argument("--fresh", action="store_true", help="discard disk and NVDIMM contents first")
    stop_p = sub.add_parser("stop")
    stop_p.add_argument("name")
    stop_p.add_argument("--remove", action="store_true", help="also delete disk and NVDIMM files")
    reboot_p = sub.add_parser("reboot")
    reboot_p.add_argument("name")
    reboot_p.add_argument("--timeout", type=float, default=900.0)
    ssh_p = sub.add_parser("ssh")
    ssh_p.add_argument("name")
    ssh_p.add_argument("cmd", nargs=argparse.REMAINDER)
    sub.add_parser("kvm-probe")
    sub.add_parser("qemu-check")
    args = parser.parse_args(argv)

    try:
        if args.command == "image":
            print(image_dir(build=True))
        elif args.command == "start":
            spec = GuestSpec(
                name=args.name,
                ssh_port=args.port or running_port(args.name) or free_port(),
                memory_mib=args.memory_mib,
                nvdimm_mib=args.nvdimm_mib,
                label_mib=args.label_mib,
            )
            print(json.dumps(asdict(start(spec, args.accel, args.timeout, args.fresh))))
        elif args.command == "stop":
            was_running = stop(args.name, remove=args.remove)
            print(json.dumps({"name": args.name, "was_running": was_running}))
        elif args.command == "reboot":
            print(json.dumps(asdict(reboot(args.name, args.timeout))))
        elif args.command == "ssh":
            config = RUN_ROOT / args.name / "ssh_config"
            if not config.exists():
                raise VmError(f"name: no instance '{args.name}' under {RUN_ROOT}")
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            return subprocess.call(["ssh", "-F", str(config), args.name, *cmd])
        elif args.command == "kvm-probe":
            ok, why = kvm_probe(image_dir(build=True))
            print(json.dumps({"kvm": ok, "reason": why}))
        elif args.command == "qemu-check":
            ok, why = qemu_available()
            print(json.dumps({"qemu": ok, "reason": why}))
            return 0 if ok else 1
    except (VmError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        print(f"pmemvm: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
