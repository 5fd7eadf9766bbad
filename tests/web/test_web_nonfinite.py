"""A float signal reading NaN or infinity (a division by zero in logic, a register that holds no float) reaches
the page as JSON a browser parses: the strings "NaN", "Infinity", "-Infinity" (a bare NaN is not JSON, and a
browser's JSON.parse would refuse the whole body: every other value of the batch with it)."""

from __future__ import annotations

import math

from petra import jsontext
from petra.signal_io import SignalWriter
from petra.values import Quality
from petra.web.fanout import Encoder
from tests.helpers import wait_until
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.sse import EventStream, strict_json
from tests.web.web_support import serving


def test_non_finite_floats_are_strings_anywhere_in_a_body_and_the_rest_is_untouched():
    body = {"a": math.nan, "b": [1.5, math.inf, {"c": -math.inf}], "d": (2, "NaN"), "e": None, "f": True}
    assert strict_json(jsontext.dumps(body)) == {"a": "NaN", "b": [1.5, "Infinity", {"c": "-Infinity"}],
                                                 "d": [2, "NaN"], "e": None, "f": True}
    assert jsontext.dumps({"x": 1.25}, sort_keys=True) == '{"x": 1.25}'


def test_the_stream_encoder_writes_a_non_finite_value_as_its_string():
    encoder = Encoder(lambda: ["t", "u", "v"])
    latest = {0: (math.nan, int(Quality.GOOD), 1.0), 1: (-math.inf, int(Quality.BAD), 1.0), 2: (3.5, 0, 1.0)}
    items = encoder.encode(latest, [0, 1, 2], {})
    assert [strict_json(items[slot])["value"] for slot in (0, 1, 2)] == ["NaN", "-Infinity", 3.5]


def test_a_nan_signal_leaves_the_api_and_the_stream_parseable_and_the_other_values_with_it(tmp_path):
    with serving(tmp_path) as web:
        otto = web.login("otto")
        stream = EventStream(web.port, otto.headers())
        try:
            stream_id = stream.next("hello").data["id"]
            wanted = {"signals": ["temperature", "setpoint", "count"]}
            assert otto.send("PUT", f"/v1/stream/{stream_id}", wanted)[0] == 200
            stream.next("changes")  # the current values
            runtime = web.running.runtime
            writer = SignalWriter(runtime.plant, runtime.tree.registry, "test")
            assert writer.write_values({"temperature": math.nan, "setpoint": math.inf}) == []
            seen: dict[str, object] = {}
            while not {"temperature", "setpoint", "count"} <= seen.keys() or seen["temperature"] != "NaN":
                for change in stream.next("changes").data["changes"]:  # strict: a bare NaN would fail here
                    seen[change["name"]] = change["value"]
            assert seen["setpoint"] == "Infinity" and isinstance(seen["count"], int | float)
            assert otto.get("/v1/signals/temperature")[1]["value"] == "NaN"
            listed = {s["name"]: s["value"] for s in otto.get("/v1/signals")[1]["signals"]}
            assert listed["temperature"] == "NaN" and listed["setpoint"] == "Infinity"
            wait_until(lambda: otto.get("/v1/signals/setpoint")[1]["value"] == "Infinity")
        finally:
            stream.close()
