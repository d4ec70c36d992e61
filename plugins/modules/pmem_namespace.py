#!/usr/bin/python
# Copyright: pmem.optane contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pmem_namespace
short_description: Manage one persistent memory namespace by name
version_added: 0.1.0
description:
  - Creates, checks or destroys the namespace called O(name) with C(ndctl).
  - A namespace that exists and matches the request is left alone. One that exists but differs (mode, size,
    alignment, map, sector size or placement) makes the module fail and list every difference, unless
    O(reconfigure=true) and O(allow_data_loss=true) are both set; it is then destroyed and created again,
    which loses its data.
  - A label-less region (one raw namespace spanning the region, as on fresh QEMU NVDIMMs) cannot hold a
    named namespace until its labels are initialised with C(ndctl init-labels). When that discards the
    existing raw namespace, the module needs O(allow_data_loss=true).
  - O(state=absent) refuses to destroy a namespace that is mounted or otherwise in use (a dax device in
    system-ram mode), unless O(force=true).
  - Every change is made while holding the pmem.optane host lock.
author:
  - pmem.optane maintainers (@pmem-optane)
extends_documentation_fragment:
  - pmem.optane.attributes
  - pmem.optane.common
  - pmem.optane.common.ndctl
  - pmem.optane.common.daxctl
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the namespace (the kernel's alt_name, up to 63 characters).
      - Names starting with C(csi-) belong to the pmem.optane CSI driver and are refused.
    type: str
    required: true
  state:
    description:
      - Whether the namespace should exist.
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - V(fsdax) for a block device with DAX file systems, V(devdax) for a character device mapped by
        applications, V(sector) for a block device with atomic sector updates (BTT), V(raw) without metadata.
    type: str
    choices: [fsdax, devdax, sector, raw]
    default: fsdax
  size:
    description:
      - Size of the namespace as ndctl's C(--size) takes it, in bytes or with a unit (V(16G), V(512MiB),
        V(1T); K, M, G and T are powers of 1024), or a share of the region size such as V(50%).
      - V(all) (the default) takes all the space that remains in the region.
      - The size must be a multiple of the region alignment (16 MiB, times the interleave ways). The
        usable size is smaller, because fsdax, devdax and sector namespaces keep metadata on the device;
        RV(size) returns the usable size obtained.
    type: str
    default: all
  region:
    description:
      - Region to place the namespace in, as V(region0) or V(0).
      - Mutually exclusive with O(numa_node). Without both, the region with the most free contiguous
        capacity that fits is chosen.
    type: str
  numa_node:
    description:
      - Place the namespace in a region on this NUMA node.
    type: int
  align:
    description:
      - Alignment of fsdax and devdax namespaces (V(4K), V(2M) or V(1G)). ndctl's default is 2M.
    type: str
  map:
    description:
      - Where fsdax and devdax namespaces keep their page metadata, V(dev) (on the namespace) or V(mem)
        (in system memory).
    type: str
    choices: [dev, mem]
  sector_size:
    description:
      - Logical sector size of sector (and raw/fsdax) namespaces, such as V(512) or V(4096).
    type: int
  reconfigure:
    description:
      - Destroy and re-create an existing namespace that differs from the request. Needs O(allow_data_loss).
    type: bool
    default: false
  allow_data_loss:
    description:
      - Consent to changes that destroy data, reconfiguring a namespace or initialising the labels of a
        label-less region that holds a namespace.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), destroy the namespace even when it is mounted or in use. ndctl still refuses
        while the kernel holds the device busy.
    type: bool
    default: false
  mounts_path:
    description:
      - Mount table used to find mounted namespaces. V(/proc/self/mounts), then V(/proc/mounts), when not set.
    type: path
  dev_dir:
    description:
      - Directory in which the namespaces' block devices appear. Only test hosts need to change it.
    type: path
    default: /dev
seealso:
  - module: pmem.optane.pmem_info
  - module: pmem.optane.pmem_dax
"""

EXAMPLES = r"""
- name: A 64 GiB fsdax namespace on the first socket's region
  pmem.optane.pmem_namespace:
    name: database
    region: region0
    size: 64G

- name: A devdax namespace with 1 GiB pages, on NUMA node 1, taking what is left there
  pmem.optane.pmem_namespace:
    name: cache
    mode: devdax
    align: 1G
    numa_node: 1
    size: all

- name: Turn the fsdax namespace into a sector namespace, accepting the loss of its data
  pmem.optane.pmem_namespace:
    name: database
    mode: sector
    size: 64G
    reconfigure: true
    allow_data_loss: true

- name: Remove a namespace
  pmem.optane.pmem_namespace:
    name: scratch
    state: absent
