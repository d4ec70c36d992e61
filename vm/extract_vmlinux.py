"""Extract the uncompressed ELF kernel from an x86 bzImage (for QEMU PVH boot).

Usage: python3 extract_vmlinux.py <vmlinuz> <vmlinux>
"""

from __future__ import annotations

import gzip
import lzma
import struct
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
XZ_MAGIC = b"\xfd7zXZ\x00"
GZIP_MAGIC = b"\x1f\x8b\x08"


def payload(image: bytes) -> bytes:
    """Return the compressed kernel named by the boot protocol header (2.08+)."""
    if image[0x202:0x206] != b"HdrS":
        raise ValueError("not a bzImage: no 'HdrS' boot header")
    setup_sects = image[0x1F1] or 4
    offset, length = struct.unpack_from("<II", image, 0x248)
    start = (setup_sects + 1) * 512 + offset
    return image[start : start + length]


def decompress(data: bytes) -> bytes:
    if data.startswith(XZ_MAGIC):
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    if data.startswith(GZIP_MAGIC):
        return gzip.decompress(data)
    raise ValueError(f"unsupported kernel compression (magic {data[:6].hex()}); add it here")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    kernel = decompress(payload(Path(argv[1]).read_bytes()))
    if not kernel.startswith(ELF_MAGIC):
        print("extract_vmlinux: the payload is not an ELF image", file=sys.stderr)
        return 1
    Path(argv[2]).write_bytes(kernel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
