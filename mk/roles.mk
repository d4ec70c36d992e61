# Roles area (issue 4): the fleet demo and the fleet benchmark.
#   make demo-fleet   provision a simulated fleet with the real playbooks, print it, re-run: changed=0
#   make bench-fleet  provision.yml over 10/50/100 simulated hosts against Ansible's ping floor
.PHONY: demo-fleet bench-fleet

demo-fleet: system-packages venv collection-link
	$(ROOT)/scripts/demo.sh

bench-fleet: venv collection-link simulator-bytecode
	$(PY) bench/bench_fleet.py

DEMO_PREREQS += demo-fleet
