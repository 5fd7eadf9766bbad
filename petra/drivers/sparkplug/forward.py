"""Store and forward: what changed while the host could not see the node, sent from the WAL, is_historical.

The node reads the WAL as a consumer of its own, ``sparkplug``, whose cursor
(kept in the WAL's environment, durable with it) is the last sequence handled:
sent as historical, or not wanted. While the node reports live and nothing is
pending the actor moves the cursor to the head every few seconds (`follow`).
The cursor does not gate trimming: the WAL keeps consumed blocks for
``retention_hours`` (48 by default) and trims them early only when its map is
full, so a host that stays away for longer costs the oldest samples (counted as
lost and logged), never the plant's own history or the room for new samples.
What the node keeps in its state directory (`NodeState.pending`) is time::

    {"ranges": [[from_us, until_us or null], ...], "until_seq": WAL head to stop at, or null}

A range opens when live reporting stops (the primary host went offline, the
session was lost) and closes at the next birth: the birth carries the values
of that moment, live data carries every change stamped at or after it, and the
WAL carries the rest. A sample is sent once: it is historical when its time
lies in a closed range and its sequence is past the cursor, which is committed
after each message (a kill repeats at most the one message published before the
commit); live data skips changes stamped before the birth. The WAL's samples
go out in sequence order, so each signal's history arrives in order. Samples
trimmed from the WAL before they were sent are counted as lost and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from petra.config.model import PlantConfig
from petra.drivers.sparkplug.sequence import NodeState
from petra.drivers.sparkplug.settings import SparkplugConfig
from petra.storage.wal import Block

log = logging.getLogger(__name__)

Change = tuple[str, Any, int, float]
"""(signal, value, quality code, timestamp in seconds)."""
READ_SAMPLES = 5000
CONSUMER = "sparkplug"
"""The edge node's WAL cursor."""


class WalAccess(Protocol):
    """What the forwarder needs of the WAL: `Wal` itself, or the WAL actor's `WalClient`."""

    def read(self, after: int, max_samples: int, until: int | None = None) -> list[Block]: ...

    def cursor(self, name: str) -> int: ...

    def commit(self, name: str, seq: int) -> None: ...


def wal_consumers(plant_config: PlantConfig) -> tuple[str, ...]:
    """The cursor the WAL keeps for the edge node: one when the plant has a `sparkplug` and a `storage` section."""
    sections = plant_config.sections
    return (CONSUMER,) if sections.get("sparkplug") and sections.get("storage") else ()


def open_range(state: NodeState, now_us: int) -> None:
    """Live reporting stopped at `now_us` (the actor has moved the cursor to the head if nothing was pending)."""
    pending = state.pending
    if pending is None:
        state.pending = {"ranges": [[now_us, None]], "until_seq": None}
    elif not pending["ranges"] or pending["ranges"][-1][1] is not None:
        pending["ranges"].append([now_us, None])
        pending["until_seq"] = None
    state.save()


def close_range(state: NodeState, now_us: int) -> bool:
    """A birth at `now_us` ends the open range; True when there is something to send."""
    pending = state.pending
    if pending is None:
        return False
    if pending["ranges"] and pending["ranges"][-1][1] is None:
        pending["ranges"][-1][1] = now_us
    pending["until_seq"] = None  # fixed by `set_until` once the WAL holds the range's last samples
    state.save()
    return True


def set_until(state: NodeState, head: int) -> None:
    if state.pending is not None:
        state.pending["until_seq"] = head
        state.save()


class Forwarder:
    """Reads the pending samples from the WAL and hands them, in order, to `send(device, changes)`."""

    def __init__(self, config: SparkplugConfig, state: NodeState, wal: WalAccess,
                 send: Callable[[str, list[Change]], None], lost: Callable[[int], None]) -> None:
        self.config = config
        self.state = state
        self.wal = wal
        self.send = send
        self.lost = lost

    def step(self) -> bool:
        """Send the next WAL blocks of the pending ranges; True while more remains."""
        from petra.storage.rows import decode_block

        pending = self.state.pending
        if pending is None or pending.get("until_seq") is None:
            return False
        sent, until = self.wal.cursor(CONSUMER), int(pending["until_seq"])
        if sent >= until:
            self._done()
            return False
        blocks = self.wal.read(sent, READ_SAMPLES, until)
        if not blocks:  # nothing left up to `until` (the cursor follows the head again once this is done)
            self._done()
            return False
        ranges = [(a, b) for a, b in pending["ranges"] if b is not None]
        metrics = self.config.metrics
        limit = self.config.settings.max_metrics_per_message
        if blocks[0].first_seq > sent + 1:
            missing = blocks[0].first_seq - sent - 1
            self.lost(missing)
            log.warning("%s: %d WAL sample(s) after %d were trimmed before the host could get them",
                        self.config.driver_id, missing, sent)
        confirmed = sent  # every sample up to here is sent or not wanted; saved however this step ends
        run: list[Change] = []
        run_device: str | None = None
        run_last = sent
        try:
            for block in blocks:
                if block.last_seq <= sent:
                    continue
                if block.first_seq > until:
                    break
                columns = decode_block(block.payload).to_pydict()
                ts, names, vtypes, quality = (columns["ts_us"], columns["signal"], columns["vtype"],
                                              columns["quality"])
                values = (columns["value_bool"], columns["value_int"], columns["value_float"],
                          columns["value_string"])
                for i in range(len(ts)):
                    seq = block.first_seq + i
                    if seq <= sent or seq > until:
                        continue
                    metric = metrics.get(names[i])
                    stamp = ts[i]
                    if metric is None or not any(a <= stamp < b for a, b in ranges):
                        continue
                    if run and (metric.device != run_device or len(run) >= limit):
                        self.send(run_device or "", run)
                        confirmed, run = run_last, []
                        self._save(confirmed)
                    run_device = metric.device
                    vtype = vtypes[i]
                    value = values[vtype][i] if 0 <= vtype < 4 else None
                    run.append((names[i], value, quality[i], stamp / 1e6))
                    run_last = seq
                last = min(block.last_seq, until)
                if not run:
                    confirmed = last
                run_last = last  # the block's unwanted samples after the run's last go with it
            if run:
                self.send(run_device or "", run)
            confirmed = run_last
        finally:
            self._save(confirmed)
        if confirmed >= until:
            self._done()
            return False
        return True

    def _save(self, confirmed: int) -> None:
        """After each message: a kill repeats at most the message handed to paho before this commit."""
        if self.state.pending is not None:
            self.wal.commit(CONSUMER, confirmed)

    def _done(self) -> None:
        pending = self.state.pending
        if pending is not None and all(b is not None for _, b in pending["ranges"]):
            self.state.pending = None
            self.state.save()
