#!/usr/bin/python
# Copyright: pmem.optane contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pmem_goal
short_description: Set the memory allocation goal of Intel Optane PMem modules
version_added: 0.1.0
description:
  - Declares how the capacity of the Optane PMem modules is split between Memory Mode (volatile, used as
    system memory) and App Direct (persistent regions), and whether App Direct is interleaved across the
    modules of a socket.
  - When the applied configuration already matches, or a pending goal already asks for it, nothing changes.
  - Otherwise the module creates the goal with C(ipmctl create -goal) and returns RV(reboot_required=true);
    the BIOS applies the goal at the next boot.
  - A new goal discards the regions it replaces and with them every namespace and the data in them. The
    module refuses when namespaces exist on the affected sockets, or when existing App Direct regions would
    be replaced, unless O(allow_data_loss=true). With consent it destroys those namespaces first, because
    ipmctl refuses to create a goal while namespaces exist.
  - A goal that the BIOS failed to apply after the reboot makes the module fail with ipmctl's own status
    message. Fix the cause, then remove the goal with O(state=absent).
  - Every change is made while holding the pmem.optane host lock.
author:
  - pmem.optane maintainers (@pmem-optane)
extends_documentation_fragment:
  - pmem.optane.attributes
  - pmem.optane.common
  - pmem.optane.common.ipmctl
  - pmem.optane.common.ndctl
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) makes sure the applied configuration, or a pending goal, matches the request.
      - V(absent) deletes pending or failed goals on O(sockets); the applied configuration stays as it is.
    type: str
    choices: [present, absent]
    default: present
  persistent_memory_type:
    description:
      - V(AppDirect) interleaves the modules of each socket into one region per socket.
      - V(AppDirectNotInterleaved) makes one region per module.
    type: str
    choices: [AppDirect, AppDirectNotInterleaved]
    default: AppDirect
  memory_mode:
    description:
      - Percentage (0-100) of the capacity to use in Memory Mode.
      - The rest, minus O(reserved), becomes App Direct.
    type: int
    default: 0
  reserved:
    description:
      - Percentage (0-100) of the capacity to leave unmapped.
      - O(memory_mode) plus O(reserved) must not exceed 100.
    type: int
    default: 0
  sockets:
    description:
      - Sockets to configure, as socket numbers. All sockets with PMem modules when not set.
    type: list
    elements: int
  allow_data_loss:
    description:
      - Consent to replace App Direct regions and to destroy the namespaces on the affected sockets.
    type: bool
    default: false
  tolerance:
    description:
      - How many percentage points the applied Memory Mode share may differ from O(memory_mode) and still
        count as matching. The BIOS rounds partitions to 1 GiB per module.
    type: int
    default: 2
notes:
  - Needs C(ipmctl) and real Optane PMem modules.
  - On hosts where ipmctl reports no PMem modules the module fails, naming ipmctl's reason.
seealso:
  - module: pmem.optane.pmem_info
  - module: pmem.optane.pmem_namespace
"""

EXAMPLES = r"""
- name: All capacity App Direct, one interleaved region per socket
  pmem.optane.pmem_goal:
    persistent_memory_type: AppDirect
  register: goal

- name: Reboot so the BIOS applies the goal
  ansible.builtin.reboot:
  when: goal.reboot_required

- name: Half Memory Mode, half App Direct not interleaved, on socket 1 only, replacing what is there
  pmem.optane.pmem_goal:
    persistent_memory_type: AppDirectNotInterleaved
    memory_mode: 50
    sockets: [1]
    allow_data_loss: true

- name: Withdraw a goal that has not been applied yet
  pmem.optane.pmem_goal:
    state: absent
"""

RETURN = r"""
reboot_required:
  description: Whether a goal waits for a reboot on the requested sockets (created now or earlier).
  returned: always
  type: bool
  sample: true
goals:
  description: Goals ipmctl lists on the requested sockets after the run.
  returned: always
  type: list
  elements: dict
  sample:
    - socket_id: 0
      dimm_id: '0x0001'
      memory_size: 0
      app_direct1_size: 135291469824
      status: 'New: A reboot is required for the memory allocation goal to be processed by the BIOS.'
current:
  description:
    - Applied configuration per socket before the run (Memory Mode percentage and App Direct region types).
  returned: always
  type: dict
  sample:
    '0':
      memory_mode: 0
      persistent_memory_type: AppDirect
      regions: 1
      modules: 6
