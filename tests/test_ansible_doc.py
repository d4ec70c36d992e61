"""`ansible-doc pmem.optane.<module>` renders every module, with the sections operators rely on."""

import json

import pytest
from modules_support import MODULES, ansible_env, run, tool


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_text(module):
    result = run([tool("ansible-doc"), f"pmem.optane.{module}"], env=ansible_env())
    assert result.returncode == 0, result.stderr
    assert f"pmem.optane.{module}" in result.stdout
    for heading in ("OPTIONS", "ATTRIBUTES", "EXAMPLES", "RETURN VALUES"):
        assert heading in result.stdout, f"{heading} missing from ansible-doc {module}"
    assert "[WARNING]" not in result.stderr, result.stderr


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_json_declares_attributes(module):
    result = run([tool("ansible-doc"), "--json", f"pmem.optane.{module}"], env=ansible_env())
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)[f"pmem.optane.{module}"]
    attributes = doc["doc"]["attributes"]
    for name in ("check_mode", "diff_mode", "idempotent"):
        assert name in attributes, f"{module} lacks attribute {name}"
        assert attributes[name]["support"] in ("full", "partial", "none", "N/A")
        assert attributes[name]["description"]
    assert doc["examples"].strip()
    assert doc["return"], f"{module} has no RETURN"


@pytest.mark.parametrize("name", ["namespaces_plan", "appdirect_state"])
def test_ansible_doc_renders_filters(name):
    result = run([tool("ansible-doc"), "-t", "filter", f"pmem.optane.{name}"], env=ansible_env())
    assert result.returncode == 0, result.stderr
    for heading in ("OPTIONS", "EXAMPLES", "RETURN VALUES"):
        assert heading in result.stdout, f"{heading} missing from ansible-doc -t filter {name}"
    assert "[WARNING]" not in result.stderr, result.stderr


def test_ansible_doc_renders_the_argument_lookup():
    result = run([tool("ansible-doc"), "-t", "lookup", "pmem.optane.role_argument_errors"], env=ansible_env())
    assert result.returncode == 0, result.stderr
    for heading in ("OPTIONS", "EXAMPLES", "RETURN VALUES"):
        assert heading in result.stdout, f"{heading} missing from ansible-doc -t lookup role_argument_errors"
    assert "rolespec_validate" in result.stdout
    assert "[WARNING]" not in result.stderr, result.stderr
