"""CSI Controller service: volumes are driver-owned PMem namespaces on this node."""

from __future__ import annotations

from ._gen import csi_pb2, csi_pb2_grpc
from .capabilities import SUPPORTED_ACCESS_MODES, ControllerRPC
from .errors import Aborted, AlreadyExists, InvalidArgument, OutOfRange, ResourceExhausted, VolumeNotFound
from .mounts import FILESYSTEMS
from .volumes import (
    candidate_regions,
    check_capacity_range,
    check_name,
    check_volume_id,
    naming,
    parse_parameters,
    raw_size_for,
    sizes,
)

AccessMode = csi_pb2.VolumeCapability.AccessMode


def check_capabilities(capabilities, field: str = "volume_capabilities") -> None:
    """INVALID_ARGUMENT unless every capability is one this driver can honour."""
    for index, cap in enumerate(capabilities):
        where = f"{field}[{index}]"
        kind = cap.WhichOneof("access_type")
        if kind is None:
            raise InvalidArgument(f"{where}.access_type", "one of block or mount is required")
        if not cap.HasField("access_mode") or cap.access_mode.mode == AccessMode.UNKNOWN:
            raise InvalidArgument(f"{where}.access_mode", "is required")
        if cap.access_mode.mode not in SUPPORTED_ACCESS_MODES:
            raise InvalidArgument(
                f"{where}.access_mode",
                "a PMem namespace is local to one node: only SINGLE_NODE_WRITER and SINGLE_NODE_READER_ONLY",
            )
        if kind == "mount" and cap.mount.fs_type and cap.mount.fs_type not in FILESYSTEMS:
            raise InvalidArgument(
                f"{where}.mount.fs_type", f"must be one of {', '.join(FILESYSTEMS)} or empty"
            )
        if kind == "mount" and cap.mount.volume_mount_group:
            raise InvalidArgument(
                f"{where}.mount.volume_mount_group", "is not supported (no VOLUME_MOUNT_GROUP)"
            )


def capability_problem(capabilities) -> str | None:
    try:
        check_capabilities(capabilities)
    except InvalidArgument as exc:
        return exc.message
    return None


