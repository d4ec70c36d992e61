# Copyright: contributors to pmem.optane
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The appdirect role's fast decision, on the controller, from one pmem_info result.

Is the node's memory allocation already as declared? Only the common declaration (all
of the capacity App Direct) is decided here; anything else, any goal still listed and
any doubt answers "not compliant", and pmem_goal then decides with the full rules.
The documentation is appdirect_state.yml next to this file.

Jinja did this before: seven chained expressions, each compiled again for every host,
cost more controller time per node than the module call they decided about.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

TYPES = ("AppDirect", "AppDirectNotInterleaved")


def appdirect_state(
    facts,
    persistent_memory_type="AppDirect",
    memory_mode_percent=0,
    reserved_percent=0,
    sockets=None,
):
    """{optane, compliant, volatile_bytes, failed_goal_messages} of one host."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError("appdirect_state: the input must be a pmem_info result (a dict)")
    if persistent_memory_type not in TYPES:
        raise AnsibleFilterError(
            "appdirect_state: persistent_memory_type must be one of %s, not %r"
            % (", ".join(TYPES), persistent_memory_type)
        )
    platform = facts.get("platform") or {}
    optane = bool(platform.get("ipmctl_usable"))
    modules = facts.get("dimms") or []
    goals = facts.get("goals") or []

    all_sockets = sorted({m.get("socket_id") for m in modules if m.get("socket_id") is not None})
    selected = [s for s in all_sockets if not sockets or s in sockets]
    selected_modules = [m for m in modules if m.get("socket_id") in selected]
    regions = [r for r in facts.get("ipmctl_regions") or [] if r.get("socket_id") in selected]
    # Interleaved App Direct: one region per socket; not interleaved: one per module.
    expected_regions = len(selected) if persistent_memory_type == "AppDirect" else len(selected_modules)

    # Memory Mode capacity from each module's MemoryCapacity (show -a -dimm); a module that
    # does not say makes the figure unknown (-1), which is doubt.
    capacities = [m.get("memory_capacity") for m in modules]
    volatile_bytes = -1 if any(c is None for c in capacities) else sum(capacities)

    compliant = (
        optane
        and int(memory_mode_percent or 0) == 0
        and int(reserved_percent or 0) == 0
        and not goals
        and volatile_bytes == 0
        and len(selected) > 0
        and len(regions) == expected_regions
        and all(r.get("persistent_memory_type") == persistent_memory_type for r in regions)
    )
    failed = []
    for goal in goals:
        if goal.get("failed") and goal.get("status") not in failed:
            failed.append(goal.get("status"))
    return {
        "optane": optane,
        "compliant": bool(compliant),
        "volatile_bytes": volatile_bytes,
        "failed_goal_messages": failed,
    }


class FilterModule(object):
    def filters(self):
        return {"appdirect_state": appdirect_state}
