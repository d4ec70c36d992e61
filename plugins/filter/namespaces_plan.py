# Copyright: contributors to pmem.optane
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespaces role's decision, on the controller, from a layout and one pmem_info result.

Jinja did this before; in Python it costs a fraction per host, which a fleet re-run of a
compliant rack pays once per node. The documentation is namespaces_plan.yml next to this file.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.formatters import human_to_bytes
from ansible_collections.pmem.optane.plugins.module_utils import sizes

NAME_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
PERCENT_RE = re.compile(r"^[0-9]{1,3}%$")
SIZE_RE = re.compile(r"^[0-9]+(\.[0-9]+)? *([KMGTP](i?B)?)?$", re.IGNORECASE)
BYTE_SUFFIX_RE = re.compile(r"i?b$", re.IGNORECASE)
DRIVER_PREFIX = "csi-"  # the CSI driver's namespaces: never declared, purged or touched here


def _given(entry, key):
    return entry.get(key) is not None


def _bytes(text):
    return human_to_bytes(BYTE_SUFFIX_RE.sub("", str(text)).replace(" ", ""))


def layout_errors(layout):
    """Each error names the entry, the field and the rule."""
    errors, seen = [], []
    for index, entry in enumerate(layout):
        label = "namespaces_layout[%d]" % index
        name = str(entry.get("name", ""))
        if not name:
            errors.append(label + ".name: required, a non-empty string")
        if name.startswith(DRIVER_PREFIX):
            errors.append(
                "%s.name: %s starts with csi-, the prefix reserved for the CSI driver" % (label, name)
            )
        if len(name) > 63:
            errors.append(label + ".name: at most 63 characters")
        if name not in ("", "None") and not NAME_RE.match(name):
            errors.append("%s.name: %s may only hold letters, digits and _ . : -" % (label, name))
        if name in seen:
            errors.append("%s.name: %s is declared twice" % (label, name))
        seen.append(name)
        if _given(entry, "region") and _given(entry, "numa_node"):
            errors.append(label + ": region and numa_node are mutually exclusive")
        size = str(entry.get("size", "remaining"))
        if not (size == "remaining" or PERCENT_RE.match(size) or SIZE_RE.match(size)):
            errors.append(
                "%s.size: %s is not a size with units (16G, 512MiB), a percentage (50%%) or remaining"
                % (label, size)
            )
        if PERCENT_RE.match(size) and not 1 <= int(size[:-1]) <= 100:
            errors.append("%s.size: %s must be a whole percentage from 1 to 100" % (label, size))
        if _given(entry, "filesystem") and entry.get("mode", "fsdax") != "fsdax":
            errors.append("%s.filesystem: needs mode fsdax (DAX mounts), not %s" % (label, entry.get("mode")))
        if _given(entry, "mount_path") and not _given(entry, "filesystem"):
            errors.append(label + ".mount_path: needs a filesystem (ext4 or xfs)")
    return errors


def _expected_size(entry, region, size, mode, want_align):
    """The usable size ndctl gives for the declared size, by the library's own rules."""
    if size.endswith("%"):
        region_align = region.get("align") or sizes.REGION_ALIGN_BYTES
        granule = sizes.size_granule(mode, region_align, region.get("interleave_ways") or 1, want_align)
        raw = int((region.get("size") or 0) * int(size[:-1]) / 100.0) // granule * granule
    else:
        raw = _bytes(size)
    return sizes.usable_size(mode, raw, want_align, entry.get("map"))


def _differs(entry, ns, regions):
    mode = entry.get("mode", "fsdax")
    dax = mode in ("fsdax", "devdax")
    region = next((r for r in regions if r.get("dev") == ns.get("region")), {})
    want_align = _bytes(entry["align"]) if _given(entry, "align") else None
    if (
        ns.get("mode") != mode
        or (dax and want_align is not None and ns.get("align") != want_align)
        or (dax and _given(entry, "map") and (ns.get("map") or "dev") != entry["map"])
        or (_given(entry, "sector_size") and ns.get("sector_size") != entry["sector_size"])
        or (_given(entry, "region") and ns.get("region") != entry["region"])
        or (_given(entry, "numa_node") and region.get("numa_node") != entry["numa_node"])
    ):
        return True
    size = str(entry.get("size", "remaining"))
    if size == "remaining":
        return False  # satisfied once the namespace exists
    if mode == "sector":
        return True  # BTT layout sizes are left to the module
    return ns.get("size") != _expected_size(entry, region, size, mode, want_align)


