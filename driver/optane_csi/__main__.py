"""optane-csi: flags only; serving lives in server.py, the operator client in client.py."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from . import CSI_SPEC_VERSION, __version__
from . import logging as log
from .config import (
    DAX_POLICIES,
    DEFAULT_DRIVER_NAME,
    DEFAULT_ENDPOINT,
    DEFAULT_KUBELET_DIR,
    DEFAULT_STATE_DIR,
    MODES,
    Config,
    ConfigError,
)


def _size(text: str) -> int:
    from .volumes import sizes

    return sizes.parse_size(text, "--default-volume-size")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optane-csi",
        description=f"CSI driver (spec v{CSI_SPEC_VERSION}) for Intel Optane persistent memory: "
        "volumes are PMem namespaces on this node. "
        "Run `optane-csi client --help` for the operator client that calls any RPC.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"optane-csi {__version__} (CSI {CSI_SPEC_VERSION})"
    )
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("CSI_ENDPOINT", DEFAULT_ENDPOINT),
        help="where to serve: unix:///path.sock (env CSI_ENDPOINT); tcp://host:port needs --allow-tcp",
    )
    parser.add_argument(
        "--allow-tcp", action="store_true", help="permit a tcp:// endpoint (unauthenticated!)"
    )
    parser.add_argument("--socket-mode", default="0600", help="permissions of the unix socket, octal")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="all",
        help="services to serve: all (controller+node, the headless default), controller, or node",
    )
    parser.add_argument(
        "--driver-name",
        default=DEFAULT_DRIVER_NAME,
        help="CSI driver name (DNS style); also the topology key prefix",
    )
    parser.add_argument(
        "--node-id",
        default=os.environ.get("KUBE_NODE_NAME") or socket.gethostname(),
        help="this node's id (env KUBE_NODE_NAME, else the hostname)",
    )
    parser.add_argument(
        "--kubelet-dir",
        action="append",
        dest="kubelet_dirs",
        metavar="DIR",
        help=f"directory that staging/target paths must lie in; repeatable (default {DEFAULT_KUBELET_DIR})",
    )
    parser.add_argument(
        "--dev-dir", default="/dev", help="directory holding the namespaces' block devices (pmemX)"
    )
    parser.add_argument(
        "--state-dir",
        default=DEFAULT_STATE_DIR,
        help="directory for write-ahead erase marks (keep it on the host, e.g. a hostPath)",
    )
    parser.add_argument("--ndctl", default="ndctl", help="ndctl binary (name on PATH or absolute path)")
    parser.add_argument(
        "--dax",
        choices=DAX_POLICIES,
        default="auto",
        help="mount fsdax volumes with dax=always: auto = when the device supports DAX, always, never",
    )
    parser.add_argument(
        "--enable-attach",
        dest="attach",
        action="store_true",
        help="serve ControllerPublish/Unpublish (CSIDriver attachRequired: true)",
    )
    parser.add_argument(
        "--max-volumes-per-node", type=int, default=0, help="reported in NodeGetInfo; 0 = no limit"
    )
    parser.add_argument(
        "--default-volume-size",
        type=_size,
        default=1 << 30,
        help="size when CreateVolume gives no capacity_range (e.g. 1G)",
    )
    parser.add_argument(
        "--lock-path", default=None, help="host lock file (default: the library's, env PMEM_OPTANE_LOCK)"
    )
    parser.add_argument(
        "--lock-timeout", type=float, default=60.0, help="seconds to wait for a lock before ABORTED"
    )
    parser.add_argument(
        "--tool-timeout", type=float, default=120.0, help="seconds before a tool call is killed"
    )
    parser.add_argument("--workers", type=int, default=16, help="gRPC worker threads")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="JSON log level (stderr)",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    try:
        socket_mode = int(args.socket_mode, 8)
    except ValueError:
        raise ConfigError("--socket-mode", "must be octal, e.g. 0600") from None
    return Config(
        endpoint=args.endpoint,
        mode=args.mode,
        driver_name=args.driver_name,
        node_id=args.node_id,
        kubelet_dirs=tuple(args.kubelet_dirs or (DEFAULT_KUBELET_DIR,)),
        dev_dir=args.dev_dir,
        state_dir=args.state_dir,
        ndctl=args.ndctl,
        dax=args.dax,
        attach=args.attach,
        max_volumes_per_node=args.max_volumes_per_node,
        default_volume_bytes=args.default_volume_size,
        lock_path=args.lock_path,
        lock_timeout=args.lock_timeout,
        tool_timeout=args.tool_timeout,
        socket_mode=socket_mode,
        allow_tcp=args.allow_tcp,
        workers=args.workers,
        log_level=args.log_level,
    ).validate()


def _skip_openssl() -> None:
    """Keep OpenSSL (libcrypto/libssl, ~3.7 MiB resident) out of the serving process.

    The driver serves plain gRPC on a unix socket, and gRPC brings its own TLS. Only two
    imports would load OpenSSL: asyncio (imported by grpc) takes ssl if it is there and
    copes without it, and hashlib falls back to its built-in sha256 for volume ids.
    """
    for name in ("ssl", "_ssl", "_hashlib"):
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "client":
        from .client import main as client_main

        return client_main(argv[1:])
    _skip_openssl()
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"optane-csi: {exc}", file=sys.stderr)
        return 2
    log.setup(config.log_level)
    from .server import serve

    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
