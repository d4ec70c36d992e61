"""Install one driver version on the host from the wheels the role shipped.

    python3 install_version.py ARCHIVE WHEEL_DIR VENV REQUIREMENT MARKER_TEXT

MARKER_TEXT names the version's wheels, a line "<sha1>  <file name>" each, after the
requirement line. ARCHIVE (an uncompressed tar of .whl files, nothing else) holds the ones
the host did not have; the others are taken from the host's other wheel directories (next to
WHEEL_DIR) once their SHA-1 matches. All of them land in a fresh WHEEL_DIR.

A fresh virtualenv VENV then gets REQUIREMENT (name==version) and the wheels it requires
(Requires-Dist, followed through the wheel directory; nothing is fetched), unpacked by PyPA's
`installer` (its wheel is among the shipped ones) into the venv in one process. pip is not
used: no resolver and no index are needed for a fixed set of wheels, and on a slow host pip's
start-up cost more than the installation itself. Bytecode is compiled at install time, so the
first start of the driver is not slowed by it.

The completion marker (MARKER_TEXT) is written last, so a failure at any step leaves a version
the role will install again rather than run.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile

MARKER = ".pmem-optane-installed"
INSTALLER_PROJECT = "installer"

# Runs inside the new venv: sysconfig is then the venv's, so the files land there.
INSTALL_SCRIPT = r"""
import os, sys, sysconfig
sys.path.insert(0, sys.argv[1])
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
for wheel in sys.argv[2:]:
    with WheelFile.open(wheel) as source:
        scheme = sysconfig.get_paths()
        # As pip does in a venv: headers inside it, never in the base Python's include dir.
        scheme["headers"] = os.path.join(
            sys.prefix, "include", "site", "python%d.%d" % sys.version_info[:2], source.distribution
        )
        destination = SchemeDictionaryDestination(
            scheme, interpreter=sys.executable, script_kind="posix", bytecode_optimization_levels=(0,)
        )
        install(source, destination, {"INSTALLER": b"pmem.optane.csi_driver\n"})
    print("installed " + os.path.basename(wheel))
"""


def fail(message):
    sys.stderr.write(f"install_version: {message}\n")
    sys.exit(1)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def sha1_of(path):
    digest = hashlib.sha1()  # noqa: S324 (the role's checksums are Ansible's SHA-1)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expected_wheels(marker_text):
    """{file name: sha1} from the marker's wheel lines."""
    wheels = {}
    # The role's templating may hand the separators over as a literal backslash-n.
    for line in [line for line in re.split(r"\n|\\n", marker_text) if line][1:]:
        checksum, _, name = line.partition("  ")
        plain_name = os.path.basename(name) == name and name.endswith(".whl")
        if not re.fullmatch(r"[0-9a-f]{40}", checksum) or not plain_name:
            fail(f"marker line {line!r} is not '<sha1>  <wheel file name>'")
        wheels[name] = checksum
    if not wheels:
        fail("the marker names no wheels")
    return wheels


def unpack_archive(archive, wheel_dir, expected):
    with tarfile.open(archive, "r:") as tar:
        for member in tar.getmembers():
            # Only plain files named in the marker: nothing may land outside wheel_dir.
            name = member.name
            if not member.isfile() or name not in expected:
                fail(f"{archive}: unexpected archive member {name!r}")
            source = tar.extractfile(member)
            target = os.path.join(wheel_dir, name)
            with open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            os.chmod(target, 0o644)
    os.unlink(archive)


def take_from_host(staging, wheel_dir, expected):
    """Fill in the wheels the archive left out from the host's wheel directories (the
    version's own one too: a rebuilt wheel of an installed version ships alone)."""
    parent = os.path.dirname(wheel_dir)
    others = sorted(
        os.path.join(parent, entry)
        for entry in os.listdir(parent)
        if os.path.join(parent, entry) != staging and os.path.isdir(os.path.join(parent, entry))
    )
    for name, checksum in sorted(expected.items()):
        target = os.path.join(staging, name)
        if os.path.exists(target):  # shipped in the archive
            if sha1_of(target) != checksum:
                fail(f"{name} does not have the SHA-1 the controller listed ({checksum})")
            continue
        for directory in others:
            candidate = os.path.join(directory, name)
            if not os.path.isfile(candidate) or os.path.islink(candidate):
                continue
            # The copy is what gets installed, so the copy is what is checked (once).
            shutil.copyfile(candidate, target)
            if sha1_of(target) == checksum:
                os.chmod(target, 0o644)
                break
            os.unlink(target)
        else:
            fail(f"{name} (sha1 {checksum}) was neither shipped nor found on the host")


