#!/usr/bin/python
# Copyright: pmem.optane contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pmem_info
short_description: Facts about persistent memory (Optane modules, goals, regions, namespaces, dax devices)
version_added: 0.1.0
description:
  - Reads the persistent memory layout of the host in one call and returns it as facts.
  - Uses C(ipmctl) for Intel Optane PMem modules, memory resources and memory allocation goals, C(ndctl)
    for NVDIMMs, regions and namespaces, and C(daxctl) for dax devices.
  - Works on hosts without C(ipmctl) and where C(ipmctl) reports no PMem modules (NVDIMM-N, CXL, virtual
    machines). It then returns what C(ndctl) and C(daxctl) know and says why the Optane facts are missing
    in RV(platform.reason).
  - Namespaces list the mount points that use their block device, read from the mount table,
    with each mount's type and options, and the entries of O(fstab_path) for that device.
  - Never changes the host.
author:
  - pmem.optane maintainers (@pmem-optane)
extends_documentation_fragment:
  - pmem.optane.attributes.info_module
  - pmem.optane.common.ndctl
  - pmem.optane.common.ipmctl
  - pmem.optane.common.daxctl
options:
  gather:
    description:
      - Which facts to read. Every part costs tool calls on each host, so a play that needs only some
        of them can leave the rest out.
      - V(optane) reads the Optane modules, memory allocation goals and App Direct regions
        (three C(ipmctl) calls);
        V(memory_resources) adds ipmctl's capacity table (one more C(ipmctl) call; the per-module
        RV(dimms[].memory_capacity) and RV(dimms[].app_direct_capacity) carry the same figures);
        V(ndctl) reads regions and namespaces with their mounts and fstab entries (one C(ndctl) call);
        V(daxctl) reads dax devices (one C(daxctl) call). V(all) is every part.
      - A part not gathered leaves its return values empty and its RV(platform) flags false; RV(gathered)
        names what was read.
    type: list
    elements: str
    choices: [all, optane, memory_resources, ndctl, daxctl]
    default: [all]
  ipmctl_attributes:
    description:
      - Also return every attribute ipmctl printed for each module, goal and region, by ipmctl's
        own names, as C(attributes) of each entry of RV(dimms), RV(goals) and RV(ipmctl_regions)
        (serial and part numbers, sparing, power limits and the like).
      - Off by default. They are most of the result on an Optane host (about 1.4 KB per module), and
        Ansible ships, parses and stores every byte of a result on each run and each host.
    type: bool
    default: false
    version_added: 0.1.0
  mounts_path:
    description:
      - Mount table to read to find namespaces that are mounted.
      - V(/proc/self/mounts) is used, falling back to V(/proc/mounts), when not set.
    type: path
  fstab_path:
    description:
      - The fstab whose entries for each namespace's block device are reported in RV(namespaces[].fstab).
    type: path
    default: /etc/fstab
  dev_dir:
    description:
      - Directory in which the kernel creates the block and character devices of namespaces.
      - Only needs changing for test hosts whose devices appear elsewhere, such as the pmem.optane simulator.
    type: path
    default: /dev
notes:
  - Run as root. C(ipmctl) refuses to run as an unprivileged user.
seealso:
  - module: pmem.optane.pmem_goal
  - module: pmem.optane.pmem_namespace
  - module: pmem.optane.pmem_dax
"""

EXAMPLES = r"""
- name: Read the persistent memory layout
  pmem.optane.pmem_info:
  register: pmem

- name: Read only what a goal decision needs (modules, goals, regions; no capacity table, no daxctl)
  pmem.optane.pmem_info:
    gather: [optane, ndctl]
  register: pmem_goal_facts

- name: Show the free capacity of every region
  ansible.builtin.debug:
    msg: "{{ item.dev }}: {{ item.available_size }} of {{ item.size }} bytes free"
  loop: "{{ pmem.regions }}"

- name: Stop when a memory allocation goal waits for a reboot
  ansible.builtin.assert:
    that: not pmem.goals | selectattr('pending') | list
    fail_msg: A memory allocation goal is pending; reboot the host first.
"""

RETURN = r"""
gathered:
  description: The parts of O(gather) that were read, V(all) expanded.
  returned: always
  type: list
  elements: str
  sample: [daxctl, memory_resources, ndctl, optane]
