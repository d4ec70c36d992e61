"""Controller RPCs over gRPC against the simulator: success paths, every error-code rule, idempotency."""

from __future__ import annotations

import threading

import grpc
import pytest
from optane_csi._gen import csi_pb2
from optane_csi.capabilities import ControllerRPC
from optane_csi.volumes import naming
from optane_testlib import (
    GIB,
    MIB,
    AccessMode,
    block_cap,
    create_request,
    mount_cap,
    namespaces_named,
    rpc_error,
)

Code = grpc.StatusCode
TOPOLOGY_KEY = "optane.csi.pmem.io/node"


def test_create_volume_success(controller):
    volume = controller.controller.CreateVolume(create_request("pvc-1", 100 * MIB)).volume
    assert volume.volume_id == naming.volume_id_for("pvc-1")
    assert len(volume.volume_id) == 44 and volume.volume_id.startswith("csi-")
    assert 100 * MIB <= volume.capacity_bytes < 100 * MIB + 64 * MIB
    assert volume.volume_context["mode"] == "fsdax"
    assert [dict(t.segments) for t in volume.accessible_topology] == [{TOPOLOGY_KEY: "node-a"}]
    (ns,) = namespaces_named(controller.state_path, volume.volume_id)
    assert ns["mode"] == "fsdax" and ns["size"] == volume.capacity_bytes
    # Erased before the reply, and the erase mark is gone.
    assert controller.eraser.erased == [f"/dev/{ns['blockdev']}"]
    assert not controller.driver.backend.pending.all()


def test_create_volume_is_idempotent(controller):
    first = controller.controller.CreateVolume(create_request("pvc-idem")).volume
    for _ in range(10):
        again = controller.controller.CreateVolume(create_request("pvc-idem")).volume
        assert again == first
    assert len(namespaces_named(controller.state_path, first.volume_id)) == 1
    assert len(controller.eraser.erased) == 1


def test_create_same_name_incompatible_is_already_exists(controller):
    controller.controller.CreateVolume(create_request("pvc-x", 64 * MIB))
    bigger = rpc_error(controller.controller.CreateVolume, create_request("pvc-x", 1 * GIB))
    assert bigger.code() == Code.ALREADY_EXISTS and "size" in bigger.details()
    other_mode = rpc_error(
        controller.controller.CreateVolume, create_request("pvc-x", 64 * MIB, mode="sector")
    )
    assert other_mode.code() == Code.ALREADY_EXISTS and "mode" in other_mode.details()


def test_capacity_range_rules(controller):
    cc = controller.controller
    assert rpc_error(cc.CreateVolume, create_request("c1", 200 * MIB, 100 * MIB)).code() == Code.OUT_OF_RANGE
    # No size step fits between 20 MiB + 1 byte and 21 MiB.
    assert (
        rpc_error(cc.CreateVolume, create_request("c2", 20 * MIB + 1, 21 * MIB)).code() == Code.OUT_OF_RANGE
    )
    assert rpc_error(cc.CreateVolume, create_request("c3", 64 * GIB)).code() == Code.RESOURCE_EXHAUSTED
    # Rounding stays inside the limit.
    volume = cc.CreateVolume(create_request("c4", 100 * MIB, 150 * MIB)).volume
    assert 100 * MIB <= volume.capacity_bytes <= 150 * MIB
    # Only a limit: the volume is no larger than the limit.
    small = cc.CreateVolume(create_request("c5", 0, 48 * MIB)).volume
    assert 0 < small.capacity_bytes <= 48 * MIB
    # No range at all: the default size (1 GiB).
    default = cc.CreateVolume(
        csi_pb2.CreateVolumeRequest(name="c6", volume_capabilities=[mount_cap()])
    ).volume
    assert default.capacity_bytes >= GIB


