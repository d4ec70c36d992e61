"""Hostile staging/target paths are rejected before anything touches the host."""

from __future__ import annotations

import os

import pytest
from optane_csi.errors import InvalidArgument
from optane_csi.paths import check_path


@pytest.fixture
def root(tmp_path):
    allowed = tmp_path / "kubelet"
    (allowed / "pods" / "p1").mkdir(parents=True)
    return allowed


@pytest.mark.parametrize(
    "suffix",
    [
        "/pods/p1/../../../etc",  # dot-dot
        "/pods/./p1/mount",  # dot
        "/pods//p1/mount",  # double slash
        "/pods/p1/mount/",  # trailing slash
        "/pods/p1/mo\x00unt",  # NUL
    ],
)
def test_unnormalised_paths_rejected(root, suffix):
    with pytest.raises(InvalidArgument) as info:
        check_path(str(root) + suffix, "target_path", [str(root)])
    assert info.value.field == "target_path"


@pytest.mark.parametrize("value", ["", "relative/path", "/etc/passwd", "/var/lib/kubelet-evil/x", "/"])
def test_outside_or_missing_rejected(root, value):
    with pytest.raises(InvalidArgument):
        check_path(value, "staging_target_path", [str(root)])


def test_root_itself_is_not_a_valid_target(root):
    with pytest.raises(InvalidArgument):
        check_path(str(root), "target_path", [str(root)])


def test_prefix_trick_rejected(root):
    sibling = str(root) + "-other"
    os.makedirs(sibling + "/x")
    with pytest.raises(InvalidArgument):
        check_path(sibling + "/x/mount", "target_path", [str(root)])


def test_symlink_component_escaping_is_rejected(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "pods" / "link").symlink_to(outside)
    with pytest.raises(InvalidArgument) as info:
        check_path(str(root / "pods" / "link" / "mount"), "target_path", [str(root)])
    assert "symlink" in info.value.rule


def test_symlink_target_itself_is_rejected(root, tmp_path):
    (root / "pods" / "p1" / "mount").symlink_to(tmp_path)
    with pytest.raises(InvalidArgument):
        check_path(str(root / "pods" / "p1" / "mount"), "target_path", [str(root)])


def test_good_paths_pass(root):
    good = str(root / "pods" / "p1" / "volumes" / "mount")
    assert check_path(good, "target_path", [str(root)]) == good
    assert check_path(str(root / "pods" / "p1"), "target_path", ["/elsewhere", str(root)])
