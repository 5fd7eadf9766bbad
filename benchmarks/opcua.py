"""OPC-UA benchmark: address-space build, change -> subscribed client latency, and the scan with that load.

1. Build: the address space of 10,000 signals (half with units) as PETRA builds it, beside asyncua's own
   API doing the same in 100 folders of 100 (`add_folder` + `add_variable`, its fastest layout), in the
   same process and run. Target: < 5 s.
2. Load: scan.py's plant (10,000 blocks in 100 chains at a 50 ms scan) plus 10,000 field signals served
   over OPC-UA (Basic256Sha256 SignAndEncrypt, a logged-in user); a driver-like thread in PETRA changes
   10 % of them (1,000) every 100 ms, each value the wall time it was set; an asyncua client in another
   process subscribes to all 10,000 (one subscription, 100 ms publishing interval) and measures the
   changes/s delivered and the latency from the value being set to the notification arriving.
   Before the client subscribes, the same changes run for as long with no client: what the change load
   alone costs the scan. Beside it, in the same run, the floor: asyncua alone in a process of its own
   with the same variables, changes, security and client (`run_floor`). `--pin` puts PETRA on CPU 0 and
   the server process and the client on CPU 1: what serving costs the scan when it has a core of its own.
   Targets: latency p99 < 250 ms; scan.py's targets held (scan work p99 < 10 ms, tick lateness p99 within
   0.5 ms of a bare sleep loop measured in the same run).

    python benchmarks/opcua.py [--seconds 30] [--signals 10000] [--changing 0.1] [--period-ms 100]
                               [--client-nice 0] [--pin]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scan import TARGET_WORK_P99_MS, bare_loop, generate

TARGET_BUILD_S = 5.0
TARGET_LATENCY_P99_MS = 250.0
PASSWORD = "bench password 1"


def _pct(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- 1. build ------------------------------------------------------------------


async def _build(n: int) -> dict[str, float]:
    from asyncua import Server, ua

    from petra.config.model import SignalConfig
    from petra.opcua import address_space
    from petra.values import DataType

    specs = [SignalConfig(name=f"area{i // 1000}.unit{(i // 50) % 20}.s{i % 50}", type=DataType.FLOAT,
                          initial=0.0, unit="bar" if i % 2 else "", description=f"signal {i}") for i in range(n)]
    server = Server()
    await server.init()
    ns = await server.register_namespace("urn:petra:signals")
    t0 = time.perf_counter()
    root = address_space.plan([(i, s.name, s.group) for i, s in enumerate(specs)])
    built = address_space.build(server, ns, root, specs, "Int64", [True] * n)
    petra_s = time.perf_counter() - t0

    peer = Server()
    await peer.init()
    pns = await peer.register_namespace("urn:peer")
    t0 = time.perf_counter()
    top = await peer.nodes.objects.add_folder(pns, "Signals")
    folders = max(1, n // 100)
    for f in range(folders):
        folder = await top.add_folder(pns, f"f{f}")
        for i in range(f * 100, min(n, (f + 1) * 100)):
            await folder.add_variable(ua.NodeId(specs[i].name, pns), specs[i].name.rsplit(".", 1)[-1], 0.0)
    peer_s = time.perf_counter() - t0
    return {"petra_s": petra_s, "peer_s": peer_s, "folders": built.folders, "variables": built.variables}


# --- 2. load: PETRA in a child process --------------------------------------------


def _plant(tmp: Path, n: int, port: int) -> tuple[Path, Path]:
    from asyncua.crypto import cert_gen
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from petra.security import user_changes
    from petra.security.roles import Role

    plant = generate(100, 100)
    plant["signals"].extend({"name": f"field.g{i // 100}.s{i % 100}", "type": "float", "initial": 0.0,
                             "group": "field", "unit": "bar"} for i in range(n))
    users = tmp / "users.yaml"
    user_changes.add_user(users, "bench", Role.OPERATOR, PASSWORD, lambda *a, **k: None, "uid:0")
    pki = tmp / "pki"
    (pki / "trusted").mkdir(parents=True)
    key = cert_gen.generate_private_key()
    uri = "urn:petra-bench:client"
    cert = cert_gen.generate_self_signed_app_certificate(
        key, "bench", {}, [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")],
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH], days=2)
    (tmp / "client.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (pki / "trusted" / "client.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
    (tmp / "client.pem").write_bytes(cert_gen.dump_private_key_as_pem(key))
    plant["security"] = {"users_file": str(users)}
    plant["control"] = {"socket": str(tmp / "control.sock")}
    plant["opcua"] = {"host": "127.0.0.1", "port": port, "pki_dir": str(pki), "signals": ["field.*"],
                      "max_monitored_items": 20_000}
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(plant, sort_keys=False))
    return path, tmp


def run_petra(config_path: str, n: int, fraction: float, period_s: float, ready: Any, go: Any, done: Any,
              queue: Any, alone_s: float, pin: bool = False) -> None:
    import logging

    from petra.commands.common import load_or_report
    from petra.messages import SignalUpdate, UpdateSignals
    from petra.runtime import Runtime, RuntimeOptions

    logging.basicConfig(level=logging.WARNING)
    loaded = load_or_report(config_path, [])
    assert loaded is not None
    config, _ = loaded
    runtime = Runtime.from_config(config, RuntimeOptions(scan_time_ms=50, metrics_port=None, gc_freeze=True,
                                                         switch_interval_s=0.0005))
    runtime.start()
    assert runtime.tree is not None
    ref = runtime.tree.lookup("petra/services/opcua")
    deadline = time.monotonic() + 900
    while ref.proxy().endpoints().get(timeout=10)["opcua"] is None:
        if time.monotonic() > deadline:
            queue.put({"error": "the OPC-UA server did not start"})
            return
        time.sleep(0.1)
    build_s = ref.proxy().status().get(timeout=10)["build_s"]
    if pin:  # PETRA on CPU 0, its server process (and the client) on CPU 1
        os.sched_setaffinity(0, {0})
        for task in os.listdir("/proc/self/task"):
            os.sched_setaffinity(int(task), {0})
        os.sched_setaffinity(ref.proxy().server_pid().get(timeout=10), {1})
    ready.set()
    group = runtime.tree.lookup("petra/core/signals/field")
    names = [f"field.g{i // 100}.s{i % 100}" for i in range(n)]
    per = max(1, int(n * fraction))
    stop = threading.Event()
    sent = [0]

    def driver() -> None:
        offset = 0
        next_at = time.monotonic()
        while not stop.is_set():
            now = time.time()
            chunk = [names[(offset + k) % n] for k in range(per)]
            offset = (offset + per) % n
            group.tell(UpdateSignals(tuple(SignalUpdate(name, now) for name in chunk), "bench"))
            sent[0] += per
            next_at += period_s
            stop.wait(max(0.0, next_at - time.monotonic()))

    thread = threading.Thread(target=driver, name="bench-driver", daemon=True)
    thread.start()
    stats = runtime.plant.stats
    time.sleep(2.0)  # warm-up
    # the same changes with no client subscribed: what the change load alone costs the scan
    skip_late, skip_work = len(stats.lateness_samples()), len(stats.work_samples())
    time.sleep(alone_s)
    queue.put({"late": stats.lateness_samples()[skip_late:], "work": stats.work_samples()[skip_work:]})
    go.wait(600)  # the client subscribed
    time.sleep(2.0)
    skip_late, skip_work = len(stats.lateness_samples()), len(stats.work_samples())
    overruns0 = stats.overruns
    done.wait(600)
    late = stats.lateness_samples()[skip_late:]
    work = stats.work_samples()[skip_work:]
    stop.set()
    thread.join(5)
    metrics = runtime.plant.metrics.registry
    queue.put({"late": late, "work": work, "overruns": stats.overruns - overruns0, "sent": sent[0],
               "build_s": build_s, "value_updates": metrics.get_sample_value("petra_opcua_value_updates_total"),
               "load": os.getloadavg()})
    runtime.stop(timeout=20)


def run_floor(port: int, tmp: str, n: int, fraction: float, period_s: float, ready: Any, done: Any) -> None:
    """The floor: asyncua alone in a process of its own, the same 10,000 variables, security and changes.

    Its own API only (`add_folder`/`add_variable` in 100 folders of 100, `write_attribute_value` of the
    wall time), a user manager that lets the benchmark's user in, and its address space frozen out of the
    collector once built (without that, asyncua alone has a p99 of 600-700 ms here: full collections)."""
    import gc
    import logging

    logging.basicConfig(level=logging.ERROR)

    async def serve() -> None:
        from asyncua import Server, ua
        from asyncua.crypto import cert_gen
        from asyncua.crypto.permission_rules import User, UserRole
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        class Users:
            def get_user(self, iserver: Any, username: Any = None, password: Any = None, certificate: Any = None
                         ) -> Any:
                return User(role=UserRole.User, name=username) if password == PASSWORD else None

        server = Server(user_manager=Users())  # type: ignore[arg-type]
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/petra")
        key = cert_gen.generate_private_key()
        cert = cert_gen.generate_self_signed_app_certificate(
            key, "floor", {}, [x509.UniformResourceIdentifier("urn:freeopcua:python:server"),
                               x509.DNSName("localhost")], extended=[], days=2)
        folder = Path(tmp)
        (folder / "floor.der").write_bytes(cert.public_bytes(serialization.Encoding.DER))
        (folder / "floor.pem").write_bytes(cert_gen.dump_private_key_as_pem(key))
        await server.load_certificate(str(folder / "floor.der"))
        await server.load_private_key(str(folder / "floor.pem"))
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        ns = await server.register_namespace("urn:petra:signals")
        nodes: list[Any] = []
        for g in range(n // 100):
            group = await server.nodes.objects.add_folder(ns, f"g{g}")
            for i in range(100):
                node = await group.add_variable(ua.NodeId(f"field.g{g}.s{i}", ns), f"s{i}", 0.0)
                nodes.append(node.nodeid)
        per = max(1, int(n * fraction))
        async with server:
            gc.collect()
            gc.freeze()
            ready.set()
            offset, next_at = 0, time.monotonic()
            while not done.is_set():
                now = time.time()
                for k in range(per):
                    await server.write_attribute_value(nodes[(offset + k) % n],
                                                       ua.DataValue(ua.Variant(now, ua.VariantType.Double)))
                offset = (offset + per) % n
                next_at += period_s
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    asyncio.run(serve())


async def _measure(url: str, tmp: Path, args: Any, go: Any, done: Any) -> dict[str, Any]:
    state = await _client(url, tmp, args.signals, args.seconds, args.period_ms)
    if go is not None:
        go.set()
    await asyncio.sleep(3.0)  # the driver's warm-up and a little more
    state["measuring"][0] = True
    t0 = time.perf_counter()
    await asyncio.sleep(args.seconds)
    state["measuring"][0] = False
    elapsed = time.perf_counter() - t0
    await state["client"].disconnect()  # before the server is told to end: a clean close, no traceback
    done.set()
    return {"latencies": list(state["latencies"]), "elapsed": elapsed, "subscribe_s": state["subscribe_s"]}


def _client_process(url: str, tmp: str, args: Any, go: Any, done: Any, out: Any) -> None:
    if args.client_nice:
        os.nice(args.client_nice)
    if args.pin:
        os.sched_setaffinity(0, {1})
    out.put(asyncio.run(_measure(url, Path(tmp), args, go, done)))


def measure_apart(ctx: Any, url: str, tmp: Path, args: Any, go: Any, done: Any) -> dict[str, Any]:
    """The client in a process of its own (at `--client-nice`): what it saw."""
    out = ctx.Queue()
    client = ctx.Process(target=_client_process, args=(url, str(tmp), args, go, done, out))
    client.start()
    try:
        return out.get(timeout=args.seconds + 600)  # type: ignore[no-any-return]
    finally:
        client.join(30)


def floor_run(ctx: Any, tmp: Path, args: Any) -> dict[str, Any]:
    """The floor's changes/s and latency, with the same client."""
    port = _free_port()
    ready, done = ctx.Event(), ctx.Event()
    server = ctx.Process(target=run_floor, args=(port, str(tmp), args.signals, args.changing,
                                                 args.period_ms / 1000, ready, done))
    server.start()
    try:
        if not ready.wait(600):
            raise RuntimeError("the floor's server did not start")
        return measure_apart(ctx, f"opc.tcp://127.0.0.1:{port}/petra", tmp, args, None, done)
    finally:
        done.set()
        server.join(30)
        if server.is_alive():
            server.kill()


