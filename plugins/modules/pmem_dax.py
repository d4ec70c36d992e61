#!/usr/bin/python
# Copyright: pmem.optane contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pmem_dax
short_description: Switch a dax device between devdax and system-ram, persistently
version_added: 0.1.0
description:
  - Puts a dax device (the character device of a devdax namespace) into C(devdax) mode, where applications
    map it directly, or into C(system-ram) mode, where the kernel adds it to the system memory as a
    separate NUMA node.
  - Uses C(daxctl reconfigure-device) for the running system.
  - Makes the mode survive reboots the way daxctl itself does it, with a file in C(/etc/daxctl.conf.d/).
    That file holds one C([reconfigure-device ...]) section matching the device by its namespace UUID,
    which daxctl's udev rule applies at boot. Only the file this module owns is written or removed.
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
  device:
    description:
      - The dax device, such as V(dax0.0).
      - Exactly one of O(device) and O(namespace) is required.
    type: str
  namespace:
    description:
      - Name of the devdax namespace whose dax device to switch, as given to M(pmem.optane.pmem_namespace).
      - Exactly one of O(device) and O(namespace) is required.
    type: str
  mode:
    description:
      - V(system-ram) hands the device to the kernel as memory. Any data on the device is lost, so switching
        from V(devdax) needs O(allow_data_loss=true).
      - V(devdax) gives the device back to applications. The memory is taken offline first, which needs
        O(force=true) while it is online.
    type: str
    required: true
    choices: [devdax, system-ram]
  online:
    description:
      - In V(system-ram) mode, bring the new memory online.
    type: bool
    default: true
  movable:
    description:
      - In V(system-ram) mode, online the memory as movable (ZONE_MOVABLE), so it can be taken offline again.
    type: bool
    default: true
  allow_data_loss:
    description:
      - Consent to switch a V(devdax) device to V(system-ram), which destroys the data on it.
    type: bool
    default: false
  force:
    description:
      - Take online memory offline to switch a V(system-ram) device back to V(devdax).
    type: bool
    default: false
  persist:
    description:
      - Write (for V(system-ram)) or remove (for V(devdax)) this module's file in O(conf_dir) so the mode is
        applied again at boot.
      - Persisting needs a namespace with a UUID; label-less namespaces have none.
    type: bool
    default: true
  conf_dir:
    description:
      - Directory daxctl reads its device configuration from.
    type: path
    default: /etc/daxctl.conf.d
notes:
  - The file is named C(pmem-optane-<namespace name>.conf), or C(pmem-optane-<namespace uuid>.conf) for an
    unnamed namespace.
seealso:
  - module: pmem.optane.pmem_namespace
  - module: pmem.optane.pmem_info
  - name: daxctl-reconfigure-device
    description: daxctl's manual page, including the configuration file format.
    link: https://pmem.io/ndctl/daxctl-reconfigure-device.html
"""

EXAMPLES = r"""
- name: Create a devdax namespace to be used as memory
  pmem.optane.pmem_namespace:
    name: tiered-memory
    mode: devdax
    size: 64G

- name: Hand it to the kernel as system RAM, now and after every reboot
  pmem.optane.pmem_dax:
    namespace: tiered-memory
    mode: system-ram
    allow_data_loss: true

- name: Give dax0.0 back to applications
  pmem.optane.pmem_dax:
    device: dax0.0
    mode: devdax
    force: true
"""

RETURN = r"""
device:
  description: Facts of the dax device after the run (as daxctl lists it).
  returned: success
  type: dict
  sample:
    chardev: dax0.0
    size: 1054867456
    mode: system-ram
    target_node: 0
    align: 2097152
    online_memblocks: 7
    total_memblocks: 7
    movable: true
conf_file:
  description:
    - Path of the configuration file this module manages for the device, or null when O(persist=false).
  returned: success
  type: str
  sample: /etc/daxctl.conf.d/pmem-optane-tiered-memory.conf
plan:
  description: Actions the module took, or would take in check mode. Empty when nothing needs doing.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: reconfigure_device
      target: dax0.0
      params:
        mode: system-ram
      reason: mode is devdax
      destroys_data: true
