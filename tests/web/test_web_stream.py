"""GET /v1/stream against a real PETRA: one stream per tab, its subscription changed by PUT without
reconnecting, batched changes, alarm and status events, the limits."""

from __future__ import annotations

import asyncio
import http.client
import socket

import pytest

from petra.control.calls import ApiError
from petra.web.stream import BATCH_S, MAX_PENDING, Stream
from tests.helpers import wait_until
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.sse import EventStream, strict_json
from tests.web.web_support import serving


def alarms(tmp_path):
    return {"alarms": [{"id": "vessel_hot", "name": "Vessel hot", "signal": "temperature", "condition": "above",
                        "setpoint": 80.0, "severity": "critical"}],
            "contacts": [], "escalation_chains": {}, "state_dir": str(tmp_path / "alarms")}


def test_a_stream_says_hello_then_carries_what_its_subscription_asks_and_changes_without_reconnecting(tmp_path):
    with serving(tmp_path) as web:
        otto = web.login("otto")
        stream = EventStream(web.port, otto.headers())
        try:
            assert stream.status == 200
            stream_id = stream.next().data["id"]
            status, body = otto.send("PUT", f"/v1/stream/{stream_id}", {"signals": ["count", "set*"]})
            assert status == 200 and body == {"id": stream_id, "signals": ["count", "set*"], "matched": 2,
                                              "alarms": False, "status": False}
            first = stream.next("changes")
            assert {c["name"] for c in first.data["changes"]} == {"count", "setpoint"}  # current values at once
            assert first.data["dropped"] == 0
            events, counts, stamps = 0, [], []
            while events < 10:
                changes = stream.next("changes").data["changes"]
                events += 1
                counts.extend(c["value"] for c in changes if c["name"] == "count")
                stamps.append(max(c["timestamp"] for c in changes))
                assert {c["name"] for c in changes} <= {"count", "setpoint"}
            assert counts == sorted(counts) and len(set(counts)) == len(counts)  # in order, never twice
            # batched and coalesced: with a 20 ms scan, a batch per 100 ms carries each signal once, with its
            # newest value (the count moved by several scans between batches; an event may carry two batches when
            # the tab was slower than them), and the newest change of one event is at least a batch after the
            # one before
            assert events <= len(counts) <= 2 * events and counts[-1] - counts[0] >= 2 * (len(counts) - 1), counts
            assert (stamps[-1] - stamps[0]) >= (events - 1) * BATCH_S * 0.5, stamps
            assert otto.send("PUT", f"/v1/stream/{stream_id}", {"signals": ["setpoint"]})[0] == 200
            assert otto.send("PUT", "/v1/signals/setpoint", {"value": 77})[0] == 200
            while True:  # what was queued before the PUT may still come; then only setpoint
                changes = stream.next("changes").data["changes"]
                if any(c["name"] == "setpoint" and c["value"] == 77.0 for c in changes):
                    break
            assert otto.send("PUT", "/v1/signals/setpoint", {"value": 78})[0] == 200
            assert stream.next("changes").data["changes"] == [
                {"name": "setpoint", "value": 78.0, "quality": "good",
                 "timestamp": web.running.plant.table.timestamps[web.running.plant.table.index["setpoint"]]}]
        finally:
            stream.close()


def test_a_put_needs_an_open_stream_of_the_caller_and_a_valid_body(tmp_path):
    with serving(tmp_path) as web:
        otto, vera = web.login("otto"), web.login("vera")
        assert EventStream(web.port, {}).status == 401
        stream = EventStream(web.port, otto.headers())
        try:
            stream_id = stream.next("hello").data["id"]
            assert vera.send("PUT", f"/v1/stream/{stream_id}", {"signals": "*"})[0] == 404  # not hers
            assert otto.send("PUT", "/v1/stream/nope", {"signals": "*"})[0] == 404
            for body, words in [({"signals": ["temprature"]}, "unknown signal 'temprature'"),
                                ({"signals": "all"}, 'signals must be "*" or a list'),
                                ({"alarms": "yes"}, "alarms must be true or false"),
                                ({"signal": ["count"]}, "unknown key 'signal'")]:
                status, reply = otto.send("PUT", f"/v1/stream/{stream_id}", body)
                assert status == 400 and words in reply["error"], reply
            status, reply, _ = web.call("PUT", f"/v1/stream/{stream_id}", raw=b"{nope",
                                        headers=otto.headers(write=True))
            assert status == 400 and "not valid JSON" in reply["error"]
        finally:
            stream.close()
        # once the tab is gone its id is unknown
        hub = web.running.runtime.wiring.section_state("web")["hub"]
        wait_until(lambda: not hub.streams())
        assert otto.send("PUT", f"/v1/stream/{stream_id}", {"signals": "*"})[0] == 404


def test_alarm_changes_and_status_come_on_the_same_stream(tmp_path):
    with serving(tmp_path, alarms=alarms(tmp_path)) as web:
        otto = web.login("otto")
        stream = EventStream(web.port, otto.headers())
        try:
            stream_id = stream.next("hello").data["id"]
            assert otto.send("PUT", f"/v1/stream/{stream_id}", {"alarms": True, "status": True})[0] == 200
            first = stream.next("status")
            status = first.data
            assert "process" not in status and status["node_id"] == "web-test" and "scan" in status
            second = stream.next("status")
            # once a second, not on every change: by the server's own clock (arrival times carry the
            # machine's scheduling delays; a late first one made a 0.79 s gap in a loaded CI run)
            assert second.data["uptime_s"] - status["uptime_s"] >= 0.85
            assert otto.send("PUT", "/v1/signals/temperature", {"value": 95})[0] == 200
            alarm = stream.next("alarms").data
            assert alarm["id"] == "vessel_hot" and alarm["active"] is True
            assert alarm == otto.get("/v1/alarms/vessel_hot")[1] | {"value": alarm["value"]}
        finally:
            stream.close()