class ControllerService(csi_pb2_grpc.ControllerServicer):
    def __init__(self, driver) -> None:
        self.driver = driver
        self.config = driver.config
        self.backend = driver.backend
        self.capabilities = driver.capabilities

    # --- helpers -----------------------------------------------------------------------

    def _topology(self) -> csi_pb2.Topology:
        return csi_pb2.Topology(segments={self.config.topology_key: self.config.node_id})

    def _segment_is_ours(self, topology) -> bool:
        return dict(topology.segments) == {self.config.topology_key: self.config.node_id}

    def _volume(self, namespace) -> csi_pb2.Volume:
        return csi_pb2.Volume(
            capacity_bytes=namespace.size,
            volume_id=namespace.name,
            volume_context={"mode": namespace.mode},
            accessible_topology=[self._topology()],
        )

    def _condition(self, namespace) -> csi_pb2.VolumeCondition:
        abnormal, message = self.backend.condition(namespace)
        return csi_pb2.VolumeCondition(abnormal=abnormal, message=message)

    def _lock(self, key: str):
        return self.backend.locks.hold(key, self.config.lock_timeout)

    def _check_topology(self, requirement) -> None:
        if not requirement.requisite and not requirement.preferred:
            return
        for topology in list(requirement.requisite) + list(requirement.preferred):
            for key in topology.segments:
                if key != self.config.topology_key:
                    raise InvalidArgument(
                        "accessibility_requirements",
                        f"unknown topology key {key!r}; use {self.config.topology_key}",
                    )
        if requirement.requisite and not any(self._segment_is_ours(t) for t in requirement.requisite):
            raise ResourceExhausted(
                f"this driver instance provisions on node {self.config.node_id} only, "
                "which is not in accessibility_requirements.requisite"
            )

    # --- RPCs --------------------------------------------------------------------------

    def CreateVolume(self, request, context):
        self.capabilities.require(ControllerRPC.CREATE_DELETE_VOLUME)
        name = check_name(request.name)
        if not request.volume_capabilities:
            raise InvalidArgument("volume_capabilities", "at least one capability is required")
        check_capabilities(request.volume_capabilities)
        if request.HasField("volume_content_source"):
            raise InvalidArgument("volume_content_source", "snapshots and clones are not supported yet")
        if request.mutable_parameters:
            raise InvalidArgument("mutable_parameters", "not supported (no MODIFY_VOLUME)")
        params = parse_parameters(request.parameters)
        required, limit = check_capacity_range(request.capacity_range)
        self._check_topology(request.accessibility_requirements)
        volume_id = naming.volume_id_for(name)
        with self._lock(volume_id):
            inventory = self.backend.inventory()
            existing = self.backend.find(volume_id, inventory)
            if existing is not None:
                self._check_compatible(existing, params, required, limit)
                if self.backend.pending.pending(volume_id):
                    self.backend.finish_erase(volume_id, existing)
                return csi_pb2.CreateVolumeResponse(volume=self._volume(existing))
            region, raw = self._place(inventory, params, required, limit)
            namespace = self.backend.create(volume_id, region, params, raw)
            self.backend.finish_erase(volume_id, namespace)
            return csi_pb2.CreateVolumeResponse(volume=self._volume(namespace))

    def _check_compatible(self, namespace, params, required: int, limit: int) -> None:
        differences = []
        if namespace.enabled and namespace.mode != params.mode:
            differences.append(f"mode is {namespace.mode}, requested {params.mode}")
        if required and namespace.size < required:
            differences.append(f"size {namespace.size} is below required_bytes {required}")
        if limit and namespace.size > limit:
            differences.append(f"size {namespace.size} is above limit_bytes {limit}")
        if params.region and namespace.region != params.region:
            differences.append(f"region is {namespace.region}, requested {params.region}")
        if params.numa_node is not None and namespace.numa_node != params.numa_node:
            differences.append(f"NUMA node is {namespace.numa_node}, requested {params.numa_node}")
        if differences:
            raise AlreadyExists(f"volume {namespace.name} exists but differs: " + "; ".join(differences))

    def _place(self, inventory, params, required: int, limit: int):
        """The region with the most room that can hold the request, and the raw size to ask for."""
        regions = candidate_regions(inventory, params)
        fits = []
        out_of_range = []
        for region in regions:
            try:
                raw = raw_size_for(region, params.mode, required, limit, self.config.default_volume_bytes)
            except OutOfRange as exc:  # this region's size steps cannot fit the range
                out_of_range.append(exc)
                continue
            if raw <= sizes.largest_namespace(region, params.mode):
                fits.append((region.max_available_extent, region.dev, region, raw))
        if fits:
            fits.sort(key=lambda item: (-item[0], item[1]))
            return fits[0][2], fits[0][3]
        if regions and len(out_of_range) == len(regions):
            raise out_of_range[0]
        where = f" matching {params}" if (params.region or params.numa_node is not None) else ""
        raise ResourceExhausted(
            f"no PMem region{where} on node {self.config.node_id} has a free extent for this volume"
        )

    def DeleteVolume(self, request, context):
        self.capabilities.require(ControllerRPC.CREATE_DELETE_VOLUME)
        volume_id = check_volume_id(request.volume_id)
        if not naming.is_volume_id(volume_id):
            return csi_pb2.DeleteVolumeResponse()  # cannot be ours: nothing to delete
        with self._lock(volume_id):
            namespace = self.backend.find(volume_id)
            if namespace is None:
                self.backend.pending.clear(volume_id)
                return csi_pb2.DeleteVolumeResponse()
            self.driver.refuse_if_in_use(namespace)
            self.backend.destroy(namespace)
        return csi_pb2.DeleteVolumeResponse()

    def ControllerPublishVolume(self, request, context):
        self.capabilities.require(ControllerRPC.PUBLISH_UNPUBLISH_VOLUME)
        volume_id = check_volume_id(request.volume_id)
        if not request.node_id:
            raise InvalidArgument("node_id", "is required")
        if not request.HasField("volume_capability"):
            raise InvalidArgument("volume_capability", "is required")
        check_capabilities([request.volume_capability], "volume_capability")
        namespace = self.backend.find(volume_id)
        if namespace is None:
            raise VolumeNotFound(f"volume {volume_id} does not exist")
        if request.node_id != self.config.node_id:
            raise VolumeNotFound(
                f"node {request.node_id!r} is unknown: volume {volume_id} lives on node {self.config.node_id}"
            )
        return csi_pb2.ControllerPublishVolumeResponse(
            publish_context={"node": self.config.node_id, "mode": namespace.mode}
        )

    def ControllerUnpublishVolume(self, request, context):
        self.capabilities.require(ControllerRPC.PUBLISH_UNPUBLISH_VOLUME)
        check_volume_id(request.volume_id)  # an unknown volume is, safely, published nowhere
        # Attaching a local namespace changes nothing on the host, so neither does detaching.
        return csi_pb2.ControllerUnpublishVolumeResponse()

    def ValidateVolumeCapabilities(self, request, context):
        volume_id = check_volume_id(request.volume_id)
        if not request.volume_capabilities:
            raise InvalidArgument("volume_capabilities", "at least one capability is required")
        namespace = self.backend.find(volume_id)
        if namespace is None:
            raise VolumeNotFound(f"volume {volume_id} does not exist")
        problem = capability_problem(request.volume_capabilities)
        if problem is None and request.parameters:
            params = parse_parameters(request.parameters)
            if namespace.enabled and params.mode != namespace.mode:
                problem = f"parameters.mode is {params.mode} but the volume is {namespace.mode}"
        if (
            problem is None
            and request.volume_context
            and dict(request.volume_context) != {"mode": namespace.mode}
        ):
            problem = "volume_context does not match the volume's context"
        if problem:
            return csi_pb2.ValidateVolumeCapabilitiesResponse(message=problem)
        return csi_pb2.ValidateVolumeCapabilitiesResponse(
            confirmed=csi_pb2.ValidateVolumeCapabilitiesResponse.Confirmed(
                volume_context=request.volume_context,
                volume_capabilities=request.volume_capabilities,
                parameters=request.parameters,
            )
        )

    def ListVolumes(self, request, context):
        self.capabilities.require(ControllerRPC.LIST_VOLUMES)
        if request.max_entries < 0:
            raise InvalidArgument("max_entries", "must not be negative")
        start = request.starting_token
        if start and not naming.is_volume_id(start):
            raise Aborted("starting_token is not a token this driver issued; start again without one")
        volumes = [ns for ns in self.backend.volumes() if not start or ns.name >= start]
        page = volumes[: request.max_entries] if request.max_entries else volumes
        next_token = volumes[len(page)].name if len(page) < len(volumes) else ""
        entries = [
            csi_pb2.ListVolumesResponse.Entry(
                volume=self._volume(ns),
                status=csi_pb2.ListVolumesResponse.VolumeStatus(volume_condition=self._condition(ns)),
            )
            for ns in page
        ]
        return csi_pb2.ListVolumesResponse(entries=entries, next_token=next_token)

    def ControllerGetVolume(self, request, context):
        self.capabilities.require(ControllerRPC.GET_VOLUME)
        volume_id = check_volume_id(request.volume_id)
        namespace = self.backend.find(volume_id)
        if namespace is None:
            raise VolumeNotFound(f"volume {volume_id} does not exist")
        return csi_pb2.ControllerGetVolumeResponse(
            volume=self._volume(namespace),
            status=csi_pb2.ControllerGetVolumeResponse.VolumeStatus(
                volume_condition=self._condition(namespace)
            ),
        )

    def GetCapacity(self, request, context):
        self.capabilities.require(ControllerRPC.GET_CAPACITY)
        params = parse_parameters(request.parameters)
        empty = csi_pb2.GetCapacityResponse(available_capacity=0)
        if request.volume_capabilities and capability_problem(request.volume_capabilities):
            return empty
        if request.HasField("accessible_topology") and not self._segment_is_ours(request.accessible_topology):
            return empty
        inventory = self.backend.inventory()
        regions = candidate_regions(inventory, params)
        available = 0
        largest = 0
        for region in regions:
            granule = sizes.size_granule(
                params.mode, region.align or sizes.REGION_ALIGN_BYTES, region.interleave_ways
            )
            free_raw = sizes.align_down(region.available_size, granule)
            if free_raw >= sizes.MIN_NAMESPACE_BYTES:
                available += sizes.usable_size(params.mode, free_raw)
            largest = max(largest, sizes.largest_usable(region, params.mode))
        response = csi_pb2.GetCapacityResponse(available_capacity=available)
        response.maximum_volume_size.value = largest
        if regions:
            smallest_raw = min(sizes.request_for(r, params.mode, 1) for r in regions)
            response.minimum_volume_size.value = sizes.usable_size(params.mode, smallest_raw)
        return response

    def ControllerGetCapabilities(self, request, context):
        return self.capabilities.controller_response()
