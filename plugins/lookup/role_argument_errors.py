# Copyright: contributors to pmem.optane
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A role's variables checked against its own argument spec, wherever the template renders.

ansible-core validates a role's arguments in a task of its own, one worker process per host
before the role's first task. The collection's playbooks turn that off (rolespec_validate:
false) and the roles ask this lookup instead, in the condition of a meta task: that renders in
the controller's main process, so the check of a compliant host costs no worker process.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_argument_errors
author:
  - pmem.optane maintainers (@pmem-optane)
version_added: 0.1.0
short_description: Check a role's variables against its meta/argument_specs.yml
description:
  - Validates the variables of roles of this collection against the V(main) entry point of
    each role's C(meta/argument_specs.yml), with the validator and rules ansible-core's own
    role argument validation uses (types, choices, list elements, sub-options).
  - Returns the error messages, each naming the variable and the rule; an empty list when
    every variable is valid.
  - The roles of this collection use it in the condition of their first C(meta) task, which
    ansible-core renders on the controller without a worker process per host. The
    collection's playbooks therefore import the roles with
    O(ansible.builtin.import_role#module:rolespec_validate=false); a play that lists the
    roles under C(roles) gets ansible-core's check as well, with the same messages.
options:
  _terms:
    description: Names of roles of this collection (V(appdirect), V(namespaces), V(csi_driver)).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Stop a host whose variables break the role's argument spec
  ansible.builtin.fail:
    msg: "{{ errors | join('; ') }}"
  vars:
    errors: "{{ query('pmem.optane.role_argument_errors', 'namespaces') }}"
  when: errors | length > 0
"""

RETURN = r"""
_raw:
  description: The error messages, one per broken rule; empty when the variables are valid.
  type: list
  elements: str
"""

import os  # noqa: E402
import re  # noqa: E402

import yaml  # noqa: E402
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402

ROLES_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles"
)
# libyaml's safe loader where PyYAML has it (as ansible-core's own loader does): the pure
# Python one takes tens of milliseconds for a role's spec, paid at every playbook start.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ROLE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")

# Parsed once per controller process: the main process renders this for every host.
_VALIDATORS = {}


def role_validator(role):
    """(option names, validator) of the role's main entry point."""
    if role not in _VALIDATORS:
        if not ROLE_NAME_RE.match(role):
            raise AnsibleLookupError("role_argument_errors: %r is not a role name of this collection" % role)
        path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
        try:
            with open(path, encoding="utf-8") as handle:
                specs = yaml.load(handle, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)
            options = specs["argument_specs"]["main"]["options"]
        except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
            raise AnsibleLookupError(
                "role_argument_errors: no argument spec for role %s: %s" % (role, exc)
            ) from exc
        _VALIDATORS[role] = (tuple(options), ArgumentSpecValidator(options))
    return _VALIDATORS[role]


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        errors = []
        for role in terms:
            names, validator = role_validator(str(role))
            # As ansible-core's validate_argument_spec does: the role's variables as this
            # host sees them, rendered, then checked.
            provided = self._templar.template({name: variables[name] for name in names if name in variables})
            errors.extend(validator.validate(provided, validate_role_argument_spec=True).error_messages)
        return errors