"""

RETURN = r"""
namespace:
  description: Facts of the namespace after the run; null when it does not exist (or will not, in check mode).
  returned: always
  type: dict
  sample:
    dev: namespace0.0
    name: database
    mode: fsdax
    map: dev
    size: 67578216448
    uuid: 3f1c...
    sector_size: 512
    align: 2097152
    blockdev: pmem0
    region: region0
    device: /dev/pmem0
size:
  description:
    - Usable bytes of the namespace after its metadata (the size actually obtained); null when absent.
    - In check mode, the usable size the planned namespace would get.
  returned: always
  type: int
  sample: 67578216448
plan:
  description: Actions taken, or that would be taken in check mode, in order. Empty when nothing needs doing.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: create_namespace
      target: region0
      params:
        name: database
        mode: fsdax
        size: 68719476736
      reason: database does not exist
      destroys_data: false
differences:
  description:
    - What differs between the existing namespace and the request (also listed in the failure message).
  returned: when the namespace exists and differs
  type: list
  elements: str
  sample: ["mode is fsdax, requested sector"]
"""

import os  # noqa: E402
import re  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ansible_runner import AnsibleRunner  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.apply import apply_plan  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.daxctl import Daxctl  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.errors import (  # noqa: E402
    Busy,
    Incompatible,
    InvalidRequest,
    PmemError,
    ToolMissing,
)
from ansible_collections.pmem.optane.plugins.module_utils.hostlock import HostLock  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.mounts import mounts_of, read_mounts  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.naming import DRIVER_NAMESPACE_PREFIX  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ndctl import Ndctl  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.planner import DesiredNamespace, plan_namespaces  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.sizes import parse_size, usable_size  # noqa: E402

PERCENT_RE = re.compile(r"^\s*([0-9]{1,3})\s*%\s*$")
REGION_RE = re.compile(r"^(region)?([0-9]+)$")


def usage_of(inventory, mounts, dax_devices, dev_dir):
    """{namespace dev: why it is in use} for mounted block devices and online system-ram dax devices."""
    busy = {}
    system_ram = dict((d.chardev, d) for d in dax_devices if d.mode == "system-ram")
    for ns in inventory.namespaces():
        if ns.blockdev:
            targets = mounts_of(os.path.join(dev_dir, ns.blockdev), mounts)
            if targets:
                busy[ns.dev] = "%s is mounted on %s" % (ns.blockdev, ", ".join(targets))
        chardevs = [ns.chardev] + [d.chardev for d in ns.dax_devices]
        for chardev in chardevs:
            if chardev in system_ram:
                busy[ns.dev] = "%s is in system-ram mode (used as memory)" % chardev
    return busy


# --- request -------------------------------------------------------------------------------


def desired_from(params):
    """DesiredNamespace from the module parameters; InvalidRequest names the field at fault."""
    name = params["name"]
    if not name or len(name) > 63 or not re.match(r"^[A-Za-z0-9_.:+-]+$", name):
        raise InvalidRequest("name", "must be 1 to 63 characters of letters, digits and _ . : + -", name)
    if name.startswith(DRIVER_NAMESPACE_PREFIX):
        raise InvalidRequest(
            "name", "names starting with %r belong to the CSI driver" % DRIVER_NAMESPACE_PREFIX, name
        )
    size = params["size"]
    if size is None or str(size).strip().lower() in ("all", "max", "100%"):
        size = None
    else:
        percent = PERCENT_RE.match(str(size))
        if percent:
            if not 0 < int(percent.group(1)) <= 100:
                raise InvalidRequest("size", "a percentage must be between 1% and 100%", size)
            size = "%d%%" % int(percent.group(1))
        else:
            size = parse_size(size, field="size")
            if size == 0:
                raise InvalidRequest("size", "must be greater than zero", params["size"])
    region = params["region"]
    if region is not None:
        match = REGION_RE.match(region.strip())
        if not match:
            raise InvalidRequest("region", "must be a region such as region0 or 0", region)
        region = "region%s" % match.group(2)
    align = parse_size(params["align"], field="align") if params["align"] is not None else None
    return DesiredNamespace(
        name=name,
        mode=params["mode"],
        size=size,
        region=region,
        numa_node=params["numa_node"],
        align=align,
        map=params["map"],
        sector_size=params["sector_size"],
        state=params["state"],
    )


class NamespaceRequest(object):
    def __init__(self, module, runner):
        self.module = module
        self.params = module.params
        self.ndctl = Ndctl(runner, binary=self.params["ndctl_path"] or "ndctl")
        self.daxctl = Daxctl(runner, binary=self.params["daxctl_path"] or "daxctl")

    def dax_devices(self):
        try:
            return self.daxctl.list()
        except ToolMissing:
            # Without daxctl nothing can be in system-ram mode.
            return []

    def observe(self):
        inventory = self.ndctl.inventory()
        mounts = read_mounts(self.params["mounts_path"])
        busy = usage_of(inventory, mounts, self.dax_devices(), self.params["dev_dir"])
        return inventory, busy

    def plan(self, desired, inventory, busy):
        p = self.params
        try:
            return plan_namespaces(
                [desired],
                inventory,
                reconfigure=p["reconfigure"],
                allow_data_loss=p["allow_data_loss"],
                in_use=frozenset(busy),
                force=p["force"],
            )
        except Busy as exc:
            # Say why: the mount points or the system-ram dax device.
            raise Busy("%s (%s)" % (exc.message, "; ".join(busy[dev] for dev in sorted(busy)))) from None
        except InvalidRequest as exc:
            # The planner names fields of its list input (namespaces[0].size); the module's are flat.
            raise InvalidRequest(exc.field.split(".")[-1], exc.rule, exc.value) from None

    def run(self, desired, apply):
        inventory, busy = self.observe()
        before = inventory.namespace_by_name(desired.name)
        plan = self.plan(desired, inventory, busy)
        after = before
        if apply and plan:
            apply_plan(plan, self.ndctl)
            after = self.ndctl.inventory().namespace_by_name(desired.name)
        return plan, before, after


def facts_of(namespace, dev_dir):
    if namespace is None:
        return None
    facts = namespace.to_dict()
    node = namespace.blockdev or namespace.chardev
    facts["device"] = os.path.join(dev_dir, node) if node else None
    return facts


def predicted(plan, desired, before):
    """What check mode expects the namespace to look like, from the planned create or reconfigure."""
    if desired.state == "absent":
        return None
    for step in reversed(plan):
        if step.kind == "create_namespace":
            params = step.params
            return dict(
                name=desired.name,
                mode=params["mode"],
                region=params["region"],
                size=usable_size(
                    params["mode"],
                    params["size"],
                    params.get("align"),
                    params.get("map"),
                    params.get("sector_size"),
                ),
                align=params.get("align"),
                map=params.get("map"),
                sector_size=params.get("sector_size"),
            )
        if step.kind == "reconfigure_namespace" and before is not None:
            facts = dict(before)
            facts.update((k, v) for k, v in step.params.items() if v is not None)
            return facts
    return before


def action_dict(step):
    return step.to_dict()


def tool_facts(exc):
    """The error's facts for fail_json (cmd, rc, stdout, stderr, tool_message) without its msg."""
    facts = exc.to_dict()
    facts.pop("msg", None)
    return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            mode=dict(type="str", default="fsdax", choices=["fsdax", "devdax", "sector", "raw"]),
            size=dict(type="str", default="all"),
            region=dict(type="str"),
            numa_node=dict(type="int"),
            align=dict(type="str"),
            map=dict(type="str", choices=["dev", "mem"]),
            sector_size=dict(type="int"),
            reconfigure=dict(type="bool", default=False),
            allow_data_loss=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            mounts_path=dict(type="path"),
            dev_dir=dict(type="path", default="/dev"),
            lock_timeout=dict(type="float", default=60),
            lock_path=dict(type="path"),
            ndctl_path=dict(type="path"),
            daxctl_path=dict(type="path"),
        ),
        mutually_exclusive=[("region", "numa_node")],
        supports_check_mode=True,
    )
    p = module.params
    if p["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout: must not be negative (got %r)" % p["lock_timeout"])
    if p["numa_node"] is not None and p["numa_node"] < 0:
        module.fail_json(msg="numa_node: must not be negative (got %r)" % p["numa_node"])
    request = NamespaceRequest(module, AnsibleRunner(module))
    try:
        desired = desired_from(p)
        if module.check_mode:
            plan, before, after = request.run(desired, apply=False)
        else:
            with HostLock(path=p["lock_path"], timeout=p["lock_timeout"]):
                plan, before, after = request.run(desired, apply=True)
    except PmemError as exc:
        facts = tool_facts(exc)
        facts.update(msg=str(exc), plan=[])
        if isinstance(exc, Incompatible):
            facts["differences"] = exc.differences
        module.fail_json(**facts)
    dev_dir = p["dev_dir"]
    if module.check_mode and plan:
        after_facts = predicted(plan, desired, facts_of(before, dev_dir))
    else:
        after_facts = facts_of(after, dev_dir)
    result = dict(
        changed=bool(plan),
        plan=[action_dict(step) for step in plan],
        namespace=after_facts,
        size=after_facts.get("size") if after_facts else None,
    )
    if module._diff:
        result["diff"] = dict(before=facts_of(before, dev_dir) or {}, after=after_facts or {})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
