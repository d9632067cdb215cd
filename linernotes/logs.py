"""Logging set-up: readable lines by default, one JSON object per line with --log-format json."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """Structured log lines for log shippers: time, level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key.startswith("ln_"):
                payload[key[3:]] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


# The project's top-level loggers: every module logs under one of them (`__name__`).
PACKAGES = ("linernotes", "crawler", "nlp", "storage")


def configure_logging(log_format: str = "text", debug: bool = False) -> None:
    """Send the project's logs to stderr in the chosen format (idempotent).

    Why every package and not the root logger: Scrapy, onnxruntime and friends log
    through the root, and their chatter must not take our format or level; but a
    `nlp.*` or `crawler.*` line left to the root would be dropped below WARNING and
    printed bare (Python's last-resort handler) above it.
    """
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if debug else logging.WARNING)
        logger.propagate = False
