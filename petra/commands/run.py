"""`petra run [CONFIG]`: run a plant (the embedded demo when no file is given)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from petra.commands.common import load_or_report

log = logging.getLogger("petra")


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run a plant; with no CONFIG, the embedded demo plant")
    run.add_argument("config", nargs="?", help="YAML configuration file (default: embedded demo)")
    run.add_argument("--scan-time", type=int, metavar="MS", help="override scan_time_ms")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"),
                     help="log level (default: $PETRA_LOG or info)")
    run.add_argument("--log-format", choices=("logfmt", "json"), default="logfmt")
    run.add_argument("--metrics-port", type=int, metavar="PORT",
                     help="Prometheus port (default: config metrics.port or 9090; 0 disables)")
    run.add_argument("--metrics-host", metavar="ADDR", help="address the metrics server binds (default 127.0.0.1)")
    run.add_argument("--plugin", action="append", default=[], help="module or .py file with extra block types")
    run.add_argument("--no-gc-freeze", action="store_true", help="do not gc.freeze() after start-up")
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from petra.logs import setup_logging

    setup_logging(args.log_level, args.log_format)
    if args.scan_time is not None and not 1 <= args.scan_time <= 60000:
        print("petra: --scan-time must be between 1 and 60000 ms", file=sys.stderr)
        return 2
    loaded = load_or_report(args.config, args.plugin)
    if loaded is None:
        return 2
    config, _ = loaded

    from petra.runtime import Runtime, RuntimeOptions

    metrics_section = config.sections.get("metrics") or {}
    port = args.metrics_port if args.metrics_port is not None else metrics_section.get("port", 9090)
    host = args.metrics_host or metrics_section.get("host", "127.0.0.1")
    options = RuntimeOptions(
        scan_time_ms=args.scan_time,
        metrics_host=host,
        metrics_port=None if port == 0 else port,
        gc_freeze=not args.no_gc_freeze,
    )
    runtime = Runtime.from_config(config, options)
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        runtime.start()
    except Exception as exc:
        log.error("start-up failed: %s", exc)
        runtime.stop(timeout=5)
        return 1
    if options.metrics_port is not None:
        log.info("metrics on http://%s:%s/metrics", host, runtime.metrics_port)
    tree = runtime.tree
    assert tree is not None
    while not stop.wait(0.2):
        if tree.gave_up.is_set():
            log.error("supervision gave up: stopping with a failure so the service manager restarts PETRA")
            runtime.stop(timeout=10)
            return 1
    log.info("received %s: shutting down", received[0] if received else "stop")
    runtime.stop(timeout=10)
    log.info("stopped cleanly")
    return 0
