"""One running plant: start its supervision tree, reload it, stop it in order.

The tree's shape lives in petra.tree; what a reload changes in petra.reload;
this module ties them to the process: audit trail, signatures, systemd notify.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prometheus_client import Counter

from petra import __version__
from petra.audit import AuditLog
from petra.config.model import PlantConfig
from petra.config.sections import SecuritySettings
from petra.gc_gaps import GapCollector
from petra.logs import apply_config_level
from petra.options import RuntimeOptions
from petra.paths import METRICS, ROOT
from petra.plant import Plant, build_plant
from petra.reload import ReloadPlan, plan_reload
from petra.sdnotify import Notifier
from petra.security.trust import SignatureRefused, check_trusted_keys_dir, requires_signature, verify_config_bytes
from petra.tree import apply_plan, inactive_sections, tree_spec
from petra.wiring import Wiring
from petra.wording import describe_changes, plural
from supervision import EventKind, SupervisionTree, SupervisorEvent, start_tree

__all__ = ["ReloadResult", "Runtime", "RuntimeOptions"]

log = logging.getLogger(__name__)

@dataclass
class ReloadResult:
    accepted: bool
    reason: str = ""
    problems: list[str] = field(default_factory=list)
    changes: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    sha256: str = ""
    signer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted, "reason": self.reason, "problems": self.problems, "changes": self.changes,
            "duration_ms": round(self.duration_ms, 3), "sha256": self.sha256, "signer": self.signer,
        }


class Runtime:
    """One running plant: build it, start the tree, reload it, stop it in order."""

    def __init__(self, plant: Plant, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.plant = plant
        self.tree: SupervisionTree | None = None
        self.collector = GapCollector()
        self._collector_listens = False
        self.stopped = threading.Event()
        self.started = threading.Event()
        """Set once the whole tree is up: the control API holds requests that arrive before."""
        self.started_at: float | None = None
        """When start() was called (wall clock): the plant's uptime, whatever restarted since."""
        self.signer: str | None = None
        self.loaded_at = time.time()
        self.notifier = Notifier.from_env()
        self._reload_lock = threading.Lock()
        self._audit_log: AuditLog | None = None
        self.wiring = Wiring(audit=self.audit, control=self)
        """What the sections' actors get besides the plant (see petra.wiring); kept across reloads."""
        self.reloads = _reload_counter(plant)

    @classmethod
    def from_config(cls, config: PlantConfig, options: RuntimeOptions | None = None) -> Runtime:
        options = options or RuntimeOptions()
        return cls(build_plant(config, options.scan_time_ms), options)

    # --- lifecycle -------------------------------------------------------

    def start(self) -> None:
        self.started_at = time.time()
        config = self.plant.config
        self._open_audit()
        for section in inactive_sections(config):
            log.warning("config section '%s' is validated but not yet active in this version", section)
        if self.options.switch_interval_s:
            sys.setswitchinterval(self.options.switch_interval_s)
        # fail_fast: a child that cannot start the first time (a socket, port or WAL another
        # process holds) is a start-up error to exit with, not a crash to restart in a loop.
        self.tree = start_tree(tree_spec(self.plant, self.options, self.wiring), name=ROOT, listeners=[self._on_event],
                               fail_fast=True)
        self.plant.metrics.watch_tree(self.tree.tree)
        self.started.set()
        if self.options.gc_freeze:
            gc.collect()
            gc.freeze()
        self._collect_between_scans()
        self.audit("config.load", "system", accepted=True, **self.config_info())
        self.audit("runtime.start", "system", version=__version__)
        log.info("plant running: %s, %s in %s, scan %d ms", plural(len(self.plant.table.index), "signal"),
                 plural(len(config.blocks), "block"), plural(len(self.plant.chains), "chain"),
                 self.plant.config.scan_time_ms)

    @property
    def metrics_port(self) -> int | None:
        if self.tree is None:
            return None
        ref = self.tree.lookup(METRICS)
        return None if ref is None else ref.proxy().bound_port().get(timeout=5)

    def _collect_between_scans(self) -> None:
        """Garbage collections after each completed scan (`petra.gc_gaps`), once the main task has chains (its
        scans complete)."""
        if self.options.gc_between_scans and self.plant.main_has_chains and not self.collector.active:
            self.collector.install()
            if not self._collector_listens:
                self._collector_listens = True
                self.plant.stats.on_scan(self.collector.after_scan)

    def stop(self, timeout: float = 10.0) -> None:
        self.notifier.stopping()
        if self.tree is not None:
            self.tree.stop(timeout=timeout)
            self.audit("runtime.stop", "system")
        self.collector.uninstall()
        if self._audit_log is not None:
            self._audit_log.close()
            self._audit_log = None
        self.stopped.set()

    def health_line(self) -> str:
        """One line for systemd's STATUS= and `petra-ctl status`."""
        summary = self.plant.stats.summary()
        nodes = list(self.tree.tree().walk()) if self.tree else []
        down = [n.path for n in nodes if n.state != "running"]
        return (
            f"scan {self.plant.config.scan_time_ms} ms, p99 work {summary.work_p99_ms:.2f} ms, "
            f"{plural(summary.overruns, 'overrun')}; {len(nodes) - len(down)}/{len(nodes)} actors running"
            + (f"; not running: {', '.join(down[:3])}" if down else "")
        )

    # --- audit and identity --------------------------------------------

    def _open_audit(self) -> None:
        path = audit_path(self.options, self.plant.config)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._audit_log = AuditLog(path)

    def audit(self, event: str, actor: str, **details: Any) -> None:
        """Append to the audit trail (when enabled); never lets a write failure stop the plant."""
        if self._audit_log is None:
            return
        try:
            self._audit_log.append(event, actor, **details)
        except Exception as exc:
            log.error("audit trail write failed: %s", exc)

    def config_info(self) -> dict[str, Any]:
        return {
            "path": str(self.options.config_path) if self.options.config_path else None,
            "sha256": self.plant.config.text_sha256,
            "signer": self.signer,
            "loaded_at": self.loaded_at,
        }

    def _on_event(self, event: SupervisorEvent) -> None:
        _log_event(event)
        if event.kind is EventKind.GAVE_UP:
            self.audit("supervisor.gave_up", "system", path=event.path, error=event.error)

    # --- reload ------------------------------------------------------------

    def reload(self, caller: str = "system") -> ReloadResult:
        """Re-read, validate, verify and apply the config file; refuse and keep running on any problem."""
        with self._reload_lock:
            started = time.perf_counter()
            self.notifier.reloading()
            # A full collection over the new config's objects would stall the clock for
            # ~100 ms; collect nothing during the reload and freeze what survives after.
            gc_was_enabled = gc.isenabled()
            gc.disable()
            try:
                result = self._reload()
            except Exception as exc:  # a refusal, never a crash: the plant keeps its config
                log.exception("reload failed unexpectedly")
                result = ReloadResult(False, f"reload failed: {type(exc).__name__}: {exc}")
            finally:
                if self.options.gc_freeze:
                    gc.freeze()
                if gc_was_enabled:
                    gc.enable()
                self._collect_between_scans()  # a reload may have given the main task its first chains
                self.notifier.ready(self.health_line())
            result.duration_ms = (time.perf_counter() - started) * 1e3
            self.reloads.labels("accepted" if result.accepted else "refused").inc()
            self.audit(
                "config.reload", caller, accepted=result.accepted, reason=result.reason, sha256=result.sha256,
                signer=result.signer, changes=result.changes,
            )
            if result.accepted:
                apply_config_level(self.plant.config)  # logging.level follows the file, as at start
                log.info("reload applied in %.1f ms: %s", result.duration_ms, describe_changes(result.changes))
            else:
                log.error("reload not applied: %s %s", result.reason,
                          "; ".join(result.problems[:5]))
            return result

    def _reload(self) -> ReloadResult:
        """Read the file once; verify and parse those bytes; the running plant's
        signature requirement and trusted keys govern, never the new file's."""
        from petra.config.errors import ConfigError
        from petra.config.loader import load_config_bytes, read_config_bytes
        from petra.logic.compiler import CompileError
        from petra.logic.graph import AlgebraicLoopError

        path = self.options.config_path
        if path is None:
            return ReloadResult(False, "the embedded demo plant has no file to reload")
        trusted = self.options.trusted_keys
        sha256 = ""
        try:
            raw = read_config_bytes(path)
            sha256 = hashlib.sha256(raw).hexdigest()
            signer = None
            if self.options.require_signed or requires_signature(self.plant.config):
                signer = verify_config_bytes(raw, path, trusted)  # before parsing an untrusted file
            config = load_config_bytes(raw, str(path), source=Path(path))
            if signer is None and requires_signature(config):
                signer = verify_config_bytes(raw, path, trusted)
            if signer is not None:
                check_trusted_keys_dir(config, trusted)
        except ConfigError as exc:
            return ReloadResult(False, "invalid configuration", [str(p) for p in exc.problems], sha256=sha256)
        except SignatureRefused as exc:
            return ReloadResult(False, f"signature refused: {exc.reason}", sha256=sha256)
        if self.options.scan_time_ms is not None:
            config = replace(config, scan_time_ms=self.options.scan_time_ms)
        try:
            plan = plan_reload(self.plant, config)
        except (CompileError, AlgebraicLoopError, ValueError) as exc:
            return ReloadResult(False, f"configuration cannot run: {exc}", sha256=config.text_sha256)
        try:
            self._apply(plan)
        except Exception as exc:  # the tree may now run part of the new plan: say so, do not claim a refusal
            log.exception("applying the new config failed part way")
            return ReloadResult(False, f"applying the new config failed part way ({type(exc).__name__}: {exc}); "
                                       "the plant may run a mix of old and new: reload again or restart",
                                sha256=config.text_sha256)
        self.signer = signer
        self.loaded_at = time.time()
        return ReloadResult(True, "applied", changes=plan.summary(), sha256=config.text_sha256, signer=signer)

    def _apply(self, plan: ReloadPlan) -> None:
        assert self.tree is not None
        apply_plan(self.tree, self.plant, plan, self.wiring)

def audit_path(options: RuntimeOptions, config: PlantConfig) -> Path | None:
    """The audit trail file: --audit-log, else security.audit_log when audit logging is enabled."""
    if options.audit_log is not None:
        return Path(options.audit_log)
    if config.security.enable_audit_logging:
        return Path(config.security.audit_log or SecuritySettings.audit_log)  # an empty audit_log: the default
    return None


def audit_refused_start(options: RuntimeOptions, config: PlantConfig, reason: str) -> None:
    """Record a start refused for its signature, before any runtime exists."""
    path = audit_path(options, config)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with AuditLog(path) as log_file:
        log_file.append("config.load", "system", accepted=False, path=str(options.config_path),
                        sha256=config.text_sha256, reason=reason)


def _reload_counter(plant: Plant) -> Counter:
    return Counter("petra_config_reloads", "Config reloads by result", ["result"], registry=plant.metrics.registry)


def _log_event(event: SupervisorEvent) -> None:
    # supervision itself warns of every failure, hang and give-up; a second line here would only repeat it
    log.debug("actor %s %s (restarts=%d)%s", event.path, event.kind.name.lower(), event.restarts,
              f": {event.error}" if event.error else "")
