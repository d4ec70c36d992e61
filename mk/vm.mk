# QEMU guest with emulated NVDIMMs (issue 7): image build, boot, Molecule scenario.
#   make vm-image   build the guest image into vm/cache/<key>/ (cached; ~3 min cold)
#   make vm-test    run only the Molecule QEMU scenario test (builds the image if needed)
#   make vm-clean   stop leftover guests, drop run files and the image cache
# `make test` runs the scenario (image build included, so its wall time is printed with the
# others) in the background while the rest of the suite runs; tests/vm/test_qemu_scenario.py,
# collected last, waits for it. See docs/vm.md.
APT_PACKAGES += qemu-system-x86 qemu-utils mmdebstrap uidmap arch-test zstd openssh-client e2fsprogs

.PHONY: vm-image vm-test vm-clean

vm-image: system-packages
	$(ROOT)/vm/build-image.sh

vm-test: system-packages venv collection-link lifecycle-deps
	$(VENV)/bin/pytest -p no:randomly -m vm tests/vm -s

vm-clean:
	@for d in $(ROOT)/vm/run/*/; do [ -d "$$d" ] && python3 $(ROOT)/vm/pmemvm.py stop "$$(basename $$d)" --remove || true; done
	rm -rf $(ROOT)/vm/run $(ROOT)/vm/cache
