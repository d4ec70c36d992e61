"""gRPC health checking (grpc.health.v1), tied to the CSI Probe result."""

from __future__ import annotations

from grpc_health.v1 import health, health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Health:
    def __init__(self) -> None:
        self.servicer = health.HealthServicer()
        self.set(False)

    def register(self, server) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, server)

    def set(self, ready: bool) -> None:
        status = SERVING if ready else NOT_SERVING
        for service in ("", "csi.v1.Identity"):
            self.servicer.set(service, status)

    def shutdown(self) -> None:
        self.servicer.enter_graceful_shutdown()