def test_negative_capacity_is_invalid(controller):
    request = create_request("neg")
    request.capacity_range.required_bytes = -1
    assert rpc_error(controller.controller.CreateVolume, request).code() == Code.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.ClearField("name"), "name"),
        (lambda r: r.ClearField("volume_capabilities"), "volume_capabilities"),
        (lambda r: r.volume_capabilities.add(), "access_type"),
        (lambda r: r.volume_capabilities[0].ClearField("access_mode"), "access_mode"),
        (
            lambda r: r.volume_capabilities[0].access_mode.__setattr__(
                "mode", AccessMode.MULTI_NODE_MULTI_WRITER
            ),
            "access_mode",
        ),
        (lambda r: r.volume_capabilities[0].mount.__setattr__("fs_type", "btrfs"), "fs_type"),
        (
            lambda r: r.volume_content_source.snapshot.__setattr__("snapshot_id", "snap-1"),
            "volume_content_source",
        ),
        (lambda r: r.parameters.__setitem__("colour", "blue"), "colour"),
        (lambda r: r.parameters.__setitem__("mode", "devdax"), "mode"),
        (lambda r: r.parameters.__setitem__("region", "region9"), "region"),
        (lambda r: r.parameters.__setitem__("region", "../x"), "region"),
        (lambda r: r.parameters.__setitem__("numaNode", "x"), "numaNode"),
        (lambda r: r.__setattr__("name", "bad\x01name"), "name"),
        (lambda r: r.__setattr__("name", "n" * 200), "name"),
    ],
)
def test_create_volume_invalid_arguments(controller, mutate, field):
    request = create_request("pvc-invalid")
    mutate(request)
    error = rpc_error(controller.controller.CreateVolume, request)
    assert error.code() == Code.INVALID_ARGUMENT
    assert field in error.details()
    assert not namespaces_named(controller.state_path, naming.volume_id_for("pvc-invalid"))


def test_kubernetes_parameters_are_ignored(controller):
    request = create_request("pvc-k8s", **{"csi.storage.k8s.io/pvc/name": "data"})
    assert controller.controller.CreateVolume(request).volume.volume_id


def test_placement_parameters(controller):
    cc = controller.controller
    on_region1 = cc.CreateVolume(create_request("r1", region="region1")).volume
    (ns,) = namespaces_named(controller.state_path, on_region1.volume_id)
    assert ns["dev"].startswith("namespace1.")
    numa = cc.CreateVolume(create_request("numa0", numaNode="0")).volume
    assert numa.volume_id
    missing_numa = rpc_error(cc.CreateVolume, create_request("numa7", numaNode="7"))
    assert missing_numa.code() == Code.RESOURCE_EXHAUSTED
    sector = cc.CreateVolume(create_request("sec", mode="sector")).volume
    assert sector.volume_context["mode"] == "sector"
    (sns,) = namespaces_named(controller.state_path, sector.volume_id)
    assert sns["mode"] == "sector"


def test_accessibility_requirements(controller):
    cc = controller.controller

    def with_topology(name, requisite=(), preferred=()):
        request = create_request(name)
        for node in requisite:
            request.accessibility_requirements.requisite.add(segments={TOPOLOGY_KEY: node})
        for node in preferred:
            request.accessibility_requirements.preferred.add(segments={TOPOLOGY_KEY: node})
        return request

    ok = cc.CreateVolume(with_topology("t1", requisite=["node-b", "node-a"], preferred=["node-a"])).volume
    assert dict(ok.accessible_topology[0].segments) == {TOPOLOGY_KEY: "node-a"}
    assert cc.CreateVolume(with_topology("t2", preferred=["node-z"])).volume.volume_id
    elsewhere = rpc_error(cc.CreateVolume, with_topology("t3", requisite=["node-b"]))
    assert elsewhere.code() == Code.RESOURCE_EXHAUSTED
    request = create_request("t4")
    request.accessibility_requirements.requisite.add(segments={"topology.kubernetes.io/zone": "z1"})
    assert rpc_error(cc.CreateVolume, request).code() == Code.INVALID_ARGUMENT


