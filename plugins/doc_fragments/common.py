# Copyright: pmem.optane contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of every module that changes the host: the host lock.
    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for the host-wide PMem lock that serialises every change made by this collection
        and by the pmem.optane CSI driver.
      - The module fails naming the lock file, and its holder when known, if the lock is still held after
        this time.
    type: float
    default: 60
  lock_path:
    description:
      - Path of the host-wide lock file.
      - Defaults to the value of the E(PMEM_OPTANE_LOCK) environment variable of the module, or
        C(/run/pmem-optane.lock). Every tool of this collection and the CSI driver must use the same path.
    type: path
"""

    NDCTL = r"""
options:
  ndctl_path:
    description:
      - Path of the C(ndctl) executable. By default C(ndctl) is looked up on E(PATH) and in the usual sbin
        directories.
    type: path
"""

    IPMCTL = r"""
options:
  ipmctl_path:
    description:
      - Path of the C(ipmctl) executable. By default C(ipmctl) is looked up on E(PATH) and in the usual sbin
        directories.
    type: path
"""

    DAXCTL = r"""
options:
  daxctl_path:
    description:
      - Path of the C(daxctl) executable. By default C(daxctl) is looked up on E(PATH) and in the usual sbin
        directories.
    type: path
"""
