"""Build steps the declarative config cannot express.

1. Generate the gRPC stubs (optane_csi/_gen) from proto/csi.proto.
2. Copy the collection's plugins/module_utils, byte for byte, into the wheel as
   optane_csi/_pmemlib: the driver and the Ansible modules share one library.
"""

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _codegen():
    spec = importlib.util.spec_from_file_location("_optane_codegen", HERE / "optane_csi" / "codegen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CODEGEN = _codegen()
# Stubs first: setuptools checks that every listed package directory exists.
CODEGEN.generate_stubs(HERE / "proto", HERE)


class BuildWithStubsAndLibrary(build_py):
    def run(self):
        super().run()
        library = CODEGEN.find_module_utils(HERE)
        target = Path(self.build_lib) / "optane_csi" / "_pmemlib"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for source in sorted(library.glob("*.py")):
            shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildWithStubsAndLibrary})
