"""Make variants of the driver wheel for upgrade and rollback tests.

    python tests/lifecycle/wheels.py SOURCE.whl DEST_DIR VERSION [--broken]

writes DEST_DIR/pmem_optane_csi-VERSION-py3-none-any.whl: the same code under another version
number; with --broken its `optane-csi` exits 1 at once, so it can never answer Probe (the
forced probe failure of the rollback test). The VM scenario uses this too.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import zipfile
from pathlib import Path

BROKEN_MAIN = b'''"""Deliberately broken build, for rollback tests."""

import sys


def main(argv=None):
    print("optane-csi: this build is broken on purpose (rollback test)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
'''


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def make_variant(source: Path, dest_dir: Path, version: str, *, broken: bool = False) -> Path:
    """Copy `source` as `version` (dist-info renamed, METADATA and RECORD rewritten)."""
    match = re.match(r"^(?P<dist>[^-]+)-(?P<version>[^-]+)-(?P<tags>.+)\.whl$", source.name)
    if not match:
        raise ValueError(f"{source.name}: not a wheel file name")
    dist, old_version = match["dist"], match["version"]
    old_info, new_info = f"{dist}-{old_version}.dist-info/", f"{dist}-{version}.dist-info/"
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / f"{dist}-{version}-{match['tags']}.whl"
    entries: list[tuple[str, bytes]] = []
    with zipfile.ZipFile(source) as wheel:
        for info in wheel.infolist():
            name = info.filename
            data = wheel.read(info)
            if name.startswith(old_info):
                name = new_info + name[len(old_info) :]
            if name == new_info + "METADATA":
                data = re.sub(rb"(?m)^Version: .*$", f"Version: {version}".encode(), data, count=1)
            if broken and name.endswith("/__main__.py") and name.count("/") == 1:
                data = BROKEN_MAIN
            entries.append((name, data))
    record_name = new_info + "RECORD"
    lines = [_record_line(name, data) for name, data in entries if name != record_name]
    lines.append(f"{record_name},,")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, data in entries:
            if name == record_name:
                data = ("\n".join(lines) + "\n").encode()
            out.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest_dir", type=Path)
    parser.add_argument("version")
    parser.add_argument("--broken", action="store_true", help="optane-csi exits 1 at start")
    args = parser.parse_args()
    print(make_variant(args.source, args.dest_dir, args.version, broken=args.broken))


if __name__ == "__main__":
    main()
