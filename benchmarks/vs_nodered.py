"""PETRA and Node-RED side by side: the same MQTT flow on both, one after the other, in one run.

The flow: MQTT in, JSON {"temperature":{"value":V},"t":T} on bench/in -> V > 75 -> MQTT out,
{"alarm": V > 75, "t": T} on bench/out. Node-RED runs benchmarks/nodered/flows.json (mqtt in, datatype
json -> function -> mqtt out) with settings.js (no editor, no HTTP server); PETRA runs
benchmarks/nodered/petra.yaml with `petra run`. Node-RED is installed from npm into .cache/node-red/
by tools/install-nodered.sh when missing; without npm (and no installed copy) the benchmark prints
"skipped: npm not found" and exits 0.

One Mosquitto (password file; QoS 0 queues raised) serves the whole run. The same paho publisher
and subscriber (child processes; TCP_NODELAY set; the publisher writes each message in its own thread,
without paho's network thread, unless --threaded-publisher) drive every row; QoS 0 everywhere:

  floor     the harness alone: publisher -> Mosquitto -> subscriber on bench/in (what this run can measure)
  Node-RED  `node red.js` in a fresh user directory (TCP_NODELAY preloaded unless --nodered-stock)
  PETRA     `python -m petra.cli run petra.yaml` (metrics exporter off, control socket in a temp dir)

Each system is its own fresh process, measured from /proc the same way:

  ready   seconds from exec to the first probe message through the flow
  idle    RSS and CPU seconds over --idle-seconds after ready (then a --warmup at --rate, not counted)
  blast   --messages as fast as the publisher goes: delivered/s (first send -> last receive), lost
  steady  --rate msg/s for --seconds: latency = receive - T (CLOCK_MONOTONIC in microseconds), p50/p99/max
  RSS after the blast (once it has drained), peak RSS (VmHWM), CPU seconds (utime + stime) per phase

T is unique per message: a T that never comes out is lost, whether the broker, the system or PETRA's
coalescing dropped it; an output whose alarm is not V > 75 for its T is counted as wrong.

    python benchmarks/vs_nodered.py [--messages 50000] [--rate 1000] [--seconds 10] [--systems nodered,petra]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "nodered"))

from mqtt_harness import IN_TOPIC, OUT_TOPIC, PAYLOAD, Broker, Phase, connect, make_client, phase  # noqa: E402

FLOW_DIR = ROOT / "benchmarks" / "nodered"
INSTALLER = ROOT / "tools" / "install-nodered.sh"
TARGET_THROUGHPUT = 1.5  # PETRA delivered/s >= 1.5 x Node-RED's
TARGET_P99 = 0.6  # PETRA p99 at --rate <= 0.6 x Node-RED's
TARGET_RSS = 1.0  # PETRA RSS <= Node-RED's (idle and after the blast)


# -- the systems under test ---------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_mb(pid: int, key: str) -> float:
    """VmRSS (now) or VmHWM (peak) of the process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class System:
    """One system under test: the command that runs the flow and where its output goes."""

    name: str
    argv: list[str]
    env: dict[str, str]
    out_topic: str
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    metrics_port: int = 0

    @property
    def log(self) -> Path:
        return self.workdir / "output.log"

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.argv, env={**os.environ, **self.env}, cwd=self.workdir,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def broker_env(broker: Broker) -> dict[str, str]:
    return {"PETRA_BENCH_MQTT_PORT": str(broker[0]), "PETRA_BENCH_MQTT_USER": broker[1],
            "PETRA_BENCH_MQTT_PASSWORD": broker[2]}


def nodered(broker: Broker, red_js: Path, workdir: Path, stock: bool) -> System:
    """Node-RED in a fresh user directory: the flow, its broker credentials (flows_cred.json, unencrypted)."""
    shutil.copy(FLOW_DIR / "flows.json", workdir / "flows.json")
    (workdir / "flows_cred.json").write_text(json.dumps({"broker": {"user": broker[1], "password": broker[2]}}))
    preload = [] if stock else ["--require", str(FLOW_DIR / "nodelay.js")]
    argv = ["node", *preload, str(red_js), "--settings", str(FLOW_DIR / "settings.js"), "--userDir", str(workdir)]
    return System(f"Node-RED {nodered_version(red_js)}", argv, broker_env(broker), OUT_TOPIC, workdir)


def petra(broker: Broker, config: Path, workdir: Path, metrics_port: int = 0) -> System:
    """`petra run` with its metrics exporter off (Node-RED runs no HTTP server) unless `metrics_port`."""
    argv = [sys.executable, "-m", "petra.cli", "run", str(config), "--metrics-port", str(metrics_port),
            "--control-socket", str(workdir / "control.sock"), "--log-level", "warning"]
    env = {**broker_env(broker), "PYTHONPATH": str(ROOT)}
    return System("PETRA", argv, env, OUT_TOPIC, workdir, metrics_port=metrics_port)


COUNTERS = ("petra_driver_messages_in_total", "petra_task_runs_total", "petra_task_coalesced_total",
            "petra_driver_messages_out_total", "petra_driver_errors_total")


