"""Flags, config validation and the operator client's argument handling."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from optane_csi.__main__ import build_parser, config_from_args
from optane_csi.client import methods
from optane_csi.config import Config, ConfigError, parse_endpoint, validate_driver_name

PY = sys.executable


def test_help_documents_every_flag():
    out = subprocess.run(
        [PY, "-m", "optane_csi", "--help"], capture_output=True, text=True, check=True
    ).stdout
    parser = build_parser()
    flags = [opt for action in parser._actions for opt in action.option_strings if opt.startswith("--")]
    assert len(flags) >= 20
    for flag in flags:
        assert flag in out, flag
    # Every flag carries a help text (argparse prints "None" nowhere, and no empty help).
    for action in parser._actions:
        assert action.help, action.option_strings


def test_client_help_and_rpc_list():
    out = subprocess.run(
        [PY, "-m", "optane_csi", "client", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for flag in ("--endpoint", "--timeout", "--list"):
        assert flag in out
    listed = subprocess.run(
        [PY, "-m", "optane_csi", "client", "--endpoint", "unix:///x.sock", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rpc in ("Probe", "CreateVolume", "NodeStageVolume", "ControllerGetVolume", "GetCapacity"):
        assert rpc in listed
    assert set(listed) == set(methods())


def test_defaults_validate():
    args = build_parser().parse_args(["--node-id", "worker-1"])
    config = config_from_args(args)
    assert config.endpoint.startswith("unix:///")
    assert config.socket_mode == 0o600
    assert config.kubelet_dirs == ("/var/lib/kubelet",)
    assert config.topology_key == "optane.csi.pmem.io/node"
    assert config.serves_controller and config.serves_node


@pytest.mark.parametrize(
    ("flags", "flag_named"),
    [
        (["--endpoint", "tcp://127.0.0.1:9000"], "--endpoint"),
        (["--endpoint", "unix://relative.sock"], "--endpoint"),
        (["--endpoint", "unix:///a/../b.sock"], "--endpoint"),
        (["--endpoint", "http://x"], "--endpoint"),
        (["--driver-name", "Bad_Name"], "--driver-name"),
        (["--driver-name=-starts-with-dash.io"], "--driver-name"),
        (["--driver-name", "a" * 64], "--driver-name"),
        (["--node-id", "bad node"], "--node-id"),
        (["--kubelet-dir", "relative/dir"], "--kubelet-dir"),
        (["--kubelet-dir", "/"], "--kubelet-dir"),
        (["--dev-dir", "/dev/../etc"], "--dev-dir"),
        (["--socket-mode", "rw"], "--socket-mode"),
        (["--max-volumes-per-node", "-1"], "--max-volumes-per-node"),
    ],
)
def test_bad_flags_are_refused_naming_the_flag(flags, flag_named):
    with pytest.raises(ConfigError) as info:
        config_from_args(build_parser().parse_args(["--node-id", "n1", *flags]))
    assert info.value.flag.startswith(flag_named)


def test_bad_flag_exits_2_with_message():
    done = subprocess.run(
        [PY, "-m", "optane_csi", "--driver-name", "UPPER", "--node-id", "n"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--driver-name" in done.stderr and "DNS" in done.stderr


def test_tcp_only_when_explicitly_allowed():
    with pytest.raises(ConfigError):
        parse_endpoint("tcp://127.0.0.1:10000")
    assert parse_endpoint("tcp://127.0.0.1:10000", allow_tcp=True).grpc_target == "127.0.0.1:10000"
    config = Config(endpoint="tcp://127.0.0.1:0", allow_tcp=True, node_id="n").validate()
    assert config.parsed_endpoint.scheme == "tcp"


@pytest.mark.parametrize("name", ["optane.csi.pmem.io", "a", "pmem-csi.example.com", "x1.y2"])
def test_good_driver_names(name):
    assert validate_driver_name(name) == name


def test_modes():
    for mode, controller, node in (("all", True, True), ("controller", True, False), ("node", False, True)):
        config = Config(mode=mode, node_id="n").validate()
        assert (config.serves_controller, config.serves_node) == (controller, node)
    assert re.match(r"^[a-z.]+/node$", Config(node_id="n").topology_key)
