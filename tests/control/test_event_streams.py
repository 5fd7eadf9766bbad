"""Event streams share one bus listener per pattern and pick their signals by slot, not by name per change."""

from __future__ import annotations

import http.client
import json

from petra.control.event_filter import EventFanout, PatternSlots
from petra.signals import SignalTable
from tests.control.conftest import PLANT, write_config
from tests.control.test_control_server import UnixHTTPConnection
from tests.helpers import wait_until


def open_stream(sock, pattern: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = UnixHTTPConnection(sock)
    conn.request("GET", f"/v1/events?pattern={pattern}")
    response = conn.getresponse()
    assert response.status == 200 and response.readline().startswith(b": connected")
    return conn, response


def events(response: http.client.HTTPResponse, count: int) -> list[dict]:
    found = []
    while len(found) < count:
        line = response.readline().decode()
        if line.startswith("data: "):
            found.append(json.loads(line[6:]))
    return found


def listeners(running) -> int:
    return len(running.plant.bus._subscribers)


def test_streams_of_one_pattern_share_a_listener_and_each_gets_only_its_pattern(running, tmp_path):
    base = listeners(running)
    sock = tmp_path / "ctl.sock"
    first, second, other = open_stream(sock, "wave*"), open_stream(sock, "wave*"), open_stream(sock, "count")
    assert listeners(running) == base + 2  # one per distinct pattern, not per stream
    for _, response in (first, second):
        for event in events(response, 3):
            assert set(event) == {"owner", "changes", "dropped"} and event["owner"] == "logic/gen"
            assert {c["name"] for c in event["changes"]} <= {"wave", "wave_high"} and event["dropped"] == 0
            assert set(event["changes"][0]) == {"name", "value", "quality", "timestamp"}
    assert all({c["name"] for c in e["changes"]} == {"count"} for e in events(other[1], 3))
    for conn, response in (first, second, other):
        response.close()  # the response holds the socket open as long as it lives
        conn.close()
    wait_until(lambda: listeners(running) == base)  # the last stream of a pattern takes its listener along


def test_a_reload_that_adds_a_matching_signal_streams_it_too(running, tmp_path):
    conn, response = open_stream(tmp_path / "ctl.sock", "c*")
    assert {c["name"] for e in events(response, 2) for c in e["changes"]} == {"count"}
    copy = {"name": "copy", "type": "ADD", "inputs": {"in1": "count", "in2": "0"}, "outputs": {"out": "count_copy"}}
    data = dict(PLANT, blocks=[*PLANT["blocks"], copy])
    write_config(tmp_path / "plant.yaml", data)
    assert running.reload(caller="test").accepted
    wait_until(lambda: any(c["name"] == "count_copy" for e in events(response, 1) for c in e["changes"]))
    response.close()
    conn.close()


def test_the_slots_of_a_pattern_follow_the_table_and_a_star_means_every_signal():
    from petra.config.model import SignalConfig
    from petra.values import DataType

    table = SignalTable([SignalConfig(n, DataType.FLOAT, 0.0) for n in ("tank1", "tank2", "pump")])
    tanks = PatternSlots(table, "tank*")
    assert tanks.wanted() == {0, 1}
    assert PatternSlots(table, "*").wanted() is None and PatternSlots(table, "").wanted() is None
    table.apply_layout([*table.specs, SignalConfig("tank3", DataType.FLOAT, 0.0)], {})
    assert tanks.wanted() == {0, 1, 3}
    table.apply_layout([s for s in table.specs if s.name != "tank1"], {})
    assert tanks.wanted() == {1, 3}


def test_an_event_is_written_as_json_dumps_would_write_it():
    item = {"owner": 'logic/"odd"', "changes": [{"name": "x", "value": 1.5, "quality": "good", "timestamp": 2.0}]}
    assert EventFanout.data(item["owner"], json.dumps(item["changes"]), 7) == json.dumps({**item, "dropped": 7})
