"""Structured logging: one line per event, logfmt by default, JSON lines on request."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from petra.config.model import PlantConfig

LEVELS = ("debug", "info", "warning", "error")
CONFIG_LEVELS = (*LEVELS, "critical")


class LogfmtFormatter(logging.Formatter):
    """`ts=... level=info logger=petra.clock msg="..."`: greppable and machine-readable."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line = " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info and record.levelno >= logging.ERROR:
            line += " exc=" + _quote(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _timestamp(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "._-/:+" for c in value):
        return value
    return json.dumps(value)


_level_by_default = False
"""True after `setup_logging` chose info because neither `--log-level` nor `PETRA_LOG` said anything."""


def setup_logging(level: str | None = None, fmt: str = "logfmt") -> None:
    """Configure the root logger from `--log-level`, else `PETRA_LOG`, else info.

    When both are absent, `apply_config_level` may still take `logging.level`
    from the config once it is loaded.
    """
    global _level_by_default
    given = level or os.environ.get("PETRA_LOG")
    _level_by_default = not given
    chosen = (given or "info").lower()
    if chosen not in LEVELS:
        raise ValueError(f"unknown log level '{chosen}' (expected one of: {', '.join(LEVELS)})")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen.upper())
    logging.getLogger("pykka").setLevel(logging.CRITICAL)  # supervision reports failures itself


def apply_config_level(config: PlantConfig) -> None:
    """Apply the config's `logging.level` unless `--log-level` or `PETRA_LOG` chose one.

    Precedence: `--log-level` > `PETRA_LOG` > `logging.level` > info. Does
    nothing before `setup_logging` (e.g. in `petra check`, which logs nothing).
    """
    if not _level_by_default:
        return
    # a reload that drops logging.level goes back to the default
    logging.getLogger().setLevel(config.logging.level.upper())
