"""Control-plane benchmark: reload of a 10,000-signal plant and control API latency.

Runs the real runtime in-process with the control API on a Unix socket, then
1. edits one chain of the 10,000-signal / 10,000-block plant and reloads it,
   printing the reload time and how many scan ticks were late (lateness above
   one scan period, or missed) while it ran;
2. measures the control API's request latency (p50/p99) over the socket for
   `GET /v1/tree` and for `PUT /v1/signals/NAME` (a set through the owner).

    python benchmarks/control.py [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan import generate


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=30)
        self.path_ = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path_)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    from petra.commands.common import load_or_report
    from petra.runtime import Runtime, RuntimeOptions

    with tempfile.TemporaryDirectory() as tmp:
        plant = generate(100, 100)
        plant["signals"].append({"name": "sp_bench", "type": "float", "initial": 0.0})
        path = Path(tmp) / "plant.yaml"
        path.write_text(yaml.safe_dump(plant, sort_keys=False))
        config, _ = load_or_report(str(path), [])
        sock = Path(tmp) / "ctl.sock"
        runtime = Runtime.from_config(config, RuntimeOptions(metrics_port=None, config_path=path,
                                                             control_socket=sock))
        runtime.start()
        time.sleep(2.0)
        stats = runtime.plant.stats

        plant["blocks"][1]["inputs"]["in2"] = "2.5"  # one chain changes
        path.write_text(yaml.safe_dump(plant, sort_keys=False))
        late_from, missed_from = len(stats.lateness_samples()), stats.missed_ticks
        overruns_from = stats.overruns
        started = time.perf_counter()
        result = runtime.reload(caller="benchmark")
        reload_s = time.perf_counter() - started
        time.sleep(1.0)
        during = stats.lateness_samples()[late_from:]
        period = runtime.plant.scan_time_s
        late_ticks = sum(1 for x in during if x > period) + (stats.missed_ticks - missed_from)

        conn = UnixHTTPConnection(str(sock))
        tree_lat, set_lat = [], []
        for i in range(args.requests):
            t = time.perf_counter()
            conn.request("GET", "/v1/tree")
            conn.getresponse().read()
            tree_lat.append(time.perf_counter() - t)
            t = time.perf_counter()
            conn.request("PUT", "/v1/signals/sp_bench", body=json.dumps({"value": float(i)}))
            response = conn.getresponse()
            answer = response.read()
            set_lat.append(time.perf_counter() - t)
            if response.status != 200:
                raise SystemExit(f"set refused: {response.status} {answer.decode()}")
        runtime.stop(timeout=20)

    print(f"PETRA control benchmark: {len(config.signals)} signals, {len(config.blocks)} blocks, "
          f"{len(runtime.plant.chains)} chains, scan {config.scan_time_ms} ms")
    print(f"  reload (one chain changed, file re-read, validated, planned, applied): {reload_s * 1e3:.0f} ms, "
          f"accepted={result.accepted}, changes={result.changes['restarted']}")
    print(f"  ticks late during the reload: {late_ticks} (of {len(during)}; "
          f"max lateness {max(during) * 1e3:.2f} ms), overruns {stats.overruns - overruns_from}")
    print(f"  GET /v1/tree         p50 {pct(tree_lat, 0.5):.2f} ms  p99 {pct(tree_lat, 0.99):.2f} ms")
    print(f"  PUT /v1/signals/sp_bench  p50 {pct(set_lat, 0.5):.2f} ms  p99 {pct(set_lat, 0.99):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
