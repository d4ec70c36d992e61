"""meta/argument_specs.yml is the source of truth: defaults and README follow it."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT

ROLES = ["appdirect", "namespaces"]


def spec_options(role: str) -> dict[str, dict]:
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES)
def test_defaults_repeat_the_spec_exactly(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    options = spec_options(role)
    # Options without a default (namespaces_state) stay undefined on purpose.
    assert set(defaults) == {name for name, option in options.items() if "default" in option}
    for name in defaults:
        assert defaults[name] == options[name]["default"], name


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_prefixed_and_documented(role):
    readme = (ROOT / "roles" / role / "README.md").read_text()
    headings = set(re.findall(r"^### (\S+)$", readme, flags=re.MULTILINE))
    options = spec_options(role)
    assert all(name.startswith(role + "_") for name in options)
    assert headings == set(options)


def test_layout_entry_keys_are_documented():
    readme = (ROOT / "roles" / "namespaces" / "README.md").read_text()
    entry = spec_options("namespaces")["namespaces_layout"]["options"]
    for key in entry:
        assert f"| `{key}` |" in readme, key


def test_roles_have_no_meta_dependencies_and_tag_every_task():
    for role in ROLES:
        meta = yaml.safe_load((ROOT / "roles" / role / "meta" / "main.yml").read_text())
        assert not meta.get("dependencies")
        tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
        assert all(f"pmem_{role}" in task.get("tags", []) for task in tasks), role
