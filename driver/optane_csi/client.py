"""Operator CLI: call any CSI RPC on a driver socket and print JSON (like csc).

optane-csi client --endpoint unix:///run/optane-csi/csi.sock Probe
optane-csi client --endpoint unix:///... CreateVolume '{"name": "pvc-1", ...}'
"""

from __future__ import annotations

import argparse
import json
import sys

import grpc
from google.protobuf import json_format

from ._gen import csi_pb2
from .config import ConfigError, parse_endpoint

SERVICES = ("Identity", "Controller", "Node", "GroupController")


def methods() -> dict[str, tuple[str, object, object]]:
    """RPC name -> (full method path, request class, response class)."""
    found = {}
    for service_name in SERVICES:
        service = csi_pb2.DESCRIPTOR.services_by_name[service_name]
        for method in service.methods:
            if method.server_streaming:
                continue
            request_cls = getattr(csi_pb2, method.input_type.name)
            response_cls = getattr(csi_pb2, method.output_type.name)
            found[method.name] = (f"/csi.v1.{service_name}/{method.name}", request_cls, response_cls)
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optane-csi client",
        description="Call one CSI RPC on a driver endpoint and print the response as JSON. "
        "Errors print {code, message} and exit 1.",
    )
    parser.add_argument(
        "--endpoint",
        required=True,
        help="driver endpoint, unix:///path/to.sock (or tcp://host:port)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the reply (default 60)"
    )
    parser.add_argument("--list", action="store_true", help="list the RPC names this client knows and exit")
    parser.add_argument("rpc", nargs="?", help="RPC name, e.g. Probe, CreateVolume, NodeStageVolume")
    parser.add_argument(
        "request",
        nargs="?",
        default="{}",
        help="request as JSON (proto field names, e.g. '{\"volume_id\": \"csi-...\"}'); '-' reads stdin",
    )
    return parser


def call(endpoint: str, rpc: str, request_json: str = "{}", timeout: float = 60.0) -> dict:
    """Call `rpc` and return the response as a dict; raises grpc.RpcError on failure."""
    known = methods()
    if rpc not in known:
        raise KeyError(rpc)
    path, request_cls, response_cls = known[rpc]
    request = json_format.Parse(request_json or "{}", request_cls())
    target = parse_endpoint(endpoint, allow_tcp=True).grpc_target
    with grpc.insecure_channel(target) as channel:
        stub = channel.unary_unary(
            path,
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        response = stub(request, timeout=timeout)
    return json_format.MessageToDict(response, preserving_proto_field_name=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        print("\n".join(sorted(methods())))
        return 0
    if not args.rpc:
        print("error: an RPC name is required (see --list)", file=sys.stderr)
        return 2
    text = sys.stdin.read() if args.request == "-" else args.request
    try:
        result = call(args.endpoint, args.rpc, text, args.timeout)
    except KeyError:
        print(f"error: unknown RPC {args.rpc!r}; known: {', '.join(sorted(methods()))}", file=sys.stderr)
        return 2
    except (json_format.ParseError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except grpc.RpcError as exc:
        print(json.dumps({"code": exc.code().name, "message": exc.details()}, indent=2))
        return 1
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0
