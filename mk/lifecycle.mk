# Driver lifecycle (issue 6): the csi_driver role's tests install the driver from a wheelhouse
# with no package index at all. Fetch the driver's dependency wheels (and PyPA's installer) once
# here, where an index is reachable; tests/lifecycle then builds the driver wheel and installs offline.
.PHONY: lifecycle-deps lifecycle-test

LIFECYCLE_DEPS := $(BUILD)/lifecycle/deps

lifecycle-deps: $(LIFECYCLE_DEPS)/.stamp
$(LIFECYCLE_DEPS)/.stamp: driver/pyproject.toml requirements.txt mk/lifecycle.mk | venv
	@mkdir -p $(LIFECYCLE_DEPS)
	$(PY) -m pip download -q --disable-pip-version-check --only-binary=:all: -d $(LIFECYCLE_DEPS) \
	  $$($(PY) -c 'import tomllib; print(" ".join(tomllib.load(open("driver/pyproject.toml", "rb"))["project"]["dependencies"]))') installer
	@touch $@

# Only the lifecycle tests, for quick iteration.
lifecycle-test: venv collection-link lifecycle-deps
	$(VENV)/bin/pytest tests/lifecycle

TEST_PREREQS += lifecycle-deps
