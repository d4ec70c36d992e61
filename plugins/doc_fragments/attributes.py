# Copyright: pmem.optane contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Wording for modules that change the host. Each module states its own `support:` level.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description:
      - In check mode the module reads the host, computes the same plan it would apply and reports
        O(ignore:changed) and the plan without running any command that changes the host.
  diff_mode:
    description:
      - With C(--diff) the module returns the state before and after the change.
  idempotent:
    description:
      - Running the module again with the same arguments on a host it already changed reports no change
        and runs no command that changes the host.
"""

    # Wording for read-only modules (pmem_info).
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module only reads the host, so check mode and normal mode behave the same.
    description:
      - Can run in check mode and returns the same facts as in normal mode.
  diff_mode:
    support: N/A
    details:
      - This module never changes the host.
    description:
      - Returns details on what has changed (or would change) when run with C(--diff).
  idempotent:
    support: full
    description:
      - Running the module repeatedly returns the same facts as long as the host does not change.
"""
