"""Checks for paths the CO sends: the driver runs as root, so every path is hostile.

A staging or target path must be absolute, normalised (no '.', '..', '//' or
trailing '/'), free of NUL, inside one of the allowed directories (--kubelet-dir),
and must not escape them through a symlink.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from .errors import InvalidArgument

MAX_PATH_BYTES = 4096


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def check_path(value: str, field: str, allowed_roots: Sequence[str]) -> str:
    """Validate a CO path textually and against symlink escapes; returns it unchanged."""
    if not value:
        raise InvalidArgument(field, "is required")
    if "\x00" in value or len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise InvalidArgument(field, "must not contain NUL and must be shorter than 4096 bytes")
    if not value.startswith("/"):
        raise InvalidArgument(field, "must be an absolute path")
    if os.path.normpath(value) != value or "/../" in value + "/" or "/./" in value + "/":
        raise InvalidArgument(field, "must be normalised (no '.', '..', '//' or trailing '/')")
    roots = [r for r in allowed_roots if _under(value, r) and value != r]
    if not roots:
        raise InvalidArgument(field, f"must lie inside the allowed directories ({', '.join(allowed_roots)})")
    # The deepest existing ancestor, resolved, must still be inside a resolved root:
    # a symlinked component must not lead out of the allowed tree.
    parent = os.path.dirname(value)
    probe = parent
    while not os.path.lexists(probe) and probe != "/":
        probe = os.path.dirname(probe)
    real_parent = os.path.realpath(probe)
    if not any(_under(real_parent, os.path.realpath(r)) for r in roots):
        raise InvalidArgument(field, "resolves outside the allowed directories (symlink)")
    try:
        st = os.lstat(value)
    except FileNotFoundError:
        return value
    if stat.S_ISLNK(st.st_mode):
        raise InvalidArgument(field, "must not be a symlink")
    return value
