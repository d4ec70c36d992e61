"""pytest fixtures for driver/tests; the code lives in optane_testlib.py."""

from optane_testlib import controller, serve, short_tmp, sim_state  # noqa: F401
