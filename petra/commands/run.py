"""`petra run [CONFIG]`: run a plant (the embedded demo when no file is given).

Speaks systemd's notify protocol when NOTIFY_SOCKET is set: READY=1 once the
tree is up and a scan completed, STATUS= with a health line, RELOADING=1 and
READY=1 around a SIGHUP reload, STOPPING=1, and WATCHDOG=1 only while scans
are actually completing.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from petra.commands.common import load_or_report
from petra.paths import CONTROL

log = logging.getLogger("petra")

STATUS_EVERY_S = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a plant; with no CONFIG, the embedded demo plant")
    run.add_argument("config", nargs="?", help="YAML configuration file (default: embedded demo)")
    run.add_argument("--scan-time", type=int, metavar="MS", help="override scan_time_ms")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                     help="log level (default: $PETRA_LOG or info)")
    run.add_argument("--log-format", choices=("logfmt", "json"), default="logfmt")
    run.add_argument("--metrics-port", type=int, metavar="PORT",
                     help="Prometheus port (default: config metrics.port or 9090; 0 disables)")
    run.add_argument("--web-port", type=int, metavar="PORT",
                     help="web HMI port, when the config has web: (default: web.port; 0 turns it off)")
    run.add_argument("--metrics-host", metavar="ADDR", help="metrics bind address (default 127.0.0.1)")
    run.add_argument("--control-socket", type=Path, metavar="PATH", help="control API socket (overrides config)")
    run.add_argument("--audit-log", type=Path, metavar="FILE", help="append the audit trail to FILE")
    run.add_argument("--require-signed", action="store_true",
                     help="refuse configs without a trusted signature (needs trusted keys, see --trusted)")
    run.add_argument("--trusted", type=Path, metavar="PATH",
                     help="trusted public key file or directory (default: $PETRA_TRUSTED_KEYS, else "
                          "/etc/petra/trusted-keys when it exists; never taken from the config)")
    run.add_argument("--plugin", action="append", default=[], help="module or .py file with extra block types")
    run.add_argument("--no-gc-freeze", action="store_true", help="do not gc.freeze() after start-up")
    run.add_argument("--gc-in-scans", action="store_true",
                     help="let garbage collections run whenever Python starts them, inside scans too (by default "
                          "they run after each completed scan, in the gap before the next)")
    run.add_argument("--simulate", action="store_true",
                     help="start the plant simulator (an S7 PLC and a Modbus device on loopback) and run "
                          "PETRA connected to it instead of the embedded demo")
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from petra.logs import setup_logging

    setup_logging(args.log_level, args.log_format)
    if args.scan_time is not None and not 1 <= args.scan_time <= 60000:
        print("petra: --scan-time must be between 1 and 60000 ms", file=sys.stderr)
        return 2
    simulator = None
    raw: bytes | None = None
    if args.simulate:
        if args.config:
            print("petra: --simulate runs the simulator's own plant; give no CONFIG", file=sys.stderr)
            return 2
        from petra.simulator import Simulator

        simulator = Simulator().start()
        log.info("simulator: S7 PLC on 127.0.0.1:%d, Modbus device on 127.0.0.1:%d",
                 simulator.s7_port, simulator.modbus_port)
        loaded = load_or_report(None, args.plugin, simulator.config_snippet(), "<simulator>")
    else:
        from petra.config.errors import ConfigError
        from petra.config.loader import read_config_bytes

        try:  # read once: the signature is checked over the very bytes that are loaded
            raw = read_config_bytes(args.config) if args.config else None
        except ConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        loaded = load_or_report(args.config, args.plugin, raw=raw)
    try:
        if loaded is None:
            return 2
        return _run(args, loaded[0], raw)
    finally:
        if simulator is not None:
            simulator.stop()


def _run(args: argparse.Namespace, config, raw: bytes | None) -> int:
    import os

    from petra.runtime import Runtime, RuntimeOptions, audit_refused_start
    from petra.security.trust import (
        NO_TRUSTED_KEYS,
        SignatureRefused,
        check_trusted_keys_dir,
        find_trust_anchor,
        requires_signature,
        verify_config_bytes,
    )

    anchor = find_trust_anchor(args.trusted, os.environ)
    if args.require_signed and anchor is None:
        print(f"petra: --require-signed: {NO_TRUSTED_KEYS}", file=sys.stderr)
        return 2
    if args.web_port is not None and not 0 <= args.web_port <= 65535:
        print(f"petra: --web-port {args.web_port}: expected a port from 1 to 65535, or 0 to turn the web HMI off",
              file=sys.stderr)
        return 2
    port = args.metrics_port if args.metrics_port is not None else config.metrics.port
    options = RuntimeOptions(
        scan_time_ms=args.scan_time,
        metrics_host=args.metrics_host or config.metrics.host,
        metrics_port=None if port == 0 else port,
        web_port=args.web_port,
        gc_freeze=not args.no_gc_freeze,
        gc_between_scans=not args.gc_in_scans,
        config_path=Path(args.config) if args.config else None,
        control_socket=args.control_socket,
        audit_log=args.audit_log,
        require_signed=args.require_signed,
        trusted_keys=anchor.path if anchor is not None else None,
    )
    signer = None
    if options.require_signed or requires_signature(config):
        if options.config_path is None or raw is None:
            print("petra: signed configs are required, but the embedded demo is not signed", file=sys.stderr)
            return 2
        try:
            signer = verify_config_bytes(raw, options.config_path, options.trusted_keys)  # the bytes loaded
            check_trusted_keys_dir(config, options.trusted_keys)
        except SignatureRefused as exc:
            print(f"petra: {args.config}: refused: {exc.reason}", file=sys.stderr)
            audit_refused_start(options, config, exc.reason)
            return 2
        log.info("config signature valid: key %s (trusted keys %s from %s)", signer, anchor.path if anchor else "",
                 anchor.origin if anchor else "")

    runtime = Runtime.from_config(config, options)
    runtime.signer = signer
    stop = threading.Event()
    reload_requested = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            reload_requested.set()
            return
        received.append(signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        runtime.start()
    except Exception as exc:
        log.error("start-up failed: %s", exc)
        runtime.stop(timeout=5)
        return 1
    if options.metrics_port is not None:
        log.info("metrics on http://%s:%s/metrics", options.metrics_host, runtime.metrics_port)
    control = runtime.tree.lookup(CONTROL) if runtime.tree else None
    if control is not None:
        socket_path = control.proxy().endpoints().get(timeout=5)["socket"]
        log.info("operate it: %s --socket %s status | tree | signals | top", ctl_command(), socket_path)
    return _supervise(runtime, stop, reload_requested, received)


def ctl_command() -> str:
    """How to type petra-ctl here: bare when PATH finds this install's, else its path (`.venv/bin/petra-ctl`)."""
    beside = Path(sys.executable).parent / "petra-ctl"  # not resolved: a venv's python is a symlink
    found = shutil.which("petra-ctl")
    if not beside.exists() or (found is not None and Path(found).parent == beside.parent):
        return "petra-ctl"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


