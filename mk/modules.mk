# Modules area (issue 3): ansible-test sanity runs inside per-test virtualenvs that ansible-test
# creates under ~/.ansible/test/venv. Prime them once here, where the package index is reachable;
# tests/test_sanity.py then runs offline against the cached environments.
.PHONY: sanity-venvs sanity
sanity-venvs: venv
	@if [ ! -d "$$HOME/.ansible/test/venv/sanity.validate-modules" ]; then $(PY) tests/test_sanity.py; fi

# Only the sanity test, for quick iteration.
sanity: venv collection-link
	$(VENV)/bin/pytest tests/test_sanity.py -m slow

TEST_PREREQS += sanity-venvs
