"""Run-time choices that are not part of the plant's config file (command line, service)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from petra.config.sections import MetricsSettings


@dataclass(frozen=True)
class RuntimeOptions:
    """Run-time choices that are not part of the plant's config file."""

    scan_time_ms: int | None = None
    metrics_host: str = MetricsSettings.host
    metrics_port: int | None = MetricsSettings.port
    web_port: int | None = None
    """`petra run --web-port`: the web HMI's port instead of `web.port`; 0 turns the web HMI off."""
    gc_freeze: bool = True
    gc_between_scans: bool = True
    """Collect garbage after each completed scan, not inside the next (`petra.gc_gaps`)."""
    switch_interval_s: float | None = 0.0005
    config_path: Path | None = None
    control_socket: Path | None = None
    audit_log: Path | None = None
    require_signed: bool = False
    trusted_keys: Path | None = None
