# Counts module executions per host and the changed results; the fleet
# benchmark reads the JSON it writes to $PMEM_BENCH_COUNT_FILE.
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

# Controller-side actions: they never start a module on the host.
CONTROLLER_ACTIONS = frozenset(
    prefix + name
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for name in (
        "set_fact",
        "debug",
        "assert",
        "fail",
        "validate_argument_spec",
        "include_role",
        "include_tasks",
        "meta",
    )
)

DOCUMENTATION = """
name: module_counter
type: aggregate
short_description: count module calls per host (pmem.optane fleet benchmark)
description:
  - Writes the module calls per host and action (results of actions that run on the controller
    and start no module, such as set_fact or meta, left out), and the number of changed results,
    as JSON to the file named by E(PMEM_BENCH_COUNT_FILE) when the playbook ends.
requirements: [enabled in ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_counter"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, dict[str, int]] = {}
        self.changed = 0

    def _count(self, result, *, changed: bool = False) -> None:
        host = result._host.get_name()
        action = result._task.action
        if action in CONTROLLER_ACTIONS:
            return
        # A loop reports each item; count the items, not the loop summary.
        items = result._result.get("results")
        count = len(items) if isinstance(items, list) and items else 1
        per_host = self.calls.setdefault(host, {})
        per_host[action] = per_host.get(action, 0) + count
        if changed:
            self.changed += 1

    def v2_runner_on_ok(self, result) -> None:
        self._count(result, changed=bool(result._result.get("changed")))

    def v2_runner_on_failed(self, result, ignore_errors: bool = False) -> None:
        self._count(result)

    def v2_playbook_on_stats(self, stats) -> None:
        path = os.environ.get("PMEM_BENCH_COUNT_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({"calls": self.calls, "changed": self.changed}, handle)