def test_delete_volume(controller):
    cc = controller.controller
    volume = cc.CreateVolume(create_request("pvc-del")).volume
    for _ in range(10):
        cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id))
        assert not namespaces_named(controller.state_path, volume.volume_id)
    # Ids that cannot exist are deleted already.
    cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id="reallyfakevolumeid"))
    cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=naming.volume_id_for("never-created")))
    assert rpc_error(cc.DeleteVolume, csi_pb2.DeleteVolumeRequest()).code() == Code.INVALID_ARGUMENT


def test_delete_leaves_other_namespaces_alone(controller):
    from optane_testlib import SimRunner

    runner = SimRunner(controller.state_path)
    made = runner.run(["ndctl", "create-namespace", "-r", "region0", "-m", "fsdax", "-s", "64M", "-n", "db"])
    assert made.rc == 0, made.stderr
    listed = controller.controller.ListVolumes(csi_pb2.ListVolumesRequest())
    assert not listed.entries  # "db" is not a driver volume
    assert namespaces_named(controller.state_path, "db")


def test_controller_publish_and_unpublish(controller):
    cc = controller.controller
    volume = cc.CreateVolume(create_request("pvc-pub")).volume
    request = csi_pb2.ControllerPublishVolumeRequest(
        volume_id=volume.volume_id, node_id="node-a", volume_capability=mount_cap()
    )
    for _ in range(3):
        response = cc.ControllerPublishVolume(request)
        assert response.publish_context["node"] == "node-a"
    wrong_node = csi_pb2.ControllerPublishVolumeRequest()
    wrong_node.CopyFrom(request)
    wrong_node.node_id = "node-b"
    assert rpc_error(cc.ControllerPublishVolume, wrong_node).code() == Code.NOT_FOUND
    for field in ("volume_id", "node_id", "volume_capability"):
        broken = csi_pb2.ControllerPublishVolumeRequest()
        broken.CopyFrom(request)
        broken.ClearField(field)
        assert rpc_error(cc.ControllerPublishVolume, broken).code() == Code.INVALID_ARGUMENT, field
    unknown = csi_pb2.ControllerPublishVolumeRequest()
    unknown.CopyFrom(request)
    unknown.volume_id = naming.volume_id_for("nope")
    assert rpc_error(cc.ControllerPublishVolume, unknown).code() == Code.NOT_FOUND
    for _ in range(3):
        cc.ControllerUnpublishVolume(
            csi_pb2.ControllerUnpublishVolumeRequest(volume_id=volume.volume_id, node_id="node-a")
        )
    cc.ControllerUnpublishVolume(csi_pb2.ControllerUnpublishVolumeRequest(volume_id="fake", node_id="node-a"))
    missing = rpc_error(
        cc.ControllerUnpublishVolume, csi_pb2.ControllerUnpublishVolumeRequest(node_id="node-a")
    )
    assert missing.code() == Code.INVALID_ARGUMENT


def test_validate_volume_capabilities(controller):
    cc = controller.controller
    volume = cc.CreateVolume(create_request("pvc-val")).volume
    good = cc.ValidateVolumeCapabilities(
        csi_pb2.ValidateVolumeCapabilitiesRequest(
            volume_id=volume.volume_id,
            volume_capabilities=[mount_cap("xfs"), block_cap()],
            volume_context=volume.volume_context,
        )
    )
    assert len(good.confirmed.volume_capabilities) == 2
    bad = cc.ValidateVolumeCapabilities(
        csi_pb2.ValidateVolumeCapabilitiesRequest(
            volume_id=volume.volume_id,
            volume_capabilities=[mount_cap(mode=AccessMode.MULTI_NODE_READER_ONLY)],
        )
    )
    assert not bad.HasField("confirmed") and bad.message
    wrong_mode = cc.ValidateVolumeCapabilities(
        csi_pb2.ValidateVolumeCapabilitiesRequest(
            volume_id=volume.volume_id, volume_capabilities=[mount_cap()], parameters={"mode": "sector"}
        )
    )
    assert not wrong_mode.HasField("confirmed")
    assert (
        rpc_error(
            cc.ValidateVolumeCapabilities,
            csi_pb2.ValidateVolumeCapabilitiesRequest(volume_id=volume.volume_id),
        ).code()
        == Code.INVALID_ARGUMENT
    )
    assert (
        rpc_error(
            cc.ValidateVolumeCapabilities,
            csi_pb2.ValidateVolumeCapabilitiesRequest(volume_capabilities=[mount_cap()]),
        ).code()
        == Code.INVALID_ARGUMENT
    )
    assert (
        rpc_error(
            cc.ValidateVolumeCapabilities,
            csi_pb2.ValidateVolumeCapabilitiesRequest(
                volume_id="csi-fake", volume_capabilities=[mount_cap()]
            ),
        ).code()
        == Code.NOT_FOUND
    )