async def _client(url: str, tmp: Path, n: int, seconds: float, period_ms: int) -> dict[str, Any]:
    from asyncua import Client, ua
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

    client = Client(url, timeout=30, watchdog_intervall=10.0)
    client.application_uri = "urn:petra-bench:client"
    await client.set_security(SecurityPolicyBasic256Sha256, str(tmp / "client.der"), str(tmp / "client.pem"),
                              mode=ua.MessageSecurityMode.SignAndEncrypt)
    client.set_user("bench")
    client.set_password(PASSWORD)
    await client.connect()
    ns = await client.get_namespace_index("urn:petra:signals")
    latencies: list[float] = []
    measuring = [False]

    class Handler:
        def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
            if measuring[0] and isinstance(val, float) and val > 1e9:
                latencies.append(time.time() - val)

    sub = await client.create_subscription(period_ms, Handler())
    nodes = [client.get_node(ua.NodeId(f"field.g{i // 100}.s{i % 100}", ns)) for i in range(n)]
    t0 = time.perf_counter()
    for i in range(0, n, 1000):
        await sub.subscribe_data_change(nodes[i:i + 1000], queuesize=1)
    subscribe_s = time.perf_counter() - t0
    return {"client": client, "latencies": latencies, "measuring": measuring, "subscribe_s": subscribe_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--signals", type=int, default=10_000)
    parser.add_argument("--changing", type=float, default=0.1, help="fraction changed each period")
    parser.add_argument("--period-ms", type=int, default=100)
    parser.add_argument("--client-nice", type=int, default=0,
                        help="the client process's niceness (10: it takes only the CPU PETRA leaves, as a SCADA "
                             "client on its own machine would; 0, the default, competes with PETRA for the cores)")
    parser.add_argument("--pin", action="store_true",
                        help="PETRA on CPU 0, the server process and the client on CPU 1: what serving costs the "
                             "scan when the server has a core of its own (the two then share one core)")
    args = parser.parse_args()

    build = asyncio.run(_build(args.signals))
    print(f"OPC-UA benchmark (load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"client process at nice {args.client_nice})")
    print(f"  address space of {args.signals} signals: PETRA {build['petra_s']:.2f} s ({build['folders']} folders), "
          f"asyncua add_folder/add_variable 100 x 100 {build['peer_s']:.2f} s   target < {TARGET_BUILD_S} s")

    ctx = mp.get_context("spawn")
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        config_path, _ = _plant(tmp, args.signals, port)
        floor_ua = floor_run(ctx, tmp, args)
        q: mp.Queue = ctx.Queue()
        floor_proc = ctx.Process(target=bare_loop, args=(0.05, args.seconds, q))
        floor_proc.start()
        floor = q.get()
        floor_proc.join()
        ready, go, done = ctx.Event(), ctx.Event(), ctx.Event()
        petra = ctx.Process(target=run_petra, args=(str(config_path), args.signals, args.changing,
                                                    args.period_ms / 1000, ready, go, done, q, args.seconds, args.pin))
        petra.start()
        if not ready.wait(900):
            print("PETRA did not start", file=sys.stderr)
            petra.kill()
            return 1
        alone = q.get(timeout=args.seconds + 120)
        seen = measure_apart(ctx, f"opc.tcp://127.0.0.1:{port}/petra", tmp, args, go, done)
        result = q.get(timeout=120)
        petra.join(60)
    if "error" in result:
        print(result["error"], file=sys.stderr)
        return 1
    lat = seen["latencies"]
    rate = len(lat) / seen["elapsed"]
    offered = args.signals * args.changing / (args.period_ms / 1000)
    p50, p99, mx = (_pct(lat, 0.5) * 1e3, _pct(lat, 0.99) * 1e3, max(lat, default=float("nan")) * 1e3)
    fl99, pl99 = _pct(floor, 0.99) * 1e3, _pct(result["late"], 0.99) * 1e3
    w50, w99 = _pct(result["work"], 0.5) * 1e3, _pct(result["work"], 0.99) * 1e3
    print(f"  server's own build in PETRA: {result['build_s']:.2f} s; client subscribed to {args.signals} items in "
          f"{seen['subscribe_s']:.2f} s")
    print(f"  {args.changing:.0%} of {args.signals} changing every {args.period_ms} ms: offered {offered:.0f}/s, "
          f"delivered {rate:.0f} changes/s over {seen['elapsed']:.0f} s")
    flat = floor_ua["latencies"]
    print(f"  latency set -> client notification p50 {p50:.1f}  p99 {p99:.1f}  max {mx:.1f} ms   "
          f"target p99 < {TARGET_LATENCY_P99_MS} ms")
    print(f"  floor, asyncua alone in its own process: delivered {len(flat) / floor_ua['elapsed']:.0f} changes/s, "
          f"latency p50 {_pct(flat, 0.5) * 1e3:.1f}  p99 {_pct(flat, 0.99) * 1e3:.1f}  "
          f"max {max(flat, default=float('nan')) * 1e3:.1f} ms")
    print(f"  scan (10,000 blocks, 50 ms) with the same changes and no client: work p50 "
          f"{_pct(alone['work'], 0.5) * 1e3:.2f}  p99 {_pct(alone['work'], 0.99) * 1e3:.2f} ms; lateness p99 "
          f"{_pct(alone['late'], 0.99) * 1e3:.3f} ms")
    print(f"  scan (10,000 blocks, 50 ms) with that load: work p50 {w50:.2f}  p99 {w99:.2f} ms (target < "
          f"{TARGET_WORK_P99_MS}); lateness p99 {pl99:.3f} ms beside the bare loop's {fl99:.3f} ms "
          f"(target within 0.5 ms); overruns {result['overruns']}")
    print(f"  load average at the end: {' '.join(f'{x:.2f}' for x in result['load'])}")
    ok = (build["petra_s"] < TARGET_BUILD_S and p99 < TARGET_LATENCY_P99_MS and w99 < TARGET_WORK_P99_MS
          and pl99 <= fl99 + 0.5 and rate >= 0.9 * offered)
    print("  targets", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
