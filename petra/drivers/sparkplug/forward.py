"""Store and forward: what changed while the host could not see the node, sent from the WAL, is_historical.

The node keeps its own position, not a WAL cursor: the WAL keeps consumed
blocks for ``retention_hours`` (48 by default) and trims unconsumed ones only
when its map is full, so the storage tiers' cursors decide trimming and this
reader only follows. Its state (`NodeState.pending`, in the node's state
directory) is::

    {"from_seq": WAL head when reporting first stopped, "sent_seq": last WAL sequence handled,
     "ranges": [[from_us, until_us or null], ...], "until_seq": WAL head to stop at, or null}

A range opens when live reporting stops (the primary host went offline, the
session was lost) and closes at the next birth: the birth carries the values
of that moment, live data carries every change stamped at or after it, and the
WAL carries the rest. A sample is sent once: it is historical when its time
lies in a closed range, and its sequence is past ``sent_seq``, which is saved
after each message (a kill repeats at most the one message published before the
save); live data skips changes stamped before the birth. The
WAL's samples go out in sequence order, so each signal's history arrives in
order. Samples trimmed from the WAL before they were sent (a WAL under
pressure) are counted as lost and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from petra.drivers.sparkplug.sequence import NodeState
from petra.drivers.sparkplug.settings import SparkplugConfig
from petra.storage.wal import Block

log = logging.getLogger(__name__)

Change = tuple[str, Any, int, float]
"""(signal, value, quality code, timestamp in seconds)."""
READ_SAMPLES = 5000


def open_range(state: NodeState, head: int, now_us: int) -> None:
    """Live reporting stopped at `now_us`; `head` is the WAL's head just before."""
    pending = state.pending
    if pending is None:
        state.pending = {"from_seq": head, "sent_seq": head, "ranges": [[now_us, None]], "until_seq": None}
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

    def __init__(self, config: SparkplugConfig, state: NodeState, read: Callable[[int, int, int], list[Block]],
                 send: Callable[[str, list[Change]], None], lost: Callable[[int], None]) -> None:
        self.config = config
        self.state = state
        self.read = read
        self.send = send
        self.lost = lost

    def step(self) -> bool:
        """Send the next WAL blocks of the pending ranges; True while more remains."""
        from petra.storage.rows import decode_block

        pending = self.state.pending
        if pending is None or pending.get("until_seq") is None:
            return False
        sent, until = int(pending["sent_seq"]), int(pending["until_seq"])
        if sent >= until:
            self._done()
            return False
        blocks = self.read(sent, READ_SAMPLES, until)
        if not blocks:
            self._done()
            return False
        ranges = [(a, b) for a, b in pending["ranges"] if b is not None]
        metrics = self.config.metrics
        limit = self.config.settings.max_metrics_per_message
        if sent > 0 and blocks[0].first_seq > sent + 1:  # sent 0: the WAL's head was not known
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
        """After each message: a kill repeats at most the message handed to paho before this save."""
        pending = self.state.pending
        if pending is not None:
            pending["sent_seq"] = confirmed
            self.state.save()

    def _done(self) -> None:
        pending = self.state.pending
        if pending is not None and all(b is not None for _, b in pending["ranges"]):
            self.state.pending = None
            self.state.save()