def test_list_volumes_pages(controller):
    cc = controller.controller
    created = {cc.CreateVolume(create_request(f"pvc-list-{i}", 32 * MIB)).volume.volume_id for i in range(5)}
    seen: list[str] = []
    token = ""
    for _ in range(10):  # bounded
        page = cc.ListVolumes(csi_pb2.ListVolumesRequest(max_entries=2, starting_token=token))
        assert len(page.entries) <= 2
        for entry in page.entries:
            seen.append(entry.volume.volume_id)
            # No block devices in this simulator state: the condition says so (loop-device tests see healthy).
            condition = entry.status.volume_condition
            assert condition.abnormal is True and "block device" in condition.message
            assert entry.volume.capacity_bytes > 0
        token = page.next_token
        if not token:
            break
    assert sorted(seen) == sorted(created)
    everything = cc.ListVolumes(csi_pb2.ListVolumesRequest())
    assert {e.volume.volume_id for e in everything.entries} == created and not everything.next_token
    bad = rpc_error(cc.ListVolumes, csi_pb2.ListVolumesRequest(starting_token="not-a-token"))  # noqa: S106
    assert bad.code() == Code.ABORTED
    assert (
        rpc_error(cc.ListVolumes, csi_pb2.ListVolumesRequest(max_entries=-1)).code() == Code.INVALID_ARGUMENT
    )


def test_controller_get_volume(controller):
    cc = controller.controller
    volume = cc.CreateVolume(create_request("pvc-get")).volume
    got = cc.ControllerGetVolume(csi_pb2.ControllerGetVolumeRequest(volume_id=volume.volume_id))
    assert got.volume == volume
    assert got.status.volume_condition.message.startswith("block device /dev/pmem")
    assert (
        rpc_error(cc.ControllerGetVolume, csi_pb2.ControllerGetVolumeRequest()).code()
        == Code.INVALID_ARGUMENT
    )
    unknown = csi_pb2.ControllerGetVolumeRequest(volume_id=naming.volume_id_for("gone"))
    assert rpc_error(cc.ControllerGetVolume, unknown).code() == Code.NOT_FOUND


def test_volume_condition_reports_pending_erase(controller):
    cc = controller.controller
    volume = cc.CreateVolume(create_request("pvc-cond")).volume
    controller.driver.backend.pending.mark(volume.volume_id)
    got = cc.ControllerGetVolume(csi_pb2.ControllerGetVolumeRequest(volume_id=volume.volume_id))
    assert got.status.volume_condition.abnormal is True and "erase" in got.status.volume_condition.message