def test_past_64_streams_the_next_gets_503_and_a_closed_one_frees_its_place(tmp_path):
    with serving(tmp_path) as web:
        vera = web.login("vera")
        streams = [EventStream(web.port, vera.headers()) for _ in range(64)]
        try:
            assert all(s.status == 200 for s in streams)
            extra = EventStream(web.port, vera.headers())
            assert extra.status == 503 and b"64 streams" in extra.response.read()
            streams.pop().close()
            hub = web.running.runtime.wiring.section_state("web")["hub"]
            wait_until(lambda: len(hub.streams()) == 63)
            again = EventStream(web.port, vera.headers())
            assert again.status == 200
            streams.append(again)
        finally:
            for s in streams:
                s.close()


def test_on_the_control_listener_the_stream_route_says_where_it_is_served(tmp_path):
    with serving(tmp_path):
        connection = UnixConnection(str(tmp_path / "c.sock"))
        connection.request("GET", "/v1/stream")
        reply = connection.getresponse()
        assert reply.status == 404 and b"web HMI's listener (127.0.0.1:" in reply.read()


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def test_a_slow_tab_loses_changes_counted_in_dropped_never_memory():
    loop = asyncio.new_event_loop()
    try:
        stream = Stream("s", "otto", loop)
        stream.offer([("a", i, "good", 0.0) for i in range(MAX_PENDING - 10)])
        stream.offer([("a", i, "good", 0.0) for i in range(25)])
        changes, _, dropped = stream.take()
        assert len(changes) == MAX_PENDING and dropped == 15
        stream.offer([("a", 1, "good", 0.0)])
        assert stream.take()[2] == 15  # the total so far
    finally:
        loop.close()


def test_parse_refuses_what_a_subscription_is_not():
    from petra.web.stream import Subscription

    index = {"a": 0, "b1": 1, "b2": 2}
    assert Subscription.parse({"signals": ["b*"]}, index).signals == frozenset({1, 2})
    assert Subscription.parse({"signals": "*", "status": True}, index).signals is None
    with pytest.raises(ApiError, match="unknown signals 'x', 'y'"):
        Subscription.parse({"signals": ["a", "x", "y"]}, index)


def test_a_stream_whose_session_ends_says_so_and_closes(tmp_path):
    with serving(tmp_path) as web:
        otto = web.login("otto")
        stream = EventStream(web.port, otto.headers())
        try:
            stream.next("hello")
            assert otto.send("POST", "/v1/logout")[0] == 200
            ended = stream.next("ended", timeout=15)
            assert ended.data["status"] == 401
            with pytest.raises(ConnectionError):
                stream.next(timeout=5)
        finally:
            stream.close()


def test_the_encoded_items_are_the_json_of_each_change():
    from types import SimpleNamespace

    from petra.web.fanout import Encoder

    table = SimpleNamespace(names=["a", 'q"x', "s"], index={"a": 0, 'q"x': 1, "s": 2}, forced={1: (3, "test \u00e9")})
    encoder = Encoder(lambda: table.names)
    for slot, value, quality in [(0, 1.5, 0), (0, float("nan"), 0), (1, 3, 1), (2, "text \"\u00e9\"", 2),
                                 (0, True, 0), (0, 1e300, 0)]:
        item = strict_json(encoder.encode({slot: (value, quality, 1700000000.123456)}, [slot], table.forced)[slot])
        expected = {"name": table.names[slot], "value": "NaN" if value != value else value,  # a browser parses it
                    "quality": ["good", "uncertain", "bad"][quality], "timestamp": 1700000000.123456}
        if slot == 1:
            expected.update(forced=True, force_reason="test \u00e9")
        assert item == expected, item


def test_a_forced_signal_is_flagged_on_the_stream_and_its_release_too(tmp_path):
    with serving(tmp_path) as web:
        erin = web.login("erin")
        stream = EventStream(web.port, erin.headers())
        try:
            stream_id = stream.next().data["id"]
            assert erin.send("PUT", f"/v1/stream/{stream_id}", {"signals": ["setpoint", "count"]})[0] == 200
            assert "forced" not in next(c for c in stream.next("changes").data["changes"] if c["name"] == "setpoint")

            def setpoint_item(forced: bool) -> dict:
                while True:
                    found = [c for c in stream.next("changes").data["changes"] if c["name"] == "setpoint"]
                    if found and found[-1].get("forced", False) == forced:
                        return found[-1]

            assert erin.send("POST", "/v1/signals/setpoint/force", {"value": 12.5, "reason": "loop check"})[0] == 200
            item = setpoint_item(True)
            assert item["value"] == 12.5 and item["force_reason"] == "loop check"
            assert erin.send("DELETE", "/v1/signals/setpoint/force", {"reason": "done"})[0] == 200
            assert "force_reason" not in setpoint_item(False)  # released: the flag goes, whether or not it changed
        finally:
            stream.close()
