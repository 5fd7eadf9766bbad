"""The python-snap7 glue of one PLC connection: connect, coalesced reads, writes.

Blocking calls, made from the driver's poll thread only. Connection errors
(refused, reset, timeout) become `ConnectionLost`; an error answer for one
read (e.g. "Object does not exist" for a missing DB, "Invalid address" for a
DB shorter than the mapping) or data of the wrong size marks only the mappings
of that read bad and is counted.
"""

from __future__ import annotations

import logging
import math

import snap7
from snap7.error import S7ConnectionError, S7Error, S7TimeoutError
from snap7.type import Area

from petra.drivers.driver_metrics import DriverMetrics
from petra.drivers.polling import ConnectionLost, Reading
from petra.drivers.s7.codec import (
    PDU_OVERHEAD,
    ReadRequest,
    S7DecodeError,
    decode,
    encode,
    mapping_size,
    plan_reads,
    set_bit,
    to_raw,
    to_signal,
)
from petra.drivers.s7.config import S7Mapping, S7PlcConfig
from petra.rate_limited_log import RateLimitedLog
from petra.values import Value

log = logging.getLogger(__name__)

_LOST = (S7ConnectionError, S7TimeoutError, OSError)


class S7Session:
    """One python-snap7 client for one PLC."""

    def __init__(self, plc: S7PlcConfig, metrics: DriverMetrics) -> None:
        self.plc = plc
        self.metrics = metrics
        self.reads: tuple[S7Mapping, ...] = tuple(m for m in plc.mappings if m.reads)
        self.writes: dict[str, S7Mapping] = {m.signal: m for m in plc.mappings if m.writes}
        self.pdu_size = 480
        self.plan: list[ReadRequest] = plan_reads(self.reads, self.pdu_size)
        self.client: snap7.Client | None = None
        self._rlog = RateLimitedLog(log)

    def connect(self) -> None:
        client = snap7.Client()
        try:
            client.connect(self.plc.ip, self.plc.rack, self.plc.slot, tcp_port=self.plc.port)
        except (S7Error, OSError) as exc:
            raise ConnectionLost(f"{self.plc.ip}:{self.plc.port}: {exc}") from exc
        connection = client.connection
        if connection is not None and connection.socket is not None:
            connection.timeout = self.plc.timeout_s
            connection.socket.settimeout(self.plc.timeout_s)
        self.client = client
        self.pdu_size = client.pdu_length or 480
        self.plan = plan_reads(self.reads, self.pdu_size)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.disconnect()

    @property
    def requests_per_poll(self) -> int:
        payload = self.pdu_size - PDU_OVERHEAD
        return sum(math.ceil(r.size / payload) for r in self.plan)

    def _client(self) -> snap7.Client:
        if self.client is None:
            raise ConnectionLost("not connected")
        return self.client

    def read(self, area: str, db_number: int, start: int, size: int) -> bytearray:
        """One byte-range read; counted. Raises ConnectionLost or S7Error."""
        client = self._client()
        self.metrics.requests.inc(math.ceil(size / (self.pdu_size - PDU_OVERHEAD)))
        try:
            return client.read_area(Area[area], db_number, start, size)
        except _LOST as exc:
            raise ConnectionLost(str(exc)) from exc

    def poll(self) -> list[Reading]:
        """Read the whole mapping. A coalesced read that gets an error answer is split into one
        read per mapping for good (until the next connect), so one bad address costs only itself."""
        readings: list[Reading] = []
        queue = list(self.plan)
        plan: list[ReadRequest] = []
        while queue:
            request = queue.pop(0)
            members = [self.reads[i] for i in request.members]
            try:
                data = self.read(request.area, request.db_number, request.start, request.size)
            except S7Error as exc:
                if len(members) > 1:
                    queue[0:0] = [ReadRequest(request.area, request.db_number, self.reads[i].address,
                                              mapping_size(self.reads[i]), (i,)) for i in request.members]
                    continue
                plan.append(request)
                self._failed(members, f"read {request.area}{request.db_number or ''}@{request.start}: {exc}")
                readings.extend(Reading(m.signal, None) for m in members)
                continue
            plan.append(request)
            if len(data) != request.size:
                self._failed(members, f"read {request.size} bytes at {request.start}, got {len(data)}")
                readings.extend(Reading(m.signal, None) for m in members)
                continue
            for mapping in members:
                try:
                    raw = decode(mapping.data_type, data, mapping.address - request.start, mapping.bit, mapping.length)
                except S7DecodeError as exc:
                    self._failed([mapping], str(exc))
                    readings.append(Reading(mapping.signal, None))
                    continue
                readings.append(Reading(mapping.signal, to_signal(mapping, raw)))
        self.plan = plan
        return readings

    def _failed(self, members: list[S7Mapping], why: str) -> None:
        self.metrics.errors.inc()
        self._rlog.warning(members[0].label, "s7:%s %s (%s)", self.plc.name, why,
                           ", ".join(f"{m.signal}@{m.label}" for m in members[:5]))

    def write(self, signal: str, value: Value) -> None:
        mapping = self.writes[signal]
        raw = to_raw(mapping, value)
        db = mapping.db_number if mapping.area == "DB" else 0
        if mapping.data_type == "bool":
            # Read-modify-write of the byte, as python-snap7's db_write_bool does; bit-length
            # writes are not handled correctly by every peer (python-snap7's server ignores the bit).
            current = self.read(mapping.area, db, mapping.address, 1)
            data = bytearray([set_bit(current[0], mapping.bit, bool(raw))])
        else:
            data = bytearray(encode(mapping.data_type, raw, mapping.length))
        client = self._client()
        self.metrics.requests.inc()
        try:
            client.write_area(Area[mapping.area], db, mapping.address, data)
        except _LOST as exc:
            raise ConnectionLost(str(exc)) from exc
