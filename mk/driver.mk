# CSI driver (driver/): generate the gRPC stubs, install it editable into the venv, build the wheel.
.PHONY: driver-stubs driver-install driver-wheel

DRIVER_WHEEL_DIR := $(BUILD)/driver-wheel

# optane_csi/_gen is generated from driver/proto/csi.proto (git-ignored, never edited).
driver-stubs: venv
	$(PY) driver/optane_csi/codegen.py

# editable_mode=compat: a plain path entry in a .pth file. The default import-hook finder
# costs every Python process in the venv ~40 ms at start-up (site imports pathlib for it),
# and the tests start thousands of them (simulated tools, Ansible modules on localhost).
driver-install: driver-stubs
	@$(PY) -c "import optane_csi" 2>/dev/null && ! ls $(VENV)/lib/python*/site-packages/__editable___pmem_optane_csi_*_finder.py >/dev/null 2>&1 || \
	  $(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
	    --config-settings editable_mode=compat -e driver

# The wheel carries plugins/module_utils byte for byte as optane_csi/_pmemlib.
driver-wheel: driver-stubs
	rm -rf $(DRIVER_WHEEL_DIR)
	$(PY) -m pip wheel -q --disable-pip-version-check --no-build-isolation --no-deps -w $(DRIVER_WHEEL_DIR) ./driver
	@ls $(DRIVER_WHEEL_DIR)/*.whl

TEST_PREREQS += driver-install