def petra_counters(port: int) -> dict[str, float]:
    """The counters that say where a message went (--petra-metrics), summed over their labels."""
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    totals = dict.fromkeys(COUNTERS, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals and 'task="main"' not in line:
            totals[name] += float(line.rsplit(" ", 1)[1])
    return totals


def nodered_version(red_js: Path) -> str:
    return str(json.loads((red_js.parent / "package.json").read_text())["version"])


def wait_ready(broker: Broker, system: System, timeout: float = 90.0) -> None:
    """Probe messages (T < 0) every 0.2 s until one comes out of the flow."""
    client = make_client(broker)
    through, subscribed = threading.Event(), threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        try:
            doc = json.loads(message.payload)
            t = int(doc["t"] if isinstance(doc, dict) else doc)
        except (ValueError, KeyError, TypeError):
            return
        if t < 0:
            through.set()

    client.on_message = on_message
    connect(client, broker)
    client.subscribe(system.out_topic, qos=0)
    deadline = time.monotonic() + timeout
    try:
        subscribed.wait(10)
        probe = 0
        while not through.wait(0.2):
            system.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{system.name}: no message through the flow within {timeout:.0f} s:\n"
                                   f"{system.log_tail()}")
            probe += 1
            client.publish(IN_TOPIC, PAYLOAD % (20.0, -probe), qos=0)
    finally:
        client.disconnect()
        client.loop_stop()


@dataclass
class Row:
    name: str
    ready_s: float = float("nan")
    blast: Phase | None = None
    steady: Phase | None = None
    rss_idle: float = float("nan")
    rss_after: float = float("nan")
    rss_peak: float = float("nan")
    cpu: dict[str, float] = field(default_factory=dict)
    counters: dict[str, dict[str, float]] = field(default_factory=dict)


def measure(system: System, broker: Broker, args: argparse.Namespace) -> Row:
    row = Row(system.name)
    started = time.monotonic()
    system.start()
    assert system.process is not None
    pid = system.process.pid
    try:
        wait_ready(broker, system)
        row.ready_s = time.monotonic() - started
        before = cpu_seconds(pid)
        time.sleep(args.idle_seconds)
        row.cpu["idle"] = cpu_seconds(pid) - before
        row.rss_idle = status_mb(pid, "VmRSS")
        phase(broker, system.out_topic, args.warmup, args.rate, args.threaded_publisher)
        counted = counters(system)
        before = cpu_seconds(pid)
        row.blast = phase(broker, system.out_topic, args.messages, 0, args.threaded_publisher)
        row.cpu["blast"] = cpu_seconds(pid) - before
        row.rss_after = status_mb(pid, "VmRSS")
        row.counters["blast"], counted = delta(counters(system), counted), counters(system)
        before = cpu_seconds(pid)
        row.steady = phase(broker, system.out_topic, int(args.rate * args.seconds), args.rate,
                           args.threaded_publisher)
        row.cpu["steady"] = cpu_seconds(pid) - before
        row.counters["steady"] = delta(counters(system), counted)
        row.counters = {name: counted for name, counted in row.counters.items() if counted}  # --petra-metrics
        row.rss_peak = status_mb(pid, "VmHWM")
        system.check_alive()
    finally:
        system.stop()
    return row


def counters(system: System) -> dict[str, float]:
    return petra_counters(system.metrics_port) if system.metrics_port else {}


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def floor(broker: Broker, args: argparse.Namespace) -> Row:
    """The harness alone, subscribed to the input topic: the most this run can deliver and its latency floor."""
    row = Row("floor: harness alone")
    row.blast = phase(broker, IN_TOPIC, args.messages, 0, args.threaded_publisher)
    row.steady = phase(broker, IN_TOPIC, int(args.rate * args.seconds), args.rate, args.threaded_publisher)
    return row


# -- report ---------------------------------------------------------------------------------------------------


def print_rows(rows: list[Row], rate: float) -> None:
    print(f"{'':24} {'ready':>7} {'blast msg/s':>12} {'lost':>7} {'wrong':>6} | {rate:,.0f} msg/s p50 / p99 / max"
          f" {'lost':>6} | RSS MB idle / after / peak | CPU s idle / blast / steady")
    for r in rows:
        b, s = r.blast, r.steady
        assert b is not None and s is not None
        ready = f"{r.ready_s:6.1f}s" if r.ready_s == r.ready_s else f"{'-':>7}"
        rss = (f"{r.rss_idle:5.0f} / {r.rss_after:5.0f} / {r.rss_peak:4.0f}" if r.rss_idle == r.rss_idle
               else f"{'-':>19}")
        cpu = " / ".join(f"{r.cpu[k]:.2f}" for k in ("idle", "blast", "steady")) if r.cpu else "-"
        print(f"{r.name:24} {ready} {b.throughput:12,.0f} {b.lost:7,} {b.wrong:6,} | "
              f"{s.p50:8.2f} / {s.p99:5.2f} / {s.max:6.2f} ms {s.lost:6,} | {rss:>26} | {cpu}")
    for r in rows:
        if r.blast is not None:
            print(f"  {r.name}: the publisher offered {r.blast.offered:,.0f} msg/s in the blast, "
                  f"{r.steady.offered if r.steady else 0:,.0f} msg/s steady")
        for name, counted in r.counters.items():
            print(f"  {r.name} {name}: " + ", ".join(f"{k.removeprefix('petra_').removesuffix('_total')} "
                                                    f"{v:,.0f}" for k, v in counted.items()))