def test_get_capacity_maximum_really_succeeds(controller):
    cc = controller.controller
    capacity = cc.GetCapacity(csi_pb2.GetCapacityRequest(volume_capabilities=[mount_cap()]))
    assert capacity.available_capacity > 7 * GIB
    maximum = capacity.maximum_volume_size.value
    assert 3 * GIB < maximum < 4 * GIB
    assert capacity.minimum_volume_size.value <= 16 * MIB
    created = cc.CreateVolume(create_request("max", maximum, maximum)).volume
    assert created.capacity_bytes == maximum
    after = cc.GetCapacity(csi_pb2.GetCapacityRequest())
    assert after.available_capacity < capacity.available_capacity
    too_big = rpc_error(cc.CreateVolume, create_request("max2", after.maximum_volume_size.value + 1))
    assert too_big.code() == Code.RESOURCE_EXHAUSTED
    on_other_node = cc.GetCapacity(
        csi_pb2.GetCapacityRequest(accessible_topology=csi_pb2.Topology(segments={TOPOLOGY_KEY: "node-b"}))
    )
    assert on_other_node.available_capacity == 0
    ours = cc.GetCapacity(
        csi_pb2.GetCapacityRequest(accessible_topology=csi_pb2.Topology(segments={TOPOLOGY_KEY: "node-a"}))
    )
    assert ours.available_capacity == after.available_capacity
    sector = cc.GetCapacity(csi_pb2.GetCapacityRequest(parameters={"mode": "sector"}))
    assert sector.maximum_volume_size.value > 0
    assert rpc_error(cc.GetCapacity, csi_pb2.GetCapacityRequest(parameters={"bad": "x"})).code() == (
        Code.INVALID_ARGUMENT
    )


def test_controller_capabilities_advertise_what_works(controller, serve, sim_state):
    caps = controller.controller.ControllerGetCapabilities(csi_pb2.ControllerGetCapabilitiesRequest())
    types = {c.rpc.type for c in caps.capabilities}
    assert types == {
        ControllerRPC.CREATE_DELETE_VOLUME,
        ControllerRPC.LIST_VOLUMES,
        ControllerRPC.GET_CAPACITY,
        ControllerRPC.GET_VOLUME,
        ControllerRPC.VOLUME_CONDITION,
        ControllerRPC.PUBLISH_UNPUBLISH_VOLUME,
    }
    from optane_testlib import SimRunner

    no_attach = serve(SimRunner(sim_state))
    caps = no_attach.controller.ControllerGetCapabilities(csi_pb2.ControllerGetCapabilitiesRequest())
    assert ControllerRPC.PUBLISH_UNPUBLISH_VOLUME not in {c.rpc.type for c in caps.capabilities}


def test_concurrent_same_name_creates_give_one_volume(controller):
    results: list[object] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            volume = controller.controller.CreateVolume(
                create_request("pvc-race", 128 * MIB), timeout=60
            ).volume
            outcome: object = volume.volume_id
        except grpc.RpcError as exc:
            outcome = exc.code()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=create) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    expected = naming.volume_id_for("pvc-race")
    assert len(results) == 16
    assert all(r == expected or r == Code.ABORTED for r in results), results
    assert results.count(expected) >= 1
    assert len(namespaces_named(controller.state_path, expected)) == 1
    assert len(controller.eraser.erased) == 1


def test_restart_rediscovers_volumes(serve, sim_state):
    from optane_testlib import RecordingEraser, SimRunner

    first = serve(SimRunner(sim_state), eraser=RecordingEraser())
    ids = {first.controller.CreateVolume(create_request(f"pvc-r{i}")).volume.volume_id for i in range(3)}
    first.server.stop(None)
    second = serve(SimRunner(sim_state), eraser=RecordingEraser(), state_dir=first.config.state_dir)
    assert set(second.driver.backend.recover()) == ids
    listed = second.controller.ListVolumes(csi_pb2.ListVolumesRequest())
    assert {e.volume.volume_id for e in listed.entries} == ids
    again = second.controller.CreateVolume(create_request("pvc-r0")).volume
    assert again.volume_id in ids


