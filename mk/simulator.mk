# Simulator (pmem-sim): byte-compile the package so every simulated ipmctl/ndctl/daxctl
# call starts from .pyc files. With PYTHONDONTWRITEBYTECODE=1 Python would otherwise
# recompile the modules on every one of the thousands of tool calls tests make.
.PHONY: simulator-bytecode
simulator-bytecode: venv
	@$(PY) -m compileall -q $(ROOT)/simulator/pmem_sim

TEST_PREREQS += simulator-bytecode
DEMO_PREREQS += simulator-bytecode
