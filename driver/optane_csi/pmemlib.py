"""The single import point for the collection's PMem library (plugins/module_utils).

The driver does not fork the library: an installed wheel carries the files
unchanged as optane_csi/_pmemlib/, and a development checkout loads them straight
from ../plugins/module_utils. Either way they become the package
``optane_csi._pmemlib``, so their relative imports (``from .errors import ...``)
resolve among themselves. Set OPTANE_CSI_PMEMLIB to a directory to override.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

PACKAGE = "optane_csi._pmemlib"
_HERE = Path(__file__).resolve().parent


def library_dir() -> Path:
    """Directory whose .py files are the library this process runs."""
    override = os.environ.get("OPTANE_CSI_PMEMLIB")
    if override:
        return Path(override).resolve()
    bundled = _HERE / "_pmemlib"
    if (bundled / "naming.py").is_file():
        return bundled
    checkout = _HERE.parent.parent / "plugins" / "module_utils"
    if (checkout / "naming.py").is_file():
        return checkout
    raise ImportError(
        "PMem library not found: neither optane_csi/_pmemlib nor ../plugins/module_utils exists"
    )


def _package() -> ModuleType:
    existing = sys.modules.get(PACKAGE)
    if existing is not None:
        return existing
    directory = library_dir()
    spec = importlib.machinery.ModuleSpec(PACKAGE, None, is_package=True)
    spec.submodule_search_locations = [str(directory)]
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [str(directory)]
    sys.modules[PACKAGE] = package
    return package


def load(name: str) -> ModuleType:
    """Import one library module, e.g. load("ndctl")."""
    _package()
    return importlib.import_module(f"{PACKAGE}.{name}")


def loaded_files() -> dict[str, Path]:
    """Library modules imported so far, by module name, with the file each came from."""
    prefix = PACKAGE + "."
    files: dict[str, Path] = {}
    for name, module in list(sys.modules.items()):
        if name.startswith(prefix) and getattr(module, "__file__", None):
            files[name[len(prefix) :]] = Path(module.__file__)
    return files


errors = load("errors")
naming = load("naming")
runner = load("runner")
