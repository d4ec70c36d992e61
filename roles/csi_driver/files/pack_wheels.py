"""Pack the wheels one host needs into a single uncompressed tar, on the controller.

    python3 pack_wheels.py ARCHIVE WHEEL [WHEEL ...]

One file to copy instead of one copy per wheel (each copy is several round trips to the
host). The archive is deterministic (sorted, zero times and owners) and written by rename,
so hosts of one platform that pack the same wheels in parallel forks cannot tear it.
"""

import os
import sys
import tarfile
import tempfile


def main(argv):
    archive, wheels = argv[1], sorted(argv[2:], key=os.path.basename)
    if not wheels:
        sys.stderr.write("pack_wheels: no wheels to pack\n")
        return 1
    directory = os.path.dirname(archive)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    try:
        with (
            os.fdopen(handle, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as tar,
        ):
            for wheel in wheels:
                info = tar.gettarinfo(wheel, arcname=os.path.basename(wheel))
                info.mtime = info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = 0o644
                with open(wheel, "rb") as source:
                    tar.addfile(info, source)
        os.chmod(temporary, 0o644)
        os.replace(temporary, archive)
    except BaseException:
        os.unlink(temporary)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