plan:
  description: Actions taken, or that would be taken in check mode. Empty when nothing needs doing.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: create_goal
      target: sockets 0,1
      params:
        persistent_memory_type: AppDirect
        memory_mode: 0
      reason: socket 0 has no App Direct region
      destroys_data: false
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ansible_runner import AnsibleRunner  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.apply import apply_plan  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.errors import GoalFailed, PmemError  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.hostlock import HostLock  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ipmctl import Ipmctl  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.ndctl import Ndctl  # noqa: E402
from ansible_collections.pmem.optane.plugins.module_utils.planner import DesiredGoal, plan_goal  # noqa: E402

INTERLEAVED = "AppDirect"
NOT_INTERLEAVED = "AppDirectNotInterleaved"


def socket_of_handle(handle):
    """Socket of an NFIT handle 0xSCMC (socket, memory controller, channel, slot)."""
    return (int(handle) >> 12) & 0xF


class GoalRequest(object):
    def __init__(self, module, runner):
        self.module = module
        self.params = module.params
        self.ipmctl = Ipmctl(runner, binary=self.params["ipmctl_path"] or "ipmctl")
        self.ndctl = Ndctl(runner, binary=self.params["ndctl_path"] or "ndctl")

    def fail(self, msg, exc=None, **extra):
        facts = tool_facts(exc) if exc is not None else {}
        facts.update(extra)
        facts["msg"] = msg
        self.module.fail_json(**facts)

    # --- observe ------------------------------------------------------------------------

    def observe(self):
        platform = self.ipmctl.platform()
        if not platform.ipmctl_usable:
            self.fail(
                "ipmctl cannot manage PMem modules on this host: %s" % (platform.reason or "unknown reason"),
                platform=platform.to_dict(),
            )
        modules = self.ipmctl.show_dimm()
        all_sockets = sorted(set(m.socket_id for m in modules if m.socket_id is not None))
        wanted = self.params["sockets"]
        if wanted:
            unknown = sorted(set(wanted) - set(all_sockets))
            if unknown:
                self.fail(
                    "sockets: %s has no PMem modules (modules sit on sockets %s)"
                    % (", ".join(str(s) for s in unknown), ", ".join(str(s) for s in all_sockets))
                )
            sockets = sorted(set(wanted))
        else:
            sockets = all_sockets
        goals = [g for g in self.ipmctl.show_goal() if g.socket_id in sockets]
        regions = [r for r in self.ipmctl.show_region() if r.socket_id in sockets]
        return dict(
            sockets=sockets,
            modules=[m for m in modules if m.socket_id in sockets],
            goals=goals,
            regions=regions,
            namespaces=self.namespaces_on(sockets),
        )

    def namespaces_on(self, sockets):
        """ndctl namespaces whose region uses a module on one of ``sockets``."""
        try:
            inventory = self.ndctl.inventory()
        except PmemError:
            # ndctl missing or failing: ipmctl's own refusal (status 124) still protects namespaces.
            return []
        handles = dict((d.dev, d.handle) for d in inventory.dimms)
        found = []
        for region in inventory.regions:
            region_sockets = set(
                socket_of_handle(handles[dimm]) for dimm in region.dimms if handles.get(dimm) is not None
            )
            if not region_sockets or region_sockets & set(sockets):
                found.extend(ns for ns in region.namespaces if not ns.is_seed)
        return found

    @staticmethod
    def current(observed):
        """Applied configuration per socket, as the planner compares it."""
        out = {}
        for socket in observed["sockets"]:
            modules = [m for m in observed["modules"] if m.socket_id == socket]
            capacity = sum(m.capacity or 0 for m in modules)
            memory = sum(m.memory_capacity or 0 for m in modules)
            regions = [r for r in observed["regions"] if r.socket_id == socket]
            types = sorted(set(r.persistent_memory_type or "" for r in regions))
            out[str(socket)] = dict(
                memory_mode=round(100.0 * memory / capacity) if capacity else 0,
                persistent_memory_type=",".join(types) if types else None,
                regions=len(regions),
                modules=len(modules),
                app_direct_capacity=sum(r.capacity or 0 for r in regions),
            )
        return out

    def plan(self, observed):
        p = self.params
        desired = DesiredGoal(
            persistent_memory_type=p["persistent_memory_type"],
            memory_mode=p["memory_mode"],
            reserved=p["reserved"],
            sockets=tuple(sorted(set(p["sockets"]))) if p["sockets"] else None,
            state=p["state"],
        )
        try:
            return plan_goal(
                desired,
                observed["modules"],
                observed["regions"],
                observed["goals"],
                observed["namespaces"],
                allow_data_loss=p["allow_data_loss"],
                tolerance=p["tolerance"],
            )
        except GoalFailed as exc:
            raise GoalFailed(
                "%s. Fix the cause, then delete the goal with state: absent and run again" % exc.message,
                tool_message=exc.tool_message,
            ) from None

    def run(self, apply):
        observed = self.observe()
        steps = self.plan(observed)
        goals_before = [goal_facts(g) for g in observed["goals"]]
        if apply and steps:
            apply_plan(steps, self.ndctl, self.ipmctl)
            goals_after = [g for g in self.ipmctl.show_goal() if g.socket_id in observed["sockets"]]
        elif steps:
            goals_after = None
        else:
            goals_after = observed["goals"]
        return observed, steps, goals_before, goals_after


