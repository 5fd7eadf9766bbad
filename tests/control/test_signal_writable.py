"""`writable` in GET /v1/signals says, per caller, what PUT /v1/signals/NAME then does.

The web HMI shows a Write control only where `writable` is true; this walks every role (a config token
each, on a real PETRA's TLS listener) over every signal and holds the flag to the write's answer: 200
where it is true, 403 or 409 where it is false, and the same flag in GET /v1/signals/NAME.
"""

from __future__ import annotations

from petra.security.roles import ROLE_NAMES
from tests.control.test_access_table import TOKENS, server  # noqa: F401  (the fixture)


def test_writable_is_what_a_write_by_that_caller_gets(server):  # noqa: F811
    seen = {}
    for role in ROLE_NAMES:
        status, body, _ = server.call("GET", "/v1/signals", token=TOKENS[role])
        assert status == 200
        for signal in body["signals"]:
            name = signal["name"]
            assert isinstance(signal["writable"], bool), signal
            status_one, one, _ = server.call("GET", f"/v1/signals/{name}", token=TOKENS[role])
            assert status_one == 200 and one["writable"] is signal["writable"], (role, name)
            answer, reply, _ = server.call("PUT", f"/v1/signals/{name}", {"value": signal["value"]}, token=TOKENS[role])
            expected = (200,) if signal["writable"] else (403, 409)
            assert answer in expected, (role, name, signal["writable"], answer, reply)
            seen[(role, name)] = signal["writable"]
    # the walk met both answers for every role above viewer, and a viewer may write nothing
    assert not any(writable for (role, _), writable in seen.items() if role == "viewer")
    for role in ROLE_NAMES[1:]:
        flags = {writable for (who, _), writable in seen.items() if who == role}
        assert flags == {True, False}, role
    assert seen[("operator", "setpoint")] and not seen[("admin", "locked")] and not seen[("admin", "wave")]
