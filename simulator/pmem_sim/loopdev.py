"""Optional block devices for simulated namespaces: loop devices over sparse region files.

With ``pmemsim init --blockdev-dir DIR --backing-dir DIR2`` every region gets a
sparse file in DIR2 and every enabled namespace a loop device over its data
extent (namespace offset + metadata offset, size limit = usable size), linked as
``DIR/pmemX[.Y][s]`` or ``DIR/daxX.Y``. Data on the same extents survives
destroy and create, as it does on real persistent memory. Needs root and
``losetup``; without a block-device directory nothing here runs.
"""

from __future__ import annotations

import errno
import os

from . import model as m

# Annotations only: typing is not imported at run time (tool start-up time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def enabled(state: m.State) -> bool:
    return bool(state.get("blockdev"))


def backing_file(state: m.State, region: dict[str, Any]) -> str:
    path = os.path.join(state["blockdev"]["backing_dir"], region["backing"])
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.truncate(region["size"])
    return path


def link_name(region: dict[str, Any], ns: dict[str, Any]) -> str:
    if ns["mode"] == "devdax":
        return f"dax{region['id']}.{ns['id']}"
    name = f"pmem{region['id']}" if ns["id"] == 0 else f"pmem{region['id']}.{ns['id']}"
    return name + ("s" if ns["mode"] == "sector" else "")


def attach(state: m.State, region: dict[str, Any], ns: dict[str, Any]) -> None:
    if not enabled(state) or not ns["enabled"]:
        return
    detach(state, ns)
    size = m.usable_size(ns)
    if size <= 0:
        return
    offset = (ns["offset"] or 0) + m.data_offset(ns)
    path = backing_file(state, region)
    import subprocess

    try:
        result = subprocess.run(
            ["losetup", "--find", "--show", "--offset", str(offset), "--sizelimit", str(size), path],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        m.debug(f"losetup failed: {exc}")
        return
    if result.returncode != 0:
        m.debug(f"losetup failed: {result.stderr.strip()}")
        return
    device = result.stdout.strip()
    link = os.path.join(state["blockdev"]["dir"], link_name(region, ns))
    os.makedirs(state["blockdev"]["dir"], exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(device, link)
    ns["loop"] = {"device": device, "link": link, "offset": offset, "size": size}


def detach(state: m.State, ns: dict[str, Any]) -> None:
    loop = ns.get("loop")
    if not loop:
        return
    ns["loop"] = None
    link = loop.get("link")
    if link and os.path.islink(link):
        os.unlink(link)
    import subprocess

    try:
        subprocess.run(["losetup", "-d", loop["device"]], capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        m.debug(f"losetup -d failed: {exc}")


def busy_reason(ns: dict[str, Any]) -> str | None:
    """The block device cannot be opened exclusively (mounted, held open): why, or None."""
    loop = ns.get("loop")
    if not loop:
        return None
    try:
        fd = os.open(loop["device"], os.O_RDONLY | os.O_EXCL)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return "busy"
        return None
    os.close(fd)
    return None


def reattach_all(state: m.State) -> None:
    for region in state["regions"]:
        for ns in region["namespaces"]:
            detach(state, ns)
            if region["enabled"] and ns["enabled"]:
                attach(state, region, ns)


def teardown(state: m.State) -> int:
    count = 0
    for region in state["regions"]:
        for ns in region["namespaces"]:
            if ns.get("loop"):
                detach(state, ns)
                count += 1
    return count