dev_dir:
  description: The device directory of RV(namespaces[].device) (O(dev_dir)).
  returned: always
  type: str
  sample: /dev
fstab_path:
  description: The fstab read for RV(namespaces[].fstab) (O(fstab_path)).
  returned: always
  type: str
  sample: /etc/fstab
platform:
  description: What the host offers and which tools work on it.
  returned: always
  type: dict
  contains:
    optane_present:
      description: Whether ipmctl found Intel Optane PMem modules.
      type: bool
      sample: true
    ipmctl_usable:
      description: Whether ipmctl is installed and manages PMem modules on this host.
      type: bool
      sample: false
    ndctl_usable:
      description: Whether ndctl is installed and answered.
      type: bool
      sample: true
    daxctl_usable:
      description: Whether daxctl is installed and answered.
      type: bool
      sample: true
    reason:
      description: Why ipmctl or another tool is not usable, empty when every tool works.
      type: str
      sample: "Initialization failed. No PMem modules in the system."
    module_count:
      description: Number of Optane PMem modules ipmctl reports.
      type: int
      sample: 12
dimms:
  description:
    - Optane PMem modules as ipmctl shows them. Empty when ipmctl is not usable.
  returned: always
  type: list
  elements: dict
  contains:
    dimm_id:
      description: ipmctl DimmID (NFIT handle in hex).
      type: str
      sample: "0x0001"
    socket_id:
      description: Socket the module sits in.
      type: int
      sample: 0
    capacity:
      description: Raw capacity in bytes.
      type: int
      sample: 136902082560
    health_state:
      description: ipmctl health, such as C(Healthy) or C(Noncritical failure).
      type: str
      sample: Healthy
    lock_state:
      description: Security lock state, such as C(Disabled) or C(Unlocked).
      type: str
      sample: Disabled
    fw_version:
      description: Firmware version.
      type: str
      sample: "02.02.00.1553"
    memory_capacity:
      description: Bytes of the module in Memory Mode (volatile); null when ipmctl does not say.
      type: int
      sample: 0
    app_direct_capacity:
      description: Bytes of the module in App Direct mode; null when ipmctl does not say.
      type: int
      sample: 135291469824
    attributes:
      description: Every attribute C(ipmctl show -a -dimm) printed for the module, as strings.
      returned: when O(ipmctl_attributes=true)
      type: dict
      sample: {"PartNumber": "NMA1XXD128GPS", "SerialNumber": "0x00000be8"}
nvdimms:
  description: NVDIMMs as ndctl shows them (C(nmemN)); present on every NVDIMM platform.
  returned: always
  type: list
  elements: dict
  sample:
    - dev: nmem0
      id: 8089-a2-1837-00000be8
      handle: 1
      phys_id: 28
      state: enabled
memory_resources:
  description:
    - Capacity per memory type (volatile, app_direct, cache, inaccessible, physical), each split into
      C(ddr), C(pmem_module) and C(total) bytes. Empty when ipmctl is not usable or
      V(memory_resources) is not in O(gather).
  returned: always
  type: dict
  sample: {"app_direct": {"ddr": null, "pmem_module": 3246995406848, "total": 3246995406848}}
goals:
  description:
    - Memory allocation goals that ipmctl still lists. A goal applied by the BIOS disappears; a goal with
      C(pending=true) waits for a reboot; a goal with C(failed=true) was rejected by the BIOS and its
      C(status) holds ipmctl's message.
  returned: always
  type: list
  elements: dict
  sample:
    - socket_id: 0
      dimm_id: '0x0001'
      app_direct1_size: 135291469824
      status: 'New: A reboot is required...'
      pending: true
      failed: false
ipmctl_regions:
  description:
    - Regions as ipmctl shows them, with persistent memory type per socket. Empty without ipmctl.
    - Each region's C(attributes), every attribute ipmctl printed for it, only with O(ipmctl_attributes=true);
      the same holds for RV(goals).
  returned: always
  type: list
  elements: dict