def wheel_metadata(path):
    """(canonical project name, [(canonical required name, has marker)]) of a wheel."""
    with zipfile.ZipFile(path) as wheel:
        metadata = [n for n in wheel.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
        if len(metadata) != 1:
            fail(f"{os.path.basename(path)} has no single .dist-info/METADATA")
        text = wheel.read(metadata[0]).decode("utf-8", "replace")
    name, requires = "", []
    for line in text.split("\n\n", 1)[0].splitlines():
        key, _, value = line.partition(":")
        if key == "Name":
            name = canonical(value.strip())
        elif key == "Requires-Dist":
            requirement, _, marker = value.partition(";")
            if "extra" in marker:
                continue  # only for an extra nobody asked for
            project = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
            if project:
                requires.append((canonical(project.group(1)), bool(marker.strip())))
    return name, requires


def wheels_to_install(wheel_dir, requirement):
    """The requirement's wheel and everything it requires, in the wheel directory."""
    project, _, version = requirement.partition("==")
    by_project = {}
    for name in os.listdir(wheel_dir):
        if name.endswith(".whl"):
            by_project.setdefault(canonical(name.split("-")[0]), []).append(name)
    wanted = [n for n in by_project.get(canonical(project), []) if n.split("-")[1] == version]
    if len(wanted) != 1:
        fail(f"{wheel_dir} has {len(wanted)} wheels of {requirement}, not one")
    chosen, queue, seen = {}, [wanted[0]], {canonical(project)}
    while queue:
        path = os.path.join(wheel_dir, queue.pop())
        name, requires = wheel_metadata(path)
        chosen[name] = path
        for required, conditional in requires:
            if required in seen:
                continue
            seen.add(required)
            candidates = by_project.get(required, [])
            if len(candidates) > 1:
                fail(f"{wheel_dir} has several wheels of {required}: {', '.join(sorted(candidates))}")
            if candidates:
                queue.append(candidates[0])
            elif not conditional:
                fail(f"{os.path.basename(path)} requires {required}, and no wheel of it was shipped")
    return sorted(chosen.values())


def main(argv):
    if len(argv) != 6:
        fail("usage: install_version.py ARCHIVE WHEEL_DIR VENV REQUIREMENT MARKER_TEXT")
    archive, wheel_dir, venv_dir, requirement, marker_text = argv[1:]
    for path in (archive, wheel_dir, venv_dir):
        if not os.path.isabs(path):
            fail(f"{path!r} is not an absolute path")
    expected = expected_wheels(marker_text)

    # Assembled next to WHEEL_DIR, then put in its place: the old one may hold wheels we need.
    staging = wheel_dir + ".new"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging, mode=0o755)
    if os.path.exists(archive):
        unpack_archive(archive, staging, expected)
    take_from_host(staging, wheel_dir, expected)
    shutil.rmtree(wheel_dir, ignore_errors=True)
    os.rename(staging, wheel_dir)

    installer_wheels = [n for n in expected if canonical(n.split("-")[0]) == INSTALLER_PROJECT]
    if len(installer_wheels) != 1:
        fail("the wheelhouse needs exactly one wheel of PyPA's installer (installer-*.whl)")
    wheels = [
        wheel
        for wheel in wheels_to_install(wheel_dir, requirement)
        if os.path.basename(wheel) not in installer_wheels
    ]

    shutil.rmtree(venv_dir, ignore_errors=True)
    venv.EnvBuilder(with_pip=False, symlinks=True).create(venv_dir)
    python = os.path.join(venv_dir, "bin", "python")
    with tempfile.TemporaryDirectory(prefix="pmem-optane-installer-") as tool_dir:
        with zipfile.ZipFile(os.path.join(wheel_dir, installer_wheels[0])) as tool:
            # zipfile drops absolute and ".." parts of member names.
            tool.extractall(tool_dir)  # noqa: S202
        result = subprocess.run(
            [python, "-I", "-c", INSTALL_SCRIPT, tool_dir, *wheels],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, LANG="C"),
            check=False,
        )
    sys.stdout.write(result.stdout.decode("utf-8", "replace"))
    if result.returncode != 0:
        fail(f"could not install {requirement} from {wheel_dir} (exit {result.returncode})")

    temporary = os.path.join(venv_dir, MARKER + ".tmp")
    with open(temporary, "w") as marker:
        marker.write(marker_text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, os.path.join(venv_dir, MARKER))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
