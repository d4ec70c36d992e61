"""pmem-sim: a stateful fake of ipmctl, ndctl and daxctl with the real tools' output.

Console scripts ``ipmctl``, ``ndctl``, ``daxctl`` read and change the platform
described by the JSON state file named in ``PMEMSIM_STATE``; ``pmemsim`` creates,
inspects and "reboots" that platform. See simulator/README.md.
"""

__version__ = "0.1.0"
