"""Every thread PETRA runs, and why: the census `petra-ctl status` shows.

A thread is one of two things:

- an **actor's thread**: every supervised actor that is not pooled runs on a thread
  named after its path (`petra/core/clock`, see `supervision.SupervisedActor`); its
  purpose is the first line of its class's docstring;
- a **helper thread**, matched by name against `ROLES`: the owner (an actor path or a
  subsystem) and a one-line purpose.

New code that starts a thread gives it a name and adds its role here, in the same
commit; `tests/test_footprint.py` fails for a thread of the demo plant that is
neither (`Thread-3`, `ThreadPoolExecutor-0_0`, `asyncio_0`). Threads the Python
runtime does not know (a native library's own pool) are counted apart, from
`/proc/self/task`, so the census never hides them.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from petra.paths import CLOCK, CONTROL, LOGIC, ROOT, SERVICES, STORAGE, section_group

if TYPE_CHECKING:
    from supervision import SupervisionTree

ALARMS = section_group("alarms")
DRIVERS = section_group("drivers")


@dataclass(frozen=True)
class ThreadRole:
    """A helper thread: names matching `pattern` (fnmatch) belong to `owner` and exist for `purpose`."""

    pattern: str
    owner: str
    purpose: str


ROLES: tuple[ThreadRole, ...] = (
    ThreadRole("MainThread", "petra run",
               "handles SIGTERM/SIGINT/SIGHUP, systemd notifications and the watchdog; starts and stops the tree"),
    ThreadRole("supervision-timer", "supervision",
               "the process's one timer: probe ticks of every supervisor, restart back-offs, stuck-worker checks "
               "of the actor pools, the WAL's flush timer (exists only while something is scheduled)"),
    ThreadRole("pool-logic-*", LOGIC, "a worker of the block-chain pool: runs the chains' scans (pooled actors)"),
    ThreadRole("pool-alarms-*", ALARMS, "a worker of the alarm pool: runs the alarm state machines (pooled actors)"),
    ThreadRole("pool-services-*", SERVICES,
               "the worker of the services pool: runs the control and metrics actors (start, probes, lookups)"),
    ThreadRole("pool-*", "supervision", "a worker of an actor pool: runs pooled actors' messages"),
    ThreadRole("petra-clock", CLOCK, "sleeps to each scan's absolute deadline and sends Tick to the chains"),
    ThreadRole("petra-http", SERVICES,
               "the one event loop (aiohttp) of every HTTP listener: control API, metrics, Twilio webhooks; "
               "every connection is a coroutine on it"),
    ThreadRole("petra-control-api_*", CONTROL,
               "runs a control API request that may wait on an actor (started on demand, at most 8)"),
    ThreadRole("petra-control-self-restart", CONTROL, "restarts the control actor after answering the request"),
    ThreadRole(f"{STORAGE}/*-worker", STORAGE, "a history tier's worker: reads the WAL and writes its sink"),
    ThreadRole("petra-s7:*", DRIVERS, "an S7 driver's poll loop (python-snap7 calls block)"),
    ThreadRole("petra-modbus:*", DRIVERS, "a Modbus driver's poll loop (pymodbus calls block)"),
    ThreadRole("sparkplug:*", f"{SERVICES}/sparkplug:*",
               "a Sparkplug edge node's helper: paho's loop of its session (-paho), the coalesce_ms window "
               "(-gather), store-and-forward timers (-timer)"),
    ThreadRole("paho-mqtt-client-*", DRIVERS, "paho's network loop of an MQTT bridge: reads and writes the socket"),
    ThreadRole("mqtt:*-ticker", DRIVERS, "an MQTT bridge's periodic publish (publish_on_change: false)"),
    ThreadRole("alarm-timers", ALARMS, "the alarm service's timers: delays, shelving expiry, escalation steps"),
    ThreadRole("alarm-store-writer", ALARMS,
               "commits alarm transitions to the LMDB store in batches (ends when idle)"),
    ThreadRole("petra-twilio-webhooks_*", ALARMS, "runs a Twilio webhook request (started on demand)"),
    ThreadRole("petra-opcua-feed", f"{SERVICES}/opcua",
               "sends the served signals' changes and the alarm transitions to the OPC-UA server's process "
               "(its bus listener only queues)"),
    ThreadRole("petra-opcua-link", f"{SERVICES}/opcua",
               "reads the pipe from the OPC-UA server's process: its reports, audit events and log records"),
    ThreadRole("petra-opcua-call_*", f"{SERVICES}/opcua",
               "one of 2 workers answering the OPC-UA server's process: logins, client writes, alarm methods, "
               "status values"),
    ThreadRole("petra-web-fanout-link", f"{SERVICES}/web",
               "reads the pipe from the web streams' fan-out process: each batch's bytes for every stream"),
    ThreadRole("petra-web-fanout-stop", f"{SERVICES}/web",
               "waits for the web streams' fan-out process to end once the last stream closed (kills it late)"),
    ThreadRole("petra-simulator", "petra run --simulate", "the plant simulator's process model"),
    ThreadRole("modbus-server", "petra run --simulate", "the simulated Modbus device's server"),
)
"""Every helper thread's role, first match wins (so a specific pattern comes before a general one)."""

