"""gRPC wiring: the Driver object, the RPC interceptor, create_server() and serve()."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import threading
import time
from concurrent import futures

import grpc

from . import CSI_SPEC_VERSION, errors, pmemlib
from . import logging as log
from ._gen import csi_pb2_grpc
from .capabilities import Capabilities
from .config import Config
from .controller import ControllerService
from .errors import FailedPrecondition
from .health import Health
from .identity import IdentityService
from .mounts import Mounter, device_users
from .node import NodeService
from .runner import SubprocessRunner
from .volumes import Backend

LOG = log.get("server")
PROBE_REUSE_SECONDS = 5.0


class Driver:
    """What the three services share: config, the library backend, capabilities, the mounter."""

    csi_spec = CSI_SPEC_VERSION

    def __init__(self, config: Config, runner=None, *, eraser=None) -> None:
        self.config = config
        self.runner = runner if runner is not None else SubprocessRunner(timeout=config.tool_timeout)
        self.backend = Backend(config, self.runner, eraser=eraser)
        self.capabilities = Capabilities(config)
        self.mounter = Mounter(self.runner)
        self.health = Health()
        self.ready = False
        self._ready_at = 0.0

    def note_regions(self, regions) -> bool:
        self.ready = bool(regions)
        self._ready_at = time.monotonic() if self.ready else 0.0
        self.health.set(self.ready)
        return self.ready

    def probe(self) -> bool:
        """Ready when the library lists at least one PMem region; tool errors propagate.

        A successful listing stays good for PROBE_REUSE_SECONDS, so frequent liveness
        probes do not each start an ndctl process.
        """
        if self.ready and time.monotonic() - self._ready_at < PROBE_REUSE_SECONDS:
            return True
        return self.note_regions(self.backend.ndctl.regions())

    def refuse_if_in_use(self, namespace) -> None:
        """FAILED_PRECONDITION while the volume is staged or published on this node."""
        try:
            device = self.backend.device_path(namespace)
            rdev = os.stat(device).st_rdev if stat.S_ISBLK(os.stat(device).st_mode) else None
        except (FailedPrecondition, OSError):
            return  # no device node: nothing can be mounted from it
        if rdev is None:
            return
        users = device_users(rdev)
        if users:
            where = ", ".join(sorted({u.mount_point for u in users})[:4])
            raise FailedPrecondition(f"volume {namespace.name} is still staged or published at {where}")

    def start_background_recovery(self) -> threading.Thread:
        def work() -> None:
            try:
                self.note_regions(self.backend.recover_and_list_regions())
            except Exception as exc:  # the next Probe reports it with its own code
                LOG.warning("start-up recovery failed", extra={"fields": {"error": str(exc)}})
            release_free_heap()

        thread = threading.Thread(target=work, name="recovery", daemon=True)
        thread.start()
        return thread


def release_free_heap() -> None:
    """Hand start-up garbage back to the kernel (glibc only): about 1 MiB less idle RSS."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class RpcInterceptor(grpc.ServerInterceptor):
    """Logs every RPC (secrets stripped) and turns raised exceptions into status codes."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        short = method.rsplit("/", 1)[-1]
        inner = handler.unary_unary
        logger = log.get("rpc")

        def wrapped(request, context):
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            message = ""
            try:
                return inner(request, context)
            except Exception as exc:
                code, message = errors.status_for(exc)
                if code == grpc.StatusCode.INTERNAL:
                    logger.error("rpc failed", exc_info=True, extra={"fields": {"method": method}})
                errors.abort(context, exc)
            finally:
                level = 10 if short in log.QUIET_METHODS and code == grpc.StatusCode.OK else 20
                if logger.isEnabledFor(level):
                    logger.log(
                        level,
                        "rpc",
                        extra={
                            "fields": {
                                "method": method,
                                "code": code.name,
                                "error": message or None,
                                "ms": round((time.perf_counter() - started) * 1000, 3),
                                "request": log.redacted(request),
                            }
                        },
                    )

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _prepare_unix_socket(path: str) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o750, exist_ok=True)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise FailedPrecondition(f"{path} exists and is not a socket; refusing to replace it")
    # A stale socket from an earlier run: remove it only if nobody answers on it.
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(0.5)
        probe.connect(path)
    except OSError:
        os.unlink(path)
    else:
        raise FailedPrecondition(f"another process is serving on {path}")
    finally:
        probe.close()


def create_server(config: Config, *, runner=None, eraser=None) -> tuple[grpc.Server, str, Driver]:
    """Build and start a server; returns (server, address, driver). The caller stops it."""
    config.validate()
    driver = Driver(config, runner, eraser=eraser)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="rpc"),
        interceptors=[RpcInterceptor()],
        options=[("grpc.so_reuseport", 0)],
    )
    csi_pb2_grpc.add_IdentityServicer_to_server(IdentityService(driver), server)
    if config.serves_controller:
        csi_pb2_grpc.add_ControllerServicer_to_server(ControllerService(driver), server)
    if config.serves_node:
        csi_pb2_grpc.add_NodeServicer_to_server(NodeService(driver), server)
    driver.health.register(server)
    endpoint = config.parsed_endpoint
    if endpoint.scheme == "unix":
        _prepare_unix_socket(endpoint.address)
        server.add_insecure_port(endpoint.grpc_target)
        # The socket appears at start(); a restrictive umask closes the window before chmod.
        old_umask = os.umask(0o777 & ~config.socket_mode)
        try:
            server.start()
        finally:
            os.umask(old_umask)
        os.chmod(endpoint.address, config.socket_mode)
        address = endpoint.grpc_target
    else:
        port = server.add_insecure_port(endpoint.address)
        server.start()
        host = endpoint.address.rsplit(":", 1)[0]
        address = f"{host}:{port}"
    LOG.info(
        "serving",
        extra={
            "fields": {
                "endpoint": config.endpoint,
                "mode": config.mode,
                "driver_name": config.driver_name,
                "node_id": config.node_id,
                "library": str(pmemlib.library_dir()),
            }
        },
    )
    return server, address, driver


def serve(config: Config, *, grace_seconds: float = 10.0) -> int:
    """Run until SIGTERM/SIGINT, then finish in-flight RPCs (graceful shutdown)."""
    server, _, driver = create_server(config)
    driver.start_background_recovery()
    stopping = threading.Event()

    def on_signal(signum, _frame) -> None:
        if stopping.is_set():
            return
        stopping.set()
        LOG.info("shutting down", extra={"fields": {"signal": signal.Signals(signum).name}})
        driver.health.shutdown()
        server.stop(grace_seconds)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.wait_for_termination()
    driver.backend.pending.close()
    endpoint = config.parsed_endpoint
    if endpoint.scheme == "unix":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(endpoint.address)
    LOG.info("stopped")
    return 0
