"""The role's interface: argument_specs is the source of truth for defaults and the README;
the removal guard uses the library's namespace prefix; ansible-lint's production profile."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from .conftest import ROLE_DIR, ROOT, VENV_BIN
from .simulation import naming

SPEC = yaml.safe_load((ROLE_DIR / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
OPTIONS = SPEC["options"]


def test_defaults_repeat_the_argument_spec_exactly():
    defaults = yaml.safe_load((ROLE_DIR / "defaults" / "main.yml").read_text())
    assert sorted(defaults) == sorted(OPTIONS)
    for name, option in OPTIONS.items():
        assert defaults[name] == option.get("default"), name


def test_every_variable_is_prefixed_and_documented():
    readme = (ROLE_DIR / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(csi_driver_\w+)` \| [^|]+ \| `([^`]*)` \|", readme, re.MULTILINE))
    assert sorted(rows) == sorted(OPTIONS)
    for name, option in OPTIONS.items():
        assert name.startswith("csi_driver_")
        assert option.get("description"), name
        default = option.get("default")
        if isinstance(default, str):
            assert rows[name] == (default or '""'), name
    # Internal variables carry the double underscore.
    internal = yaml.safe_load((ROLE_DIR / "vars" / "main.yml").read_text())
    assert all(key.startswith("__csi_driver_") for key in internal)


def test_role_prefix_is_the_library_prefix():
    internal = yaml.safe_load((ROLE_DIR / "vars" / "main.yml").read_text())
    assert internal["__csi_driver_namespace_prefix"] == naming.DRIVER_NAMESPACE_PREFIX


def test_handler_is_named_in_the_imperative_and_meta_has_no_dependencies():
    handlers = yaml.safe_load((ROLE_DIR / "handlers" / "main.yml").read_text())
    assert [h["name"] for h in handlers] == ["Restart optane-csi node plugin"]
    meta = yaml.safe_load((ROLE_DIR / "meta" / "main.yml").read_text())
    assert meta.get("dependencies", []) == []


@pytest.mark.slow
def test_ansible_lint_production_profile(collections_path):
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible-lint"),
            "--profile",
            "production",
            "--offline",
            "--nocolor",
            "roles/csi_driver",
            "playbooks/driver.yml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={
            "PATH": f"{VENV_BIN}:/usr/bin:/bin",
            "HOME": str(collections_path.parent),
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