LIBRARIES = ("pyarrow", "numpy", "pandas", "asyncua", "clickhouse_driver", "twilio", "snap7", "pymodbus", "paho",
             "lmdb", "boto3", "botocore", "cryptography")
"""The optional libraries of the sections: each is loaded only when the config uses what needs it."""


def role_of(name: str) -> ThreadRole | None:
    """The helper-thread role whose pattern matches `name`, or None."""
    return next((role for role in ROLES if fnmatch.fnmatchcase(name, role.pattern)), None)


def _actor_purpose(tree: SupervisionTree | None, path: str) -> str | None:
    if tree is None:
        return None
    if path == tree.name:
        return "the root supervisor"
    ref = tree.lookup(path)
    if ref is None:
        return None
    doc = (ref.actor_class.__doc__ or "").strip().splitlines()
    return f"actor: {doc[0].rstrip('.')}" if doc else f"actor {ref.actor_class.__name__}"


def _cpu_s(native_id: int | None) -> float | None:
    """CPU seconds (user + system) the thread has used, from /proc (None where there is no /proc)."""
    if native_id is None:
        return None
    try:
        with open(f"/proc/self/task/{native_id}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def census(tree: SupervisionTree | None) -> list[dict[str, Any]]:
    """One row per Python thread: name, owner, purpose, CPU seconds; `owner` None when it is unregistered."""
    rows = []
    for thread in sorted(threading.enumerate(), key=lambda t: t.name):
        purpose = _actor_purpose(tree, thread.name) if thread.name.startswith(f"{ROOT}/") or \
            thread.name == ROOT else None
        if purpose is not None:
            owner: str | None = thread.name
        else:
            role = role_of(thread.name)
            owner, purpose = (role.owner, role.purpose) if role is not None else (None, None)
        cpu = _cpu_s(thread.native_id)
        rows.append({"name": thread.name, "owner": owner, "purpose": purpose,
                     "cpu_s": None if cpu is None else round(cpu, 2)})
    return rows


def process_status(tree: SupervisionTree | None) -> dict[str, Any]:
    """What this process holds: memory, threads (the census), native threads, optional libraries loaded."""
    threads = census(tree)
    status: dict[str, Any] = {"threads": threads}
    memory = _proc_status()
    if memory:
        status.update(memory)
        status["native_threads"] = max(0, memory.pop("os_threads") - len(threads))
    status["libraries"] = sorted(name for name in LIBRARIES if name in sys.modules)
    return status


def _proc_status() -> dict[str, int]:
    fields = {"VmRSS": "rss_bytes", "VmHWM": "peak_rss_bytes", "Threads": "os_threads"}
    found: dict[str, int] = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in fields:
                    number = int(value.split()[0])
                    found[fields[key]] = number * 1024 if key.startswith("Vm") else number
    except OSError:
        return {}
    return found if len(found) == len(fields) else {}
