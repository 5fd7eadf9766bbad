"""Footprint benchmark: memory, threads, start-up and idle CPU of `petra run`, beside the floor.

Runs the real `petra run` (the installed console script, as a user would) as a
child process for each plant:

    demo       the embedded demo plant (no file)
    10k        the scan benchmark's 10,000 signals and 10,000 blocks (benchmarks/scan.py's generator, 50 ms)
    history    the same plant recording every change through the WAL (fsync) into Parquet zstd

and measures, from outside the process (/proc/PID): start-up from exec to the
`READY=1` PETRA sends over `NOTIFY_SOCKET` (a datagram socket the benchmark
binds), then over `--idle-seconds` (default 60) the CPU used as % of one core,
RSS at the end, peak RSS (VmHWM) and the thread count. The floor of the same
run is a bare Python interpreter (`python -c` sleeping): its RSS, threads and
start-up are what no Python program can go below. Each number is printed beside
its target: demo <= 60 MB, <= 1 % CPU idle, start-up <= 1 s; 10k <= 150 MB;
history <= 256 MB. The memory targets are held against the peak (VmHWM): what
the box must have, not what is resident at the end.

    python benchmarks/footprint.py [--idle-seconds 60] [--plants demo,10k,history] [--threads] [--json]

`--threads` prints each plant's thread census as `petra-ctl status` shows it
(asked after the threads were counted: answering it starts a control API
worker thread).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan import generate, history_section

MB = 2**20
READY_TIMEOUT_S = 120.0
TARGETS: dict[str, dict[str, float]] = {
    "demo": {"peak_rss_mb": 60.0, "idle_cpu_pct": 1.0, "startup_s": 1.0},
    "10k": {"peak_rss_mb": 150.0},
    "history": {"peak_rss_mb": 256.0},
}
PLANTS = tuple(TARGETS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in bytes, Threads, from /proc/PID/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
        elif key == "Threads":
            out[key] = int(value)
    return out


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the whole process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_plant(name: str, tmp: Path) -> Path | None:
    """The plant's config file (None: the embedded demo)."""
    if name == "demo":
        return None
    plant = generate(100, 100)
    if name == "history":
        plant["storage"] = history_section(tmp)
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(plant, sort_keys=False))
    return path


def measure(command: list[str], env: dict[str, str], notify: socket.socket, log: Path,
            idle_s: float) -> tuple[subprocess.Popen[bytes], dict[str, float]]:
    """Start `command`, wait for its READY=1 on `notify`, then watch it idle for `idle_s`."""
    with log.open("wb") as stderr:  # a file, not a pipe: nobody reads a pipe while it idles
        started = time.monotonic()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    notify.settimeout(READY_TIMEOUT_S)
    while True:
        try:
            datagram = notify.recv(4096)
        except TimeoutError:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"no READY=1 within {READY_TIMEOUT_S:g} s: {_tail(log)}") from None
        if b"READY=1" in datagram.split(b"\n"):
            break
    startup = time.monotonic() - started
    cpu0, t0 = cpu_s(proc.pid), time.monotonic()
    deadline = t0 + idle_s
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    if proc.poll() is not None:
        raise RuntimeError(f"exited with {proc.returncode}: {_tail(log)}")
    cpu = (cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
    status = proc_status(proc.pid)
    return proc, {"rss_mb": status["VmRSS"] / MB, "peak_rss_mb": status["VmHWM"] / MB,
                  "threads": status["Threads"], "startup_s": startup, "idle_cpu_pct": cpu}


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


def floor(idle_s: float) -> dict[str, float]:
    """A bare interpreter: started, then sleeping; its start-up is until it answers its first line."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", "import sys,time; print(flush=True); time.sleep(3600)"],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    startup = time.monotonic() - started
    try:
        cpu0, t0 = cpu_s(proc.pid), time.monotonic()
        time.sleep(min(idle_s, 5.0))
        cpu = (cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        status = proc_status(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    return {"rss_mb": status["VmRSS"] / MB, "peak_rss_mb": status["VmHWM"] / MB, "threads": status["Threads"],
            "startup_s": startup, "idle_cpu_pct": cpu}


def thread_census(control: Path) -> list[dict[str, object]]:
    from petra.ctl.client import UnixHTTPConnection

    conn = UnixHTTPConnection(str(control), timeout=30)
    try:
        conn.request("GET", "/v1/status")
        body = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    threads: list[dict[str, object]] = body["process"]["threads"]
    return threads


def run_plant(name: str, idle_s: float, show_threads: bool) -> dict[str, object]:
    petra = Path(sys.executable).parent / "petra"
    with tempfile.TemporaryDirectory(prefix="petra-footprint-") as tmp_name:
        tmp = Path(tmp_name)
        config = write_plant(name, tmp)
        notify_path = tmp / "notify.sock"
        control = tmp / "control.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind(str(notify_path))
            env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "PETRA_LOG": "warning"}
            command = [str(petra), "run", *([str(config)] if config else []), "--control-socket", str(control),
                       "--metrics-port", str(free_port()), "--web-port", str(free_port())]
            proc, result = measure(command, env, notify, tmp / "petra.log", idle_s)
        try:
            census = thread_census(control) if show_threads else None
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {**result, "census": census}


def verdict(value: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"(target <= {target:g}: {'ok' if value <= target else 'MISSED'})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="how long each plant is watched idle")
    parser.add_argument("--plants", default=",".join(PLANTS), help=f"comma-separated, of {', '.join(PLANTS)}")
    parser.add_argument("--threads", action="store_true", help="print each plant's thread census")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args()
    plants = [p.strip() for p in args.plants.split(",") if p.strip()]
    unknown = sorted(set(plants) - set(PLANTS))
    if unknown or args.idle_seconds <= 0:
        parser.error(f"unknown plant(s) {unknown}; choose from {', '.join(PLANTS)}" if unknown
                     else "--idle-seconds must be positive")
    print(f"footprint, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} cores, idle {args.idle_seconds:g} s")
    results: dict[str, dict[str, object]] = {"floor": floor(args.idle_seconds)}
    failed = False
    for name in plants:
        try:
            results[name] = run_plant(name, args.idle_seconds, args.threads)
        except RuntimeError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            failed = True
    header = f"{'plant':<10} {'RSS MB':>8} {'peak RSS MB':>28} {'threads':>8} {'start-up s':>26} {'idle CPU %':>26}"
    print(header)
    for name, r in results.items():
        t = TARGETS.get(name, {})
        peak, startup, cpu = float(r["peak_rss_mb"]), float(r["startup_s"]), float(r["idle_cpu_pct"])  # type: ignore[arg-type]
        print(f"{name:<10} {float(r['rss_mb']):>8.1f} {peak:>7.1f} {verdict(peak, t.get('peak_rss_mb')):<20} "  # type: ignore[arg-type]
              f"{r['threads']:>8} {startup:>5.2f} {verdict(startup, t.get('startup_s')):<20} "
              f"{cpu:>5.2f} {verdict(cpu, t.get('idle_cpu_pct'))}")
        for key, target in t.items():
            failed |= float(r[key]) > target  # type: ignore[arg-type]
    for name, r in results.items():
        if r.get("census"):
            print(f"\nthreads of {name}:")
            for row in r["census"]:  # type: ignore[attr-defined]
                print(f"  {row['name']:<44} {row['owner']!s:<28} {row['purpose']}")
    if args.json:
        print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "census"} for k, v in results.items()}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
