"""Capability lists, declared once from Config; RPCs check themselves with require()."""

from __future__ import annotations

from ._gen import csi_pb2
from .config import Config
from .errors import Unimplemented

ControllerRPC = csi_pb2.ControllerServiceCapability.RPC
NodeRPC = csi_pb2.NodeServiceCapability.RPC
PluginService = csi_pb2.PluginCapability.Service
AccessMode = csi_pb2.VolumeCapability.AccessMode

# A namespace lives on one host: only single-node access modes can be honoured.
SUPPORTED_ACCESS_MODES = frozenset({AccessMode.SINGLE_NODE_WRITER, AccessMode.SINGLE_NODE_READER_ONLY})


class Capabilities:
    def __init__(self, config: Config) -> None:
        plugin = []
        if config.serves_controller:
            plugin.append(PluginService.CONTROLLER_SERVICE)
        plugin.append(PluginService.VOLUME_ACCESSIBILITY_CONSTRAINTS)
        self.plugin: tuple[int, ...] = tuple(plugin)

        controller = [
            ControllerRPC.CREATE_DELETE_VOLUME,
            ControllerRPC.LIST_VOLUMES,
            ControllerRPC.GET_CAPACITY,
            ControllerRPC.GET_VOLUME,
            ControllerRPC.VOLUME_CONDITION,
        ]
        if config.attach:
            controller.append(ControllerRPC.PUBLISH_UNPUBLISH_VOLUME)
        self.controller: tuple[int, ...] = tuple(controller)

        self.node: tuple[int, ...] = (
            NodeRPC.STAGE_UNSTAGE_VOLUME,
            NodeRPC.GET_VOLUME_STATS,
            NodeRPC.VOLUME_CONDITION,
        )

    def require(self, capability: int) -> None:
        """Raise UNIMPLEMENTED unless the controller advertises `capability`."""
        if capability not in self.controller:
            raise Unimplemented(
                f"{ControllerRPC.Type.Name(capability)} is not enabled in this driver's configuration"
            )

    def plugin_response(self) -> csi_pb2.GetPluginCapabilitiesResponse:
        return csi_pb2.GetPluginCapabilitiesResponse(
            capabilities=[csi_pb2.PluginCapability(service=PluginService(type=t)) for t in self.plugin]
        )

    def controller_response(self) -> csi_pb2.ControllerGetCapabilitiesResponse:
        return csi_pb2.ControllerGetCapabilitiesResponse(
            capabilities=[
                csi_pb2.ControllerServiceCapability(rpc=ControllerRPC(type=t)) for t in self.controller
            ]
        )

    def node_response(self) -> csi_pb2.NodeGetCapabilitiesResponse:
        return csi_pb2.NodeGetCapabilitiesResponse(
            capabilities=[csi_pb2.NodeServiceCapability(rpc=NodeRPC(type=t)) for t in self.node]
        )
