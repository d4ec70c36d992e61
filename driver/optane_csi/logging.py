"""Structured JSON logs on stderr; request logging without secrets."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from google.protobuf.message import Message

LOGGER_NAME = "optane_csi"
# Probe/health calls arrive every few seconds: log them at debug only.
QUIET_METHODS = frozenset({"Probe", "Check", "Watch"})


# One encoder for every record: json.dumps(default=...) builds a new one per call.
_encode = json.JSONEncoder(default=str).encode


class JsonFormatter(logging.Formatter):
    # Records are formatted under the handler's lock, so the cached second needs no lock of its own.
    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        entry: dict[str, Any] = {
            "ts": f"{self._stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _encode(entry)


def setup(level: str = "info", stream=None) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    # The records never show source lines, threads or processes: not collecting them
    # saves a stack walk and three lookups on every logged RPC.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    return logger


def get(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


# Every field the spec marks csi_secret is called "secrets"; mount_flags MAY carry
# credentials too (spec, MountVolume): both are dropped before a request is logged.
REDACTED_FIELDS = frozenset({"secrets", "mount_flags"})


def _plain(field, value: Any) -> Any:
    if field.message_type is not None:
        return redacted(value)
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"  # opaque, and possibly sensitive: never the content
    return value


def redacted(message: Message) -> dict[str, Any]:
    """The message's set fields as a dict, without secrets and mount flags (enum values by
    name, int64 as numbers, bytes as their length). Walked on the descriptors directly:
    json_format.MessageToDict cost four times as much per logged RPC and 2.5 MiB to import."""
    shown: dict[str, Any] = {}
    for field, value in message.ListFields():
        name = field.name
        if name in REDACTED_FIELDS:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            # CSI maps are string to string; a key named like a redacted field is dropped too.
            value_field = field.message_type.fields_by_name["value"]
            shown[name] = {
                key: _plain(value_field, item) for key, item in value.items() if key not in REDACTED_FIELDS
            }
        elif field.is_repeated:
            shown[name] = [_plain(field, item) for item in value]
        else:
            shown[name] = _plain(field, value)
    return shown