def mount_options(entry, mount_dax=True):
    """The fstab options a declared filesystem is mounted with: the entry's own, dax=always last."""
    given = str(entry.get("mount_options") if _given(entry, "mount_options") else "dax=always").split(",")
    options = [option for option in given if option != "dax=always"] + (["dax=always"] if mount_dax else [])
    return ",".join(dict.fromkeys(options)) or "defaults"  # each option once, in order


def _filesystem_done(entry, ns, facts, options, fstab_path, device_dir):
    """Mounted at mount_path with that type, and in the fstab there with exactly ``options``.

    A mounted filesystem of that type also means mkfs was done. Facts read for another fstab
    or device directory, or an entry without mount_path, say nothing: the tasks decide.
    """
    path, fstype = entry.get("mount_path"), entry.get("filesystem")
    return (
        path is not None
        and facts.get("fstab_path", "") == fstab_path
        and facts.get("dev_dir", "") == device_dir
        and isinstance(ns.get("blockdev"), str)
        and any(m.get("path") == path and m.get("fstype") == fstype for m in ns.get("mounted") or [])
        and any(
            f.get("path") == path and f.get("fstype") == fstype and f.get("options") == options
            for f in ns.get("fstab") or []
        )
    )


def _facts_cannot_decide(facts, with_fs, filesystems, fstab_path, device_dir):
    """Facts without ndctl's part, or read for another fstab or device directory than the
    declared filesystems are managed in, cannot decide: the role reads its own."""
    if not facts or "ndctl" not in (facts.get("gathered") or ["ndctl"]):
        return True
    return bool(
        filesystems
        and with_fs
        and (
            facts.get("fstab_path", fstab_path) != fstab_path
            or facts.get("dev_dir", device_dir) != device_dir
        )
    )


def namespaces_plan(
    layout,
    facts,
    state=None,
    purge_undeclared=False,
    device_dir="/dev",
    filesystems=False,
    fstab_path="/etc/fstab",
    mount_dax=True,
):
    """{gather, errors, todo, purge, devices, filesystems, fs_pending, mount_options, work} of one host."""
    if not isinstance(layout, list) or not all(isinstance(entry, dict) for entry in layout):
        raise AnsibleFilterError("namespaces_plan: the layout must be a list of dicts")
    facts = facts or {}
    existing = [ns for ns in facts.get("namespaces") or [] if (ns.get("size") or 0) > 0]
    regions = facts.get("regions") or []
    errors = layout_errors(layout)
    # Every entry with its effective state (the state argument overrides), and the existing
    # namespaces of its name: both the namespace and the filesystem checks read them.
    effective = [dict(entry, state=state or entry.get("state") or "present") for entry in layout]
    matches = [[ns for ns in existing if ns.get("name") == entry.get("name")] for entry in effective]
    todo = []
    for index, (entry, found) in enumerate([] if errors else zip(effective, matches, strict=True)):
        if entry["state"] == "absent":
            if found:
                todo.append(entry)
            continue
        try:
            if len(found) != 1 or _differs(entry, found[0], regions):
                todo.append(entry)
        except ValueError as exc:  # an align that is not a size
            raise AnsibleFilterError("namespaces_layout[%d]: %s" % (index, exc)) from exc
    declared = [entry.get("name") for entry in layout if entry.get("name") is not None]
    undeclared = [
        ns
        for ns in existing
        if isinstance(ns.get("name"), str)
        and ns["name"] not in declared
        and not ns["name"].startswith(DRIVER_PREFIX)
    ]
    devices = {
        ns["name"]: device_dir + "/" + ns["blockdev"]
        for ns in existing
        if isinstance(ns.get("name"), str) and isinstance(ns.get("blockdev"), str)
    }
    # Declared present entries with a filesystem, and which of them are not yet as declared.
    fs_entries = [
        (entry, found)
        for entry, found in zip(effective, matches, strict=True)
        if entry["state"] == "present" and _given(entry, "filesystem")
    ]
    with_fs = [entry for entry, _found in fs_entries]
    options = {entry.get("name"): mount_options(entry, mount_dax) for entry in with_fs}
    fs_pending = []
    for entry, found in fs_entries:
        ns = found[0] if len(found) == 1 else {}
        if not _filesystem_done(entry, ns, facts, options[entry.get("name")], fstab_path, device_dir):
            fs_pending.append(entry.get("name"))
    purge = undeclared if purge_undeclared else []
    return {
        "gather": _facts_cannot_decide(facts, with_fs, filesystems, fstab_path, device_dir),
        "errors": errors,
        "todo": todo,
        "purge": purge,
        "devices": devices,
        "filesystems": with_fs,
        "fs_pending": fs_pending,
        "mount_options": options,
        "work": bool(errors or todo or purge or (filesystems and fs_pending)),
    }


class FilterModule(object):
    def filters(self):
        return {"namespaces_plan": namespaces_plan}
