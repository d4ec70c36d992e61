# Simulator (pmem-sim): byte-compile the package so every simulated ipmctl/ndctl/daxctl
# call starts from .pyc files. With PYTHONDONTWRITEBYTECODE=1 Python would otherwise
# recompile the modules on every one of the thousands of tool calls tests make.
# The tools themselves start as `python -S` (simulator/install_launchers.py says why).
.PHONY: simulator-bytecode
simulator-bytecode: venv
	@$(PY) -m compileall -q $(ROOT)/simulator/pmem_sim
	@$(PY) $(ROOT)/simulator/install_launchers.py $(VENV)/bin

TEST_PREREQS += simulator-bytecode
DEMO_PREREQS += simulator-bytecode
