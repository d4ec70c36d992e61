"""One Config for the whole driver, validated once at start."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field

MODES = ("all", "controller", "node")
DAX_POLICIES = ("auto", "always", "never")
DEFAULT_DRIVER_NAME = "optane.csi.pmem.io"
DEFAULT_ENDPOINT = "unix:///run/optane-csi/csi.sock"
DEFAULT_KUBELET_DIR = "/var/lib/kubelet"
DEFAULT_STATE_DIR = "/var/lib/optane-csi"

# Driver name: DNS style (RFC 1035 labels), lower case so it can prefix topology keys.
_DRIVER_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
# Topology segment values (the node id is one): 63 chars, alnum ends, -_. inside.
_TOPOLOGY_VALUE_RE = re.compile(r"^[A-Za-z0-9]([-_.A-Za-z0-9]{0,61}[A-Za-z0-9])?$")


class ConfigError(ValueError):
    """A flag has a value the driver refuses to start with."""

    def __init__(self, flag: str, rule: str) -> None:
        self.flag = flag
        self.rule = rule
        super().__init__(f"{flag}: {rule}")


@dataclass(frozen=True)
class Endpoint:
    scheme: str  # "unix" or "tcp"
    address: str  # socket path, or host:port

    @property
    def grpc_target(self) -> str:
        return f"unix:{self.address}" if self.scheme == "unix" else self.address


def parse_endpoint(value: str, *, allow_tcp: bool = False) -> Endpoint:
    if value.startswith("unix://"):
        path = value[len("unix://") :]
        if not path.startswith("/") or os.path.normpath(path) != path:
            raise ConfigError(
                "--endpoint", "unix socket path must be absolute and normalised (unix:///dir/x.sock)"
            )
        return Endpoint("unix", path)
    if value.startswith("tcp://"):
        if not allow_tcp:
            raise ConfigError("--endpoint", "TCP endpoints are refused unless --allow-tcp is given")
        hostport = value[len("tcp://") :]
        if not re.match(r"^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$", hostport):
            raise ConfigError("--endpoint", "expected tcp://host:port")
        return Endpoint("tcp", hostport)
    raise ConfigError("--endpoint", "must start with unix:// (or tcp:// with --allow-tcp)")


def validate_driver_name(name: str) -> str:
    if not _DRIVER_NAME_RE.match(name or ""):
        raise ConfigError(
            "--driver-name",
            "must be DNS style: at most 63 lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit",
        )
    return name


def _validate_dir(flag: str, value: str) -> str:
    if not value.startswith("/") or os.path.normpath(value) != value or value == "/":
        raise ConfigError(flag, f"must be an absolute, normalised directory other than / (got {value!r})")
    return value


@dataclass(frozen=True)
class Config:
    endpoint: str = DEFAULT_ENDPOINT
    mode: str = "all"
    driver_name: str = DEFAULT_DRIVER_NAME
    node_id: str = field(default_factory=socket.gethostname)
    # Directories the CO may name as staging/target paths (allow-list).
    kubelet_dirs: tuple[str, ...] = (DEFAULT_KUBELET_DIR,)
    # Where namespace block devices appear (the simulator uses its own directory).
    dev_dir: str = "/dev"
    # Write-ahead marks of volumes that are created but not yet erased.
    state_dir: str = DEFAULT_STATE_DIR
    ndctl: str = "ndctl"
    dax: str = "auto"
    attach: bool = False
    max_volumes_per_node: int = 0
    default_volume_bytes: int = 1 << 30
    lock_path: str | None = None
    lock_timeout: float = 60.0
    tool_timeout: float = 120.0
    socket_mode: int = 0o600
    allow_tcp: bool = False
    workers: int = 16
    log_level: str = "info"

    @property
    def parsed_endpoint(self) -> Endpoint:
        return parse_endpoint(self.endpoint, allow_tcp=self.allow_tcp)

    @property
    def topology_key(self) -> str:
        return f"{self.driver_name}/node"

    @property
    def serves_controller(self) -> bool:
        return self.mode in ("all", "controller")

    @property
    def serves_node(self) -> bool:
        return self.mode in ("all", "node")

    def validate(self) -> Config:
        self.parsed_endpoint  # noqa: B018 - raises ConfigError on a bad endpoint
        if self.mode not in MODES:
            raise ConfigError("--mode", f"must be one of {', '.join(MODES)}")
        validate_driver_name(self.driver_name)
        if not _TOPOLOGY_VALUE_RE.match(self.node_id or ""):
            raise ConfigError(
                "--node-id",
                "must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            )
        if not self.kubelet_dirs:
            raise ConfigError("--kubelet-dir", "at least one directory is required")
        for directory in self.kubelet_dirs:
            _validate_dir("--kubelet-dir", directory)
        _validate_dir("--dev-dir", self.dev_dir)
        _validate_dir("--state-dir", self.state_dir)
        if self.dax not in DAX_POLICIES:
            raise ConfigError("--dax", f"must be one of {', '.join(DAX_POLICIES)}")
        if self.max_volumes_per_node < 0:
            raise ConfigError("--max-volumes-per-node", "must be >= 0")
        if self.default_volume_bytes <= 0:
            raise ConfigError("--default-volume-size", "must be > 0")
        if self.lock_timeout <= 0 or self.tool_timeout <= 0:
            raise ConfigError("--lock-timeout/--tool-timeout", "must be > 0")
        if not 0 <= self.socket_mode <= 0o777:
            raise ConfigError("--socket-mode", "must be an octal permission such as 0600")
        if self.workers < 1:
            raise ConfigError("--workers", "must be >= 1")
        return self
