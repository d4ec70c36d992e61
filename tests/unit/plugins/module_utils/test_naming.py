import hashlib

import pytest

from plugins.module_utils.naming import (
    DRIVER_NAMESPACE_PREFIX,
    MAX_NAMESPACE_NAME_LENGTH,
    is_driver_namespace,
    is_volume_id,
    volume_id_for,
)


def test_volume_id_shape_and_stability():
    vid = volume_id_for("pvc-0d2c0f5e-1111-2222-3333-444455556666")
    assert vid.startswith(DRIVER_NAMESPACE_PREFIX) and len(vid) == 44 <= MAX_NAMESPACE_NAME_LENGTH
    assert vid == "csi-" + hashlib.sha256(b"pvc-0d2c0f5e-1111-2222-3333-444455556666").hexdigest()[:40]
    assert vid == volume_id_for("pvc-0d2c0f5e-1111-2222-3333-444455556666")
    assert vid != volume_id_for("pvc-other")
    assert is_volume_id(vid) and is_driver_namespace(vid)


@pytest.mark.parametrize("name,driver", [("csi-abc", True), ("web", False), (None, False), ("CSI-x", False)])
def test_is_driver_namespace(name, driver):
    assert is_driver_namespace(name) is driver


def test_volume_id_rejects_empty():
    with pytest.raises(ValueError):
        volume_id_for("")
    assert not is_volume_id("csi-xyz")
