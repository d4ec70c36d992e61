"""Install one driver version on the host from the wheel archive the role copied there.

    python3 install_version.py ARCHIVE WHEEL_DIR VENV REQUIREMENT MARKER_TEXT

Unpacks ARCHIVE (an uncompressed tar of .whl files, nothing else) into a fresh WHEEL_DIR,
builds a fresh virtualenv VENV and installs REQUIREMENT (name==version) into it with pip
from WHEEL_DIR only (no package index), then writes MARKER_TEXT to VENV's completion
marker. The marker is written last, so a failure at any step leaves a version the role
will install again rather than run.

pip comes from the archive too, unpacked to a temporary directory: running it straight
from its wheel makes Python recompile pip's sources on every import, which on a slow host
costs more than the installation itself.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile

MARKER = ".pmem-optane-installed"


def fail(message):
    sys.stderr.write(f"install_version: {message}\n")
    sys.exit(1)


def unpack_wheels(archive, wheel_dir):
    shutil.rmtree(wheel_dir, ignore_errors=True)
    os.makedirs(wheel_dir, mode=0o755)
    with tarfile.open(archive, "r:") as tar:
        for member in tar.getmembers():
            # Only plain files with plain names: nothing may land outside wheel_dir.
            name = member.name
            if not member.isfile() or os.path.basename(name) != name or not name.endswith(".whl"):
                fail(f"{archive}: unexpected archive member {name!r}")
            source = tar.extractfile(member)
            target = os.path.join(wheel_dir, name)
            with open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            os.chmod(target, 0o644)
    os.unlink(archive)
    return sorted(os.listdir(wheel_dir))


def main(argv):
    if len(argv) != 6:
        fail("usage: install_version.py ARCHIVE WHEEL_DIR VENV REQUIREMENT MARKER_TEXT")
    archive, wheel_dir, venv_dir, requirement, marker_text = argv[1:]
    for path in (archive, wheel_dir, venv_dir):
        if not os.path.isabs(path):
            fail(f"{path!r} is not an absolute path")

    wheels = unpack_wheels(archive, wheel_dir)
    pip_wheels = [name for name in wheels if name.startswith("pip-")]
    if not pip_wheels:
        fail("the wheelhouse has no pip wheel (pip-*.whl): add one, the host needs no pip of its own")

    shutil.rmtree(venv_dir, ignore_errors=True)
    venv.EnvBuilder(with_pip=False, symlinks=True).create(venv_dir)
    python = os.path.join(venv_dir, "bin", "python")

    with tempfile.TemporaryDirectory(prefix="pmem-optane-pip-") as pip_dir:
        with zipfile.ZipFile(os.path.join(wheel_dir, pip_wheels[-1])) as pip_zip:
            # zipfile drops absolute and ".." parts of member names.
            pip_zip.extractall(pip_dir)  # noqa: S202
        command = [
            python,
            os.path.join(pip_dir, "pip"),
            "install",
            "--isolated",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--find-links",
            wheel_dir,
            requirement,
        ]
        result = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, LANG="C"),
            check=False,
        )
    sys.stdout.write(result.stdout.decode("utf-8", "replace"))
    if result.returncode != 0:
        fail(f"pip could not install {requirement} from {wheel_dir} (exit {result.returncode})")

    temporary = os.path.join(venv_dir, MARKER + ".tmp")
    with open(temporary, "w") as marker:
        marker.write(marker_text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, os.path.join(venv_dir, MARKER))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