def tool_facts(exc):
    """The error's facts for fail_json (cmd, rc, stdout, stderr, tool_message) without its msg."""
    facts = exc.to_dict()
    facts.pop("msg", None)
    return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="present", choices=["present", "absent"]),
            persistent_memory_type=dict(
                type="str", default=INTERLEAVED, choices=[INTERLEAVED, NOT_INTERLEAVED]
            ),
            memory_mode=dict(type="int", default=0),
            reserved=dict(type="int", default=0),
            sockets=dict(type="list", elements="int"),
            allow_data_loss=dict(type="bool", default=False),
            tolerance=dict(type="int", default=2),
            lock_timeout=dict(type="float", default=60),
            lock_path=dict(type="path"),
            ipmctl_path=dict(type="path"),
            ndctl_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for field in ("memory_mode", "reserved", "tolerance"):
        if not 0 <= p[field] <= 100:
            module.fail_json(msg="%s: must be a percentage between 0 and 100 (got %d)" % (field, p[field]))
    if p["memory_mode"] + p["reserved"] > 100:
        module.fail_json(
            msg="memory_mode: memory_mode plus reserved must not exceed 100 (got %d + %d)"
            % (p["memory_mode"], p["reserved"])
        )
    if p["sockets"] is not None and any(s < 0 for s in p["sockets"]):
        module.fail_json(msg="sockets: socket numbers must not be negative (got %r)" % (p["sockets"],))
    if p["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout: must not be negative (got %r)" % p["lock_timeout"])
    request = GoalRequest(module, AnsibleRunner(module))
    try:
        if module.check_mode:
            observed, steps, goals_before, goals_after = request.run(apply=False)
        else:
            with HostLock(path=p["lock_path"], timeout=p["lock_timeout"]):
                observed, steps, goals_before, goals_after = request.run(apply=True)
    except PmemError as exc:
        request.fail(str(exc), exc)
    if goals_after is None:
        # Check mode with a plan: the goal would be created (or deleted, for state=absent).
        reboot_required = p["state"] == "present"
        goals_list = goals_before
    else:
        goals_list = [goal_facts(g) for g in goals_after]
        reboot_required = any(not g.failed for g in goals_after)
    current = request.current(observed)
    result = dict(
        changed=bool(steps),
        reboot_required=reboot_required,
        goals=goals_list,
        current=current,
        plan=[step.to_dict() for step in steps],
    )
    if module._diff:
        if steps and goals_after is None:
            after_goals = [] if p["state"] == "absent" else [requested(p)]
        else:
            after_goals = goals_list
        result["diff"] = dict(
            before=dict(current=current, goals=goals_before),
            after=dict(current=current, goals=after_goals),
        )
    module.exit_json(**result)


def goal_facts(goal):
    return dict(goal.to_dict(), pending=goal.pending, failed=goal.failed)


def requested(params):
    """The goal as requested, shown as the diff's after in check mode."""
    return dict(
        persistent_memory_type=params["persistent_memory_type"],
        memory_mode=params["memory_mode"],
        reserved=params["reserved"],
        sockets=params["sockets"],
        status="requested",
    )


if __name__ == "__main__":
    main()
