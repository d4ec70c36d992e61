"""Namespace names shared by the namespaces role and the CSI driver."""

import hashlib
import re

# Every namespace the CSI driver creates is called csi-<40 hex>; the name is
# also the CSI volume id. Humans (the namespaces role) may not use the prefix.
DRIVER_NAMESPACE_PREFIX = "csi-"
VOLUME_ID_HEX_CHARS = 40
# The kernel stores a namespace name (alt_name) of up to 63 characters.
MAX_NAMESPACE_NAME_LENGTH = 63
_VOLUME_ID_RE = re.compile(re.escape(DRIVER_NAMESPACE_PREFIX) + "[0-9a-f]{%d}\\Z" % VOLUME_ID_HEX_CHARS)


def volume_id_for(csi_name: str) -> str:
    """Stable namespace name / volume id for a CSI volume name."""
    if not isinstance(csi_name, str) or not csi_name:
        raise ValueError("CSI volume name must be a non-empty string")
    digest = hashlib.sha256(csi_name.encode("utf-8")).hexdigest()
    return DRIVER_NAMESPACE_PREFIX + digest[:VOLUME_ID_HEX_CHARS]


def is_driver_namespace(name) -> bool:
    """True when ``name`` belongs to the CSI driver (never touched by the namespaces role)."""
    return isinstance(name, str) and name.startswith(DRIVER_NAMESPACE_PREFIX)


def is_volume_id(value) -> bool:
    """True when ``value`` has exactly the shape volume_id_for() produces."""
    return isinstance(value, str) and _VOLUME_ID_RE.match(value) is not None