regions:
  description: Regions as ndctl shows them.
  returned: always
  type: list
  elements: dict
  contains:
    dev:
      description: Region device name.
      type: str
      sample: region0
    size:
      description: Region size in bytes.
      type: int
      sample: 541165879296
    available_size:
      description: Free bytes in the region.
      type: int
    max_available_extent:
      description: Largest free contiguous extent in bytes, the largest namespace that can still be created.
      type: int
    align:
      description: Region alignment in bytes; namespace sizes are multiples of it.
      type: int
      sample: 16777216
    interleave_ways:
      description: Number of NVDIMMs interleaved in the region.
      type: int
      sample: 6
    iset_id:
      description: Interleave set cookie, unsigned. Null for label-less regions.
      type: int
    label_less:
      description: Whether the region has no namespace labels (one raw namespace covering the region).
      type: bool
    numa_node:
      description: NUMA node of the region.
      type: int
    persistence_domain:
      description: C(cpu_cache), C(memory_controller), C(none) or C(unknown).
      type: str
    namespaces:
      description: Device names of the namespaces in this region.
      type: list
      elements: str
namespaces:
  description: Every namespace with a size, including disabled ones.
  returned: always
  type: list
  elements: dict
  contains:
    dev:
      description: Namespace device, such as C(namespace0.0).
      type: str
    name:
      description: Namespace name (alt_name), null when unnamed.
      type: str
    mode:
      description: C(fsdax), C(devdax), C(sector) or C(raw).
      type: str
    size:
      description: Usable size in bytes, after metadata.
      type: int
    uuid:
      description: Namespace UUID (null for label-less namespaces).
      type: str
    region:
      description: Region holding the namespace.
      type: str
    blockdev:
      description: Block device name for fsdax, sector and raw namespaces.
      type: str
    chardev:
      description: Character device name for devdax namespaces.
      type: str
    device:
      description: Path of the block or character device.
      type: str
      sample: /dev/pmem0
    mounts:
      description: Mount points that use the namespace's block device.
      type: list
      elements: str
      sample: ["/mnt/pmem0"]
    mounted:
      description:
        - The mounts of the namespace's block device, with type and options as the mount table has them.
      type: list
      elements: dict
      sample: [{"path": "/mnt/pmem0", "fstype": "ext4", "options": "rw,relatime,dax=always"}]
    fstab:
      description: The entries of O(fstab_path) whose source is the namespace's block device.
      type: list
      elements: dict
      sample: [{"path": "/mnt/pmem0", "fstype": "ext4", "options": "dax=always"}]
    state:
      description: C(enabled) or C(disabled).
      type: str
dax_devices:
  description: Dax devices as daxctl shows them, with their mode (C(devdax) or C(system-ram)).
  returned: always
  type: list
  elements: dict
  sample:
    - chardev: dax0.0
      size: 1054867456
      mode: devdax
      target_node: 0
      align: 2097152
