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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, sort_keys=False)


def setup(level: str = "info", stream=None) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
    return logger


def get(name: str = "") -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


# Every field the spec marks csi_secret is called "secrets"; mount_flags MAY carry
# credentials too (spec, MountVolume): both are dropped before a request is logged.
REDACTED_FIELDS = frozenset({"secrets", "mount_flags"})


def _scrub(value: Any) -> Any:
    # On the dict, not the message: no copy of the request, half the cost per logged RPC.
    # A map key (parameters, contexts) named like a redacted field is dropped too: harmless.
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items() if key not in REDACTED_FIELDS}
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def redacted(message: Message) -> dict[str, Any]:
    """The message as a dict with every secret field (and mount flags) removed."""
    # Imported on first use: json_format costs ~2.5 MiB that an idle driver does not need.
    from google.protobuf import json_format

    return _scrub(json_format.MessageToDict(message, preserving_proto_field_name=True))
