# pmem.optane: two commands on a fresh Debian machine.
#   make demo   provision the built-in simulated fleet and print it
#   make test   everything CI checks; ends with pytest's summary line
# Area-specific targets live in mk/*.mk; each fragment appends to
# APT_PACKAGES, TEST_PREREQS and DEMO_PREREQS.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
BUILD := $(ROOT)/.build
COLLECTIONS_DIR := $(BUILD)/collections

# Base system packages; fragments add their own.
APT_PACKAGES := python3-venv python3-dev gcc e2fsprogs xfsprogs util-linux rsync git
TEST_PREREQS :=
DEMO_PREREQS :=

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)
export ANSIBLE_NOCOLOR := 1
export PY_COLORS := 0

-include mk/*.mk

.PHONY: help demo test venv system-packages collection-link lint clean
help:
	@echo "make demo   provision the simulated fleet and print its PMem layout"
	@echo "make test   run everything CI checks"

# Install only the Debian packages that are missing.
system-packages:
	@missing=""; for p in $(sort $(APT_PACKAGES)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.stamp
# Some machines' pip.conf names local indexes that may not exist; drop that noise only.
PIP_QUIET_FILTER := { grep -v "is ignored: it is neither a file nor a directory" || true; }
$(VENV)/.stamp: requirements.txt $(wildcard simulator/pyproject.toml driver/pyproject.toml)
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt 2>&1 | $(PIP_QUIET_FILTER)
	@if [ -f simulator/pyproject.toml ]; then $(PY) -m pip install -q --disable-pip-version-check -e simulator; fi
	@touch $@

# ansible-playbook and ansible-doc find this checkout as pmem.optane.
collection-link:
	@mkdir -p $(COLLECTIONS_DIR)/ansible_collections/pmem
	@ln -sfn $(ROOT) $(COLLECTIONS_DIR)/ansible_collections/pmem/optane

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The fleet demo (scripts/demo.sh, roles area): real playbooks on simulated hosts,
# the fleet table, then a second run that must report changed=0.
demo: system-packages venv collection-link $(filter-out demo-fleet,$(DEMO_PREREQS))
	$(ROOT)/scripts/demo.sh

test: system-packages venv collection-link $(TEST_PREREQS)
	$(VENV)/bin/pytest

clean:
	rm -rf $(BUILD) .pytest_cache