"""

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ansible_runner import AnsibleRunner  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.errors import PmemError, ToolMissing  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ipmctl import Ipmctl  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.mounts import (  # noqa: E402
    entries_of,
    read_fstab,
    read_mount_entries,
)
from ansible_collections.pmem.optane.plugins.module_utils.ndctl import Ndctl  # noqa: E402

GATHER_PARTS = ("optane", "memory_resources", "ndctl", "daxctl")


def gather_parts(requested):
    """The parts to read: V(all) is every part; V(memory_resources) needs the Optane probe."""
    wanted = set(GATHER_PARTS) if "all" in requested else set(requested)
    if "memory_resources" in wanted:
        wanted.add("optane")
    return sorted(wanted)


def gather_ipmctl(module, runner, result, with_memory_resources):
    platform = result["platform"]
    ipmctl = Ipmctl(runner, binary=module.params["ipmctl_path"] or "ipmctl")
    # platform() never raises: a missing tool or "no PMem modules" becomes the reason.
    found = ipmctl.platform()
    platform["optane_present"] = bool(found.optane_present)
    platform["ipmctl_usable"] = bool(found.ipmctl_usable)
    platform["module_count"] = int(found.module_count or 0)
    if not found.ipmctl_usable:
        platform["reason"] = found.reason
        return
    keep = module.params["ipmctl_attributes"]
    try:
        result["dimms"] = [_ipmctl_facts(m, keep) for m in ipmctl.show_dimm()]
        if with_memory_resources:
            result["memory_resources"] = ipmctl.show_memory_resources().to_dict()
        result["goals"] = [
            dict(_ipmctl_facts(goal, keep), pending=goal.pending, failed=goal.failed)
            for goal in ipmctl.show_goal()
        ]
        result["ipmctl_regions"] = [_ipmctl_facts(region, keep) for region in ipmctl.show_region()]
    except PmemError as exc:
        fail_with(module, exc, "reading Optane facts with ipmctl failed: %s" % exc)


def _ipmctl_facts(view, with_attributes):
    """An ipmctl view's facts, with ipmctl's raw attribute table only when asked for."""
    facts = view.to_dict()
    if not with_attributes:
        facts.pop("attributes", None)
    return facts


def gather_ndctl(module, runner, result):
    try:
        inventory = Ndctl(runner, binary=module.params["ndctl_path"] or "ndctl").inventory()
    except ToolMissing as exc:
        result["platform"]["reason"] = _join(result["platform"]["reason"], exc.message)
        return
    except PmemError as exc:
        fail_with(module, exc, "reading regions and namespaces with ndctl failed: %s" % exc)
    result["platform"]["ndctl_usable"] = True
    mounts = read_mount_entries(module.params["mounts_path"])
    fstab = read_fstab(module.params["fstab_path"])
    dev_dir = module.params["dev_dir"]
    result["nvdimms"] = [dimm.to_dict() for dimm in inventory.dimms]
    for region in inventory.regions:
        facts = region.to_dict()
        facts.pop("seeds", None)
        facts.update(
            label_less=region.label_less,
            interleave_ways=region.interleave_ways,
            dimms=list(region.dimms),
            namespaces=[ns.dev for ns in region.namespaces],
        )
        result["regions"].append(facts)
    for ns in inventory.namespaces():
        facts = ns.to_dict()
        device = _device_path(ns, dev_dir)
        mounted = entries_of(device, mounts) if ns.blockdev else []
        facts.update(
            device=device,
            mounts=[entry["path"] for entry in mounted],
            mounted=mounted,
            fstab=entries_of(device, fstab) if ns.blockdev else [],
        )
        result["namespaces"].append(facts)


def _device_path(ns, dev_dir):
    node = ns.blockdev or ns.chardev
    return os.path.join(dev_dir, node) if node else None


def gather_daxctl(module, runner, result):
    # Imported here: most calls (the roles' on every host) do not gather daxctl.
    from ansible_collections.pmem.optane.plugins.module_utils.daxctl import Daxctl

    try:
        devices = Daxctl(runner, binary=module.params["daxctl_path"] or "daxctl").list()
    except ToolMissing as exc:
        result["platform"]["reason"] = _join(result["platform"]["reason"], exc.message)
        return
    except PmemError as exc:
        fail_with(module, exc, "listing dax devices with daxctl failed: %s" % exc)
    result["dax_devices"] = [dev.to_dict() for dev in devices]
    result["platform"]["daxctl_usable"] = True


def _join(first, second):
    return "%s; %s" % (first, second) if first else second


def fail_with(module, exc, msg):
    """fail_json with the tool's facts (cmd, rc, stdout, stderr, tool_message) of ``exc``."""
    facts = exc.to_dict()
    facts["msg"] = msg
    module.fail_json(**facts)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            gather=dict(type="list", elements="str", default=["all"], choices=["all", *GATHER_PARTS]),
            ipmctl_attributes=dict(type="bool", default=False),
            mounts_path=dict(type="path"),
            fstab_path=dict(type="path", default="/etc/fstab"),
            dev_dir=dict(type="path", default="/dev"),
            ndctl_path=dict(type="path"),
            ipmctl_path=dict(type="path"),
            daxctl_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    runner = AnsibleRunner(module)
    parts = gather_parts(module.params["gather"])
    result = dict(
        changed=False,
        gathered=parts,
        platform=dict(
            optane_present=False,
            ipmctl_usable=False,
            ndctl_usable=False,
            daxctl_usable=False,
            reason="",
            module_count=0,
        ),
        dimms=[],
        nvdimms=[],
        memory_resources={},
        goals=[],
        ipmctl_regions=[],
        regions=[],
        namespaces=[],
        dax_devices=[],
        fstab_path=module.params["fstab_path"],
        dev_dir=module.params["dev_dir"],
    )
    if "optane" in parts:
        gather_ipmctl(module, runner, result, "memory_resources" in parts)
    if "ndctl" in parts:
        gather_ndctl(module, runner, result)
    if "daxctl" in parts:
        gather_daxctl(module, runner, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