def verdict(name: str, ratio: float, target: float, at_least: bool) -> str:
    met = ratio >= target if at_least else ratio <= target
    return f"{name} {ratio:.2f}x (target {'>=' if at_least else '<='} {target}: {'met' if met else 'MISSED'})"


def print_ratios(petra_row: Row, red: Row) -> None:
    assert petra_row.blast and red.blast and petra_row.steady and red.steady
    print("PETRA / Node-RED: " + "; ".join([
        verdict("throughput", petra_row.blast.throughput / red.blast.throughput, TARGET_THROUGHPUT, True),
        verdict("p99", petra_row.steady.p99 / red.steady.p99, TARGET_P99, False),
        verdict("RSS idle", petra_row.rss_idle / red.rss_idle, TARGET_RSS, False),
        verdict("RSS after the blast", petra_row.rss_after / red.rss_after, TARGET_RSS, False),
        f"CPU s blast {ratio(petra_row.cpu['blast'], red.cpu['blast'])}, "
        f"steady {ratio(petra_row.cpu['steady'], red.cpu['steady'])}"]))


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def describe_run(red_js: Path | None, stock: bool, mosquitto: str) -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip() if red_js else ""
    head = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                          text=True).stdout.strip()
    parts = [dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
             f"load average {load} on {os.cpu_count()} CPUs", f"PETRA {head or '?'}"]
    banner = subprocess.run([mosquitto, "-h"], capture_output=True, text=True).stdout.splitlines()
    parts.append(banner[0] if banner else "mosquitto")
    if red_js is not None:
        parts.append(f"Node-RED {nodered_version(red_js)} on node {node}"
                     f" ({'stock sockets' if stock else 'TCP_NODELAY preloaded'})")
    return ", ".join(parts)


def install_nodered() -> Path | None:
    """The installed red.js; None when it is not installed and npm is missing (the one allowed skip)."""
    done = subprocess.run(["bash", str(INSTALLER)], stdout=subprocess.PIPE, text=True)
    if done.returncode == 3:
        return None
    if done.returncode != 0:
        raise RuntimeError(f"{INSTALLER.relative_to(ROOT)} failed with {done.returncode}")
    if shutil.which("node") is None:
        raise RuntimeError("node is not on PATH")
    return Path(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000, help="messages in the blast")
    parser.add_argument("--rate", type=float, default=1000.0, help="msg/s of the steady phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the steady phase")
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="idle time after ready (RSS, CPU)")
    parser.add_argument("--warmup", type=int, default=2000, help="messages at --rate before the blast, not counted")
    parser.add_argument("--systems", default="nodered,petra", help="which to run, in this order")
    parser.add_argument("--petra-config", type=Path, default=FLOW_DIR / "petra.yaml")
    parser.add_argument("--nodered-stock", action="store_true",
                        help="leave Nagle's algorithm on in Node-RED's sockets, as it ships")
    parser.add_argument("--threaded-publisher", action="store_true",
                        help="publish through paho's network thread (loop_start) instead of writing directly")
    parser.add_argument("--petra-metrics", action="store_true",
                        help="run PETRA's metrics exporter and print where messages went (task runs, coalesced)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if unknown := set(systems) - {"nodered", "petra"}:
        parser.error(f"--systems: unknown {sorted(unknown)}; expected nodered and/or petra")

    red_js = None
    if "nodered" in systems:
        red_js = install_nodered()
        if red_js is None:
            print("skipped: npm not found (Node-RED is installed from npm by tools/install-nodered.sh)")
            return 0
    from tests.peers.mosquitto import BINARY, Mosquitto, free_port

    if not Path(BINARY).exists():
        print("mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients)", file=sys.stderr)
        return 1
    print(describe_run(red_js, args.nodered_stock, BINARY))
    mosquitto = Mosquitto(auth=True, max_queued_messages=1_000_000).start()
    broker: Broker = (mosquitto.port, str(mosquitto.username), str(mosquitto.password))
    rows: list[Row] = []
    try:
        rows.append(floor(broker, args))
        for name in systems:
            workdir = Path(tempfile.mkdtemp(prefix=f"petra-vs-nodered-{name}-"))
            try:
                if name == "nodered":
                    assert red_js is not None
                    system = nodered(broker, red_js, workdir, args.nodered_stock)
                else:
                    system = petra(broker, args.petra_config, workdir, free_port() if args.petra_metrics else 0)
                rows.append(measure(system, broker, args))
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        mosquitto.close()
    print_rows(rows, args.rate)
    by_name = {r.name.split()[0]: r for r in rows}
    if "PETRA" in by_name and "Node-RED" in by_name:
        print_ratios(by_name["PETRA"], by_name["Node-RED"])
    print(f"load average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