class CrashAfterCreate:
    """Runs the simulator, but 'dies' right after ndctl create-namespace succeeded."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def run(self, argv, *, stdin=None):
        result = self.inner.run(argv, stdin=stdin)
        if "create-namespace" in argv and result.rc == 0:
            raise SystemError("driver killed between create and reply")
        return result


def test_crash_between_create_and_reply_leaves_a_volume_the_retry_finds(serve, sim_state):
    from optane_testlib import RecordingEraser, SimRunner

    crashing = serve(SimRunner(sim_state), eraser=RecordingEraser())
    crashing.driver.backend.ndctl.runner = CrashAfterCreate(SimRunner(sim_state))
    error = rpc_error(crashing.controller.CreateVolume, create_request("pvc-crash"))
    assert error.code() == Code.INTERNAL
    volume_id = naming.volume_id_for("pvc-crash")
    assert len(namespaces_named(sim_state, volume_id)) == 1
    assert crashing.driver.backend.pending.all() == [volume_id]  # created, not yet erased
    crashing.server.stop(None)

    eraser = RecordingEraser()
    restarted = serve(SimRunner(sim_state), eraser=eraser, state_dir=crashing.config.state_dir)
    volume = restarted.controller.CreateVolume(create_request("pvc-crash")).volume
    assert volume.volume_id == volume_id
    assert len(namespaces_named(sim_state, volume_id)) == 1  # never a second namespace
    assert len(eraser.erased) == 1  # the retry finished the erase before replying
    assert restarted.driver.backend.pending.all() == []


def test_start_up_recovery_finishes_interrupted_erases(serve, sim_state):
    from optane_testlib import RecordingEraser, SimRunner

    crashing = serve(SimRunner(sim_state), eraser=RecordingEraser())
    crashing.driver.backend.ndctl.runner = CrashAfterCreate(SimRunner(sim_state))
    rpc_error(crashing.controller.CreateVolume, create_request("pvc-crash2"))
    crashing.server.stop(None)
    eraser = RecordingEraser()
    restarted = serve(SimRunner(sim_state), eraser=eraser, state_dir=crashing.config.state_dir)
    restarted.driver.start_background_recovery().join(timeout=30)
    assert len(eraser.erased) == 1 and restarted.driver.backend.pending.all() == []
    assert restarted.driver.ready is True


def test_lock_timeout_is_aborted(controller):
    from optane_csi.volumes import hostlock

    holder = hostlock.HostLock(controller.config.lock_path, timeout=1)
    holder.acquire()
    try:
        from dataclasses import replace

        controller.driver.backend.config = replace(controller.config, lock_timeout=0.2)
        error = rpc_error(controller.controller.CreateVolume, create_request("pvc-locked"))
        assert error.code() == Code.ABORTED and "lock" in error.details()
    finally:
        holder.release()


def test_tool_calls_per_rpc(serve, sim_state):
    """The budget of the issue: retry = 1 list; new = 1 list + 1 create (+ erase); capacity/list = 1 list."""
    from optane_csi.runner import CountingRunner
    from optane_testlib import RecordingEraser, SimRunner

    runner = CountingRunner(SimRunner(sim_state))
    eraser = RecordingEraser()
    served = serve(runner, eraser=eraser)
    cc = served.controller

    def calls(call) -> list[str]:
        runner.reset()
        call()
        return [argv[1] for argv in runner.calls]

    assert calls(lambda: cc.CreateVolume(create_request("pvc-count"))) == ["list", "create-namespace"]
    assert len(eraser.erased) == 1
    assert calls(lambda: cc.CreateVolume(create_request("pvc-count"))) == ["list"]
    assert len(eraser.erased) == 1
    assert calls(lambda: cc.GetCapacity(csi_pb2.GetCapacityRequest())) == ["list"]
    assert calls(lambda: cc.ListVolumes(csi_pb2.ListVolumesRequest())) == ["list"]
    volume_id = naming.volume_id_for("pvc-count")
    assert calls(lambda: cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume_id))) == [
        "list",
        "destroy-namespace",
    ]
    assert calls(lambda: cc.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume_id))) == ["list"]


@pytest.mark.parametrize(
    ("error", "code"),
    [("enospc", Code.RESOURCE_EXHAUSTED), ("ebusy", Code.FAILED_PRECONDITION), ("einval", Code.INTERNAL)],
)
def test_tool_failures_map_to_codes_and_leave_nothing_behind(controller, error, code):
    from pmem_sim import testing as simtesting

    simtesting.add_fault(controller.state_path, error=error, match="ndctl create-namespace")
    failed = rpc_error(controller.controller.CreateVolume, create_request("pvc-fault"))
    assert failed.code() == code, failed.details()
    assert "create" in failed.details()
    volume_id = naming.volume_id_for("pvc-fault")
    assert not namespaces_named(controller.state_path, volume_id)
    if code == Code.RESOURCE_EXHAUSTED:
        assert controller.driver.backend.pending.all() == []
    # The retry after the fault succeeds and leaves one volume.
    assert controller.controller.CreateVolume(create_request("pvc-fault")).volume.volume_id == volume_id
    assert controller.driver.backend.pending.all() == []


def test_destroy_failure_maps_and_keeps_the_volume(controller):
    from pmem_sim import testing as simtesting

    volume = controller.controller.CreateVolume(create_request("pvc-busy")).volume
    simtesting.add_fault(controller.state_path, error="ebusy", match="ndctl destroy-namespace")
    failed = rpc_error(
        controller.controller.DeleteVolume, csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id)
    )
    assert failed.code() == Code.FAILED_PRECONDITION
    assert namespaces_named(controller.state_path, volume.volume_id)
    controller.controller.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id))
    assert not namespaces_named(controller.state_path, volume.volume_id)


def test_missing_fields_win_over_unknown_ids(controller):
    """csi-sanity sends placeholder ids such as "id" with one field missing: INVALID_ARGUMENT first."""
    node, cc = controller.node, controller.controller
    cap = mount_cap()
    checks = [
        (node.NodeStageVolume, csi_pb2.NodeStageVolumeRequest(volume_id="id", volume_capability=cap)),
        (
            node.NodeStageVolume,
            csi_pb2.NodeStageVolumeRequest(
                volume_id="id", staging_target_path=str(controller.config.kubelet_dirs[0]) + "/s"
            ),
        ),
        (node.NodePublishVolume, csi_pb2.NodePublishVolumeRequest(volume_id="id", volume_capability=cap)),
        (node.NodeUnpublishVolume, csi_pb2.NodeUnpublishVolumeRequest(volume_id="id")),
        (node.NodeUnstageVolume, csi_pb2.NodeUnstageVolumeRequest(volume_id="id")),
        (node.NodeGetVolumeStats, csi_pb2.NodeGetVolumeStatsRequest(volume_id="id")),
        (
            cc.ControllerPublishVolume,
            csi_pb2.ControllerPublishVolumeRequest(volume_id="id", volume_capability=cap),
        ),
        (
            cc.ControllerPublishVolume,
            csi_pb2.ControllerPublishVolumeRequest(volume_id="id", node_id="node-a"),
        ),
        (cc.ValidateVolumeCapabilities, csi_pb2.ValidateVolumeCapabilitiesRequest(volume_id="id")),
    ]
    for call, request in checks:
        assert rpc_error(call, request).code() == Code.INVALID_ARGUMENT, request
    # All fields present, the id unknown: NOT_FOUND, and ndctl is never asked about it.
    error = rpc_error(
        cc.ControllerPublishVolume,
        csi_pb2.ControllerPublishVolumeRequest(volume_id="id", node_id="node-a", volume_capability=cap),
    )
    assert error.code() == Code.NOT_FOUND
    for path in ("some/path", "/path/does/not/exist"):
        stats = csi_pb2.NodeGetVolumeStatsRequest(volume_id="id", volume_path=path)
        assert rpc_error(node.NodeGetVolumeStats, stats).code() == Code.NOT_FOUND
