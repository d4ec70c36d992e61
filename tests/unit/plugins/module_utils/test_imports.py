"""Library hygiene: stdlib only, no subprocess anywhere under plugins/, Python 3.8 syntax."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
PLUGINS = ROOT / "plugins"
MODULE_UTILS = PLUGINS / "module_utils"
STDLIB = set(getattr(sys, "stdlib_module_names", ()))


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.module or "", node.level


ALL_PLUGIN_FILES = sorted(PLUGINS.rglob("*.py"))


@pytest.mark.parametrize("path", ALL_PLUGIN_FILES, ids=[str(p.relative_to(ROOT)) for p in ALL_PLUGIN_FILES])
def test_no_subprocess_under_plugins(path):
    for lineno, name, _level in _imports(path):
        assert name.split(".")[0] != "subprocess", f"{path}:{lineno} imports subprocess"
    text = path.read_text()
    assert "os.system(" not in text and "os.popen(" not in text and "shell=True" not in text


LIB_FILES = sorted(MODULE_UTILS.glob("*.py"))


@pytest.mark.parametrize("path", LIB_FILES, ids=[p.name for p in LIB_FILES])
def test_module_utils_imports_only_stdlib_and_siblings(path):
    assert STDLIB, "needs Python 3.10+ to know the stdlib list"
    for lineno, name, level in _imports(path):
        if level:  # relative import of a sibling
            continue
        top = name.split(".")[0]
        if path.name == "ansible_runner.py" and top == "ansible":
            continue
        assert top in STDLIB, f"{path.name}:{lineno} imports non-stdlib {name}"
        assert top != "ansible", f"{path.name}:{lineno}: only ansible_runner.py may import ansible"


@pytest.mark.parametrize("path", LIB_FILES, ids=[p.name for p in LIB_FILES])
def test_module_utils_parses_as_python38(path):
    tree = ast.parse(path.read_text(), filename=str(path), feature_version=(3, 8))
    for node in ast.walk(tree):
        assert not isinstance(node, ast.Match), f"{path.name} uses match"
        # PEP 604 unions evaluated at runtime (annotations included: 3.8 evaluates them).
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            for side in (node.left, node.right):
                assert not (
                    isinstance(side, ast.Name) and side.id in {"str", "int", "None", "bytes", "float"}
                ), f"{path.name}:{node.lineno} uses X | Y types"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            assert node.value.id not in {"list", "dict", "tuple", "set", "frozenset", "type"}, (
                f"{path.name}:{node.lineno} uses builtin generics (3.9+)"
            )
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            pytest.fail(f"{path.name}: no __future__ imports in module_utils")
