"""CSI Identity service."""

from __future__ import annotations

from google.protobuf import wrappers_pb2

from . import __version__
from ._gen import csi_pb2, csi_pb2_grpc


class IdentityService(csi_pb2_grpc.IdentityServicer):
    def __init__(self, driver) -> None:
        self.driver = driver

    def GetPluginInfo(self, request, context):
        return csi_pb2.GetPluginInfoResponse(
            name=self.driver.config.driver_name,
            vendor_version=__version__,
            manifest={"csi-spec": self.driver.csi_spec, "mode": self.driver.config.mode},
        )

    def GetPluginCapabilities(self, request, context):
        return self.driver.capabilities.plugin_response()

    def Probe(self, request, context):
        # Ready once the library can list regions; tool failures become error codes.
        ready = self.driver.probe()
        return csi_pb2.ProbeResponse(ready=wrappers_pb2.BoolValue(value=ready))
