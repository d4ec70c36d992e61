"""The one place where failures become gRPC status codes.

Handlers raise: either the driver's own CsiError subclasses (request checks) or
the library's PmemError tree. The RPC interceptor (server.py) passes anything
raised to abort(), which ends the call once with context.abort(code, message).
"""

from __future__ import annotations

from typing import NoReturn

import grpc

from . import pmemlib

_lib = pmemlib.errors


class CsiError(Exception):
    """A request the driver refuses, with the status code the CSI spec names."""

    code = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidArgument(CsiError):
    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class VolumeNotFound(CsiError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(CsiError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(CsiError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class OutOfRange(CsiError):
    code = grpc.StatusCode.OUT_OF_RANGE


class ResourceExhausted(CsiError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Aborted(CsiError):
    code = grpc.StatusCode.ABORTED


class Unimplemented(CsiError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(CsiError):
    code = grpc.StatusCode.INTERNAL


# Library exception -> status code; the first matching class wins (subclasses first).
LIBRARY_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (_lib.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (_lib.NotFound, grpc.StatusCode.NOT_FOUND),
    (_lib.Incompatible, grpc.StatusCode.ALREADY_EXISTS),
    (_lib.InsufficientCapacity, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_lib.BadSize, grpc.StatusCode.OUT_OF_RANGE),
    (_lib.BadAlignment, grpc.StatusCode.OUT_OF_RANGE),
    (_lib.SafeModeRefused, grpc.StatusCode.FAILED_PRECONDITION),
    (_lib.Busy, grpc.StatusCode.FAILED_PRECONDITION),
    (_lib.LabelLessRegion, grpc.StatusCode.FAILED_PRECONDITION),
    (_lib.NoPmemModules, grpc.StatusCode.FAILED_PRECONDITION),
    # A missing ndctl/mkfs is a "missing required dependency" in the spec's words.
    (_lib.ToolMissing, grpc.StatusCode.FAILED_PRECONDITION),
    (_lib.LockTimeout, grpc.StatusCode.ABORTED),
    (_lib.GoalFailed, grpc.StatusCode.INTERNAL),
    (_lib.ToolFailed, grpc.StatusCode.INTERNAL),
    (_lib.PmemError, grpc.StatusCode.INTERNAL),
)


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """(code, message) for anything a handler raised."""
    if isinstance(exc, CsiError):
        return exc.code, exc.message
    for cls, code in LIBRARY_CODES:
        if isinstance(exc, cls):
            return code, str(exc)
    if isinstance(exc, NotImplementedError):
        return grpc.StatusCode.UNIMPLEMENTED, "this RPC is not implemented by the driver"
    # Unexpected bugs: no internals (paths, reprs) leak to the caller; the log has the trace.
    return grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__}); see the driver log"


def abort(context: grpc.ServicerContext, exc: BaseException) -> NoReturn:
    code, message = status_for(exc)
    context.abort(code, message)
    raise AssertionError("context.abort returned")  # pragma: no cover - grpc always raises
