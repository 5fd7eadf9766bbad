"""The web listener over HTTP against a real PETRA: the page, its static files, the control API on the same
listener (auth, roles, CSRF), the screens, the audit trail, the no-way-in refusal."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import wait_until
from tests.security.cheap_hashes import cheap_hashes as cheap_hashes
from tests.web.web_support import serving

STATIC = Path(__file__).resolve().parents[2] / "petra" / "web" / "static"


def test_the_page_and_its_modules_are_served_without_credentials_and_nothing_outside_static(tmp_path):
    with serving(tmp_path) as web:
        status, body, headers = web.call("GET", "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert body == (STATIC / "index.html").read_bytes()
        assert headers["Cache-Control"] == "no-cache" and headers["ETag"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        status, _, _ = web.call("GET", "/", headers={"If-None-Match": headers["ETag"]})
        assert status == 304
        module = next(p for p in sorted(STATIC.rglob("*.js")) if "vendor" not in p.parts)
        relative = module.relative_to(STATIC).as_posix()
        status, body, headers = web.call("GET", f"/static/{relative}")
        assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert body == module.read_bytes()
        for path in ("/static/../__init__.py", "/static/%2e%2e/__init__.py", "/static/..%2f__init__.py",
                     "/static/", "/static/nope.js", "/static/.hidden"):
            status, body, _ = web.call("GET", path)
            assert status in (400, 404), path
            assert b"__future__" not in (body if isinstance(body, bytes) else b""), path


def test_the_control_api_is_served_on_the_web_listener_with_its_auth_roles_and_csrf(tmp_path):
    with serving(tmp_path) as web:
        assert web.call("GET", "/v1/status")[0] == 401
        assert web.call("GET", "/v1/session")[0] == 401
        otto = web.login("otto")
        status, body = otto.get("/v1/session")
        assert status == 200 and body["user"] == "otto" and body["role"] == "operator"
        assert otto.get("/v1/signals/setpoint")[1]["value"] == 50.0
        status, body, _ = web.call("PUT", "/v1/signals/setpoint", {"value": 61}, headers=otto.headers())
        assert status == 403 and "CSRF" in body["error"]  # a cookie write without its token
        assert otto.send("PUT", "/v1/signals/setpoint", {"value": 61})[0] == 200
        assert web.running.value("setpoint") == 61.0
        status, body = web.login("vera").send("PUT", "/v1/signals/setpoint", {"value": 1})
        assert status == 403 and "operator" in body["error"]
        assert web.running.value("setpoint") == 61.0


def test_screens_give_each_widget_its_signal_type_unit_and_whether_the_caller_may_write_it(tmp_path):
    with serving(tmp_path) as web:
        status, body = web.login("otto").get("/v1/screens")
        assert status == 200
        [screen] = body["screens"]
        assert (screen["name"], screen["title"], screen["columns"]) == ("vessel", "Vessel", 12)
        widgets = screen["widgets"]
        gauge = widgets[1]
        assert gauge == {"type": "gauge", "signal": "temperature", "x": 3, "y": 0, "w": 3, "h": 1, "min": 0.0,
                         "max": 120.0, "signal_type": "float", "unit": "°C", "description": "",
                         "writable": False}
        assert widgets[2]["color"] == "red"
        assert [w["writable"] for w in widgets[3:6]] == [True, True, False]  # tuning needs an engineer
        assert "engineer" in widgets[5]["refusal"]
        assert widgets[6]["series"] == [{"signal": "temperature", "signal_type": "float", "unit": "°C"},
                                        {"signal": "count", "signal_type": "int", "unit": ""}]
        assert widgets[6]["minutes"] == 5.0
        viewer = web.login("vera").get("/v1/screens")[1]["screens"][0]["widgets"]
        assert not any(w["writable"] for w in viewer)
        engineer = web.login("erin").get("/v1/screens")[1]["screens"][0]["widgets"]
        assert [w["writable"] for w in engineer[3:6]] == [True, True, True]


def test_the_audit_trail_is_for_admins_newest_first_and_pages_by_seq(tmp_path):
    with serving(tmp_path) as web:
        ada = web.login("ada")
        otto = web.login("otto")
        for value in (1, 2, 3):
            assert otto.send("PUT", "/v1/signals/setpoint", {"value": value})[0] == 200
        status, body = ada.get("/v1/audit?limit=2")
        assert status == 200
        entries = body["entries"]
        assert [(e["event"], e["details"]["value"]) for e in entries] == [("signal.set", 3), ("signal.set", 2)]
        assert entries[0]["actor"] == "session:otto" and entries[0]["seq"] == entries[1]["seq"] + 1
        status, older = ada.get(f"/v1/audit?limit=2&before_seq={body['next_before_seq']}")
        assert [(e["event"], e["details"].get("value")) for e in older["entries"]] == [
            ("signal.set", 1), ("auth.login", None)]
        status, body = otto.get("/v1/audit")
        assert status == 403 and "admin" in body["error"]
        every = ada.get("/v1/audit?limit=10000")[1]
        seqs = [e["seq"] for e in every["entries"]]
        assert seqs == list(range(seqs[0], 0, -1)) and every["next_before_seq"] is None  # all of them, in order
        for query in ("limit=0", "limit=abc", "limit=1e400", "before_seq=-1", "before_seq=1.5"):
            status, body = ada.get(f"/v1/audit?{query}")
            assert status == 400 and body["error"], query


def test_with_no_users_the_page_loads_and_every_call_says_how_to_add_one(tmp_path):
    with serving(tmp_path, users=None) as web:
        assert web.call("GET", "/")[0] == 200
        status, body, _ = web.call("GET", "/v1/session")
        assert status == 401 and body["reason"] == "no_users"
        assert "petra user add NAME" in body["error"] and str(tmp_path / "users.yaml") in body["error"]
        status, body, _ = web.call("POST", "/v1/login", {"user": "x", "password": "y"})
        assert status == 503 and "petra user add" in body["error"]


def test_a_reload_that_changes_the_screens_serves_them_and_one_naming_a_missing_signal_is_refused(tmp_path):
    import yaml

    with serving(tmp_path) as web:
        ada = web.login("ada")
        config_path = tmp_path / "plant.yaml"
        data = yaml.safe_load(config_path.read_text())
        data["web"]["screens"][0]["title"] = "Vessel 2"
        config_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        tree = web.running.runtime.tree
        before = tree.lookup("petra/services/web")
        status, body = ada.send("POST", "/v1/reload")
        # it replaces the listener that serves it: answered before that listener stops, then applied
        assert status == 202 and body["accepted"] is True and "restarts" in body["reason"], body
        wait_until(lambda: tree.lookup("petra/services/web") not in (None, before))  # the new listener
        assert _title(ada) == "Vessel 2"  # the same session on it
        assert web.running.runtime.tree.lookup("petra/services/control") is not None
        data["web"]["screens"][0]["widgets"][0]["signal"] = "temprature"
        config_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        status, body = ada.send("POST", "/v1/reload")
        assert status == 422 and "unknown signal 'temprature' (did you mean 'temperature'?)" in json_text(body)
        assert ada.get("/v1/screens")[1]["screens"][0]["widgets"][0]["signal"] == "temperature"


def _title(session: object) -> str | None:
    try:
        status, body = session.get("/v1/screens")  # type: ignore[attr-defined]
    except OSError:
        return None  # the new listener is not up yet
    return body["screens"][0]["title"] if status == 200 else None


def json_text(body: object) -> str:
    import json

    return json.dumps(body)