"""

import os  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ansible_runner import AnsibleRunner  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.daxctl import Daxctl  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.errors import PmemError  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.hostlock import HostLock  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ndctl import Ndctl  # noqa: E402

DEVICE_RE = re.compile(r"^dax[0-9]+\.[0-9]+$")
CONF_PREFIX = "pmem-optane-"


def action(kind, target, params, reason, destroys_data=False):
    return dict(kind=kind, target=target, params=params, reason=reason, destroys_data=destroys_data)


def conf_text(section, uuid, mode, online, movable, label):
    """daxctl.conf.d syntax: one [reconfigure-device <unique id>] section matched by nvdimm.uuid."""
    return (
        "# Managed by pmem.optane.pmem_dax: applies %s at boot (daxctl reconfigure-device --check-config).\n"
        "[reconfigure-device %s]\n"
        "nvdimm.uuid = %s\n"
        "mode = %s\n"
        "online = %s\n"
        "movable = %s\n" % (label, section, uuid, mode, str(online).lower(), str(movable).lower())
    )


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


class DaxRequest(object):
    """Observe, plan and apply for one dax device."""

    def __init__(self, module, runner):
        self.module = module
        self.params = module.params
        self.ndctl = Ndctl(runner, binary=self.params["ndctl_path"] or "ndctl")
        self.daxctl = Daxctl(runner, binary=self.params["daxctl_path"] or "daxctl")

    def fail(self, msg, exc=None, **extra):
        facts = tool_facts(exc) if exc is not None else {}
        facts.update(extra)
        facts["msg"] = msg
        self.module.fail_json(**facts)

    def observe(self):
        """(dax device facts, its namespace or None)."""
        p = self.params
        inventory = self.ndctl.inventory()
        devices = dict((dev.chardev, dev) for dev in self.daxctl.list())
        namespace = None
        if p["namespace"]:
            matches = inventory.namespaces_by_name(p["namespace"])
            if not matches:
                self.fail("namespace: no namespace is named %r" % p["namespace"])
            if len(matches) > 1:
                self.fail(
                    "namespace: %d namespaces are named %r (%s); name the device instead"
                    % (len(matches), p["namespace"], ", ".join(ns.dev for ns in matches))
                )
            namespace = matches[0]
            chardev = namespace.chardev or _first_dax(namespace)
            if namespace.mode != "devdax" or not chardev:
                self.fail(
                    "namespace: %s (%s) is in %s mode; only devdax namespaces have a dax device"
                    % (p["namespace"], namespace.dev, namespace.mode)
                )
        else:
            chardev = p["device"]
            for ns in inventory.namespaces():
                if ns.chardev == chardev or chardev in [d.chardev for d in ns.dax_devices]:
                    namespace = ns
        device = devices.get(chardev)
        if device is None:
            self.fail(
                "device: %s does not exist (daxctl lists %s)"
                % (chardev, ", ".join(sorted(devices)) or "none")
            )
        return device, namespace

    def conf_path(self, namespace):
        if not self.params["persist"]:
            return None
        if namespace is None or not namespace.uuid:
            self.fail(
                "persist: %s has no namespace UUID (label-less namespace); daxctl.conf.d matches devices by "
                "namespace UUID, so set persist: false or initialise the region's labels"
                % (namespace.dev if namespace else self.params["device"])
            )
        key = namespace.name or namespace.uuid
        if not re.match(r"^[A-Za-z0-9_.:-]+$", key):
            key = namespace.uuid
        return os.path.join(self.params["conf_dir"], CONF_PREFIX + key + ".conf")

    def plan(self, device, namespace, conf_path):
        p = self.params
        steps = []
        if device.mode != p["mode"]:
            if p["mode"] == "system-ram" and not p["allow_data_loss"]:
                self.fail(
                    "allow_data_loss: switching %s from devdax to system-ram destroys the data on it; "
                    "set allow_data_loss: true to consent" % device.chardev,
                    plan=[],
                )
            params = dict(mode=p["mode"], force=bool(p["force"]))
            if p["mode"] == "system-ram":
                params.update(online=p["online"], movable=p["movable"])
            steps.append(
                action(
                    "reconfigure_device",
                    device.chardev,
                    params,
                    "%s is in %s mode" % (device.chardev, device.mode),
                    destroys_data=p["mode"] == "system-ram",
                )
            )
        desired_conf = None
        if conf_path:
            current_conf = read_text(conf_path)
            if p["mode"] == "system-ram":
                label = "%s (%s)" % (namespace.name or namespace.dev, namespace.uuid)
                desired_conf = conf_text(
                    CONF_PREFIX + (namespace.name or namespace.uuid),
                    namespace.uuid,
                    p["mode"],
                    p["online"],
                    p["movable"],
                    label,
                )
                if current_conf != desired_conf:
                    steps.append(
                        action(
                            "write_config",
                            conf_path,
                            dict(content=desired_conf),
                            "persist system-ram at boot",
                        )
                    )
            elif current_conf is not None:
                steps.append(action("remove_config", conf_path, {}, "devdax is the boot default"))
        return steps, desired_conf

    def run(self, apply):
        device, namespace = self.observe()
        conf_path = self.conf_path(namespace)
        steps, desired_conf = self.plan(device, namespace, conf_path)
        current_conf = read_text(conf_path) if conf_path else None
        before = dict(mode=device.mode, config=current_conf)
        after = dict(mode=self.params["mode"], config=current_conf)
        if conf_path:
            after["config"] = desired_conf if self.params["mode"] == "system-ram" else None
        after_device = device
        if apply and steps:
            self.apply(steps, desired_conf)
            after_device, namespace = self.observe()
        return steps, after_device, conf_path, before, after

    def apply(self, steps, desired_conf):
        for step in steps:
            if step["kind"] == "reconfigure_device":
                params = step["params"]
                self.daxctl.reconfigure_device(
                    step["target"],
                    params["mode"],
                    force=params["force"],
                    online=params.get("online", True),
                    movable=params.get("movable", True),
                )
            elif step["kind"] == "write_config":
                write_file(self.module, step["target"], desired_conf)
            elif step["kind"] == "remove_config":
                os.remove(step["target"])


def _first_dax(namespace):
    return namespace.dax_devices[0].chardev if namespace.dax_devices else None


def write_file(module, path, content):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, temp = tempfile.mkstemp(prefix=".pmem-optane-", dir=directory)
    with os.fdopen(handle, "w") as out:
        out.write(content)
    os.chmod(temp, 0o644)
    module.atomic_move(temp, path)


def tool_facts(exc):
    """The error's facts for fail_json (cmd, rc, stdout, stderr, tool_message) without its msg."""
    facts = exc.to_dict()
    facts.pop("msg", None)
    return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            device=dict(type="str"),
            namespace=dict(type="str"),
            mode=dict(type="str", required=True, choices=["devdax", "system-ram"]),
            online=dict(type="bool", default=True),
            movable=dict(type="bool", default=True),
            allow_data_loss=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
            persist=dict(type="bool", default=True),
            conf_dir=dict(type="path", default="/etc/daxctl.conf.d"),
            lock_timeout=dict(type="float", default=60),
            lock_path=dict(type="path"),
            ndctl_path=dict(type="path"),
            daxctl_path=dict(type="path"),
        ),
        required_one_of=[("device", "namespace")],
        mutually_exclusive=[("device", "namespace")],
        supports_check_mode=True,
    )
    p = module.params
    if p["device"] is not None and not DEVICE_RE.match(p["device"]):
        module.fail_json(msg="device: must name a dax device such as dax0.0 (got %r)" % p["device"])
    if p["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout: must not be negative (got %r)" % p["lock_timeout"])
    request = DaxRequest(module, AnsibleRunner(module))
    try:
        if module.check_mode:
            outcome = request.run(apply=False)
        else:
            with HostLock(path=p["lock_path"], timeout=p["lock_timeout"]):
                outcome = request.run(apply=True)
    except PmemError as exc:
        request.fail(str(exc), exc)
    steps, after_device, conf_path, before, after = outcome
    result = dict(
        changed=bool(steps),
        plan=steps,
        device=after_device.to_dict(),
        conf_file=conf_path,
    )
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