def _supervise(runtime, stop: threading.Event, reload_requested: threading.Event, received: list[str]) -> int:
    """The main thread's job: systemd notifications, reloads on SIGHUP, and a clean stop."""
    from petra.sdnotify import WatchdogGate

    tree = runtime.tree
    notifier = runtime.notifier
    stats = runtime.plant.stats
    has_chains = runtime.plant.main_has_chains

    def progress() -> float | None:
        return stats.last_complete_monotonic if has_chains else stats.last_tick_monotonic

    deadline = time.monotonic() + 10
    while progress() is None and time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.01)
    notifier.ready(runtime.health_line())
    gate = WatchdogGate(max(10 * runtime.plant.scan_time_s, 1.0))
    ping_every = notifier.watchdog_interval_s or 1.0
    next_ping = next_status = 0.0
    while not stop.wait(min(0.2, ping_every)):
        now = time.monotonic()
        if tree.gave_up.is_set():
            log.error("supervision gave up: stopping with a failure so the service manager restarts PETRA")
            runtime.stop(timeout=10)
            return 1
        if reload_requested.is_set():
            reload_requested.clear()
            log.info("received SIGHUP: reloading %s", runtime.options.config_path or "(embedded demo)")
            runtime.reload(caller="signal:SIGHUP")
            has_chains = runtime.plant.main_has_chains
        if now >= next_ping:
            next_ping = now + ping_every
            if gate.should_ping(progress(), now):
                notifier.watchdog()
        if now >= next_status:
            next_status = now + STATUS_EVERY_S
            notifier.status(runtime.health_line())
    log.info("received %s: shutting down", received[0] if received else "stop")
    runtime.stop(timeout=10)
    log.info("stopped cleanly")
    return 0
