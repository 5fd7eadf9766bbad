"""petra-ctl's pure parts: error messages, parsing, rendering, sparklines; no PETRA needed."""

from __future__ import annotations

import argparse
import errno
import io
import ssl
from pathlib import Path

import pytest
from rich.console import Console

from petra.ctl import build_parser, main, target_from
from petra.ctl.client import Target, _error_message, describe_connection_error, parse_sse
from petra.ctl.commands import describe_reload, parse_value
from petra.ctl.render import fmt_duration, fmt_value, node_style, render_tree
from petra.ctl.top import TopModel, render_top, sparkline

UNIX = Target(socket_path=Path("/run/petra/control.sock"))
TCP = Target(url="https://plc1:8443", token="t")


def test_permission_denied_on_the_socket_names_the_petra_group():
    message = describe_connection_error(PermissionError(errno.EACCES, "Permission denied"), UNIX)
    assert message.startswith("permission denied on the PETRA control socket /run/petra/control.sock")
    assert "petra group" in message and "usermod -aG petra" in message


def test_a_missing_socket_asks_whether_petra_is_running_and_how_to_point_elsewhere():
    message = describe_connection_error(FileNotFoundError(errno.ENOENT, "No such file"), UNIX)
    assert message == ("no PETRA control socket at /run/petra/control.sock: is PETRA running? "
                       "(set --socket or PETRA_SOCKET)")


def test_a_refused_unix_connection_is_called_a_stale_socket():
    message = describe_connection_error(ConnectionRefusedError(errno.ECONNREFUSED, "refused"), UNIX)
    assert "nothing is listening" in message and "stale socket" in message


def test_tcp_failures_name_the_url_and_suggest_cacert_for_untrusted_certificates():
    refused = describe_connection_error(ConnectionRefusedError(errno.ECONNREFUSED, "refused"), TCP)
    assert "https://plc1:8443" in refused and "connection refused" in refused
    bad_cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    bad_cert.verify_message = "self-signed certificate"
    assert "--cacert" in describe_connection_error(bad_cert, TCP)
    assert "did not answer in time" in describe_connection_error(TimeoutError(), TCP)


def test_error_bodies_become_the_message_and_a_refused_reload_lists_its_problems():
    assert _error_message(404, {"error": "unknown signal 'x'"}, UNIX) == "unknown signal 'x'"
    assert "--token" in _error_message(401, {"error": "missing or invalid bearer token"}, TCP)
    refused = {"accepted": False, "reason": "signature invalid", "problems": ["plant.yaml: altered"]}
    assert _error_message(422, refused, UNIX) == "reload refused: signature invalid\n  - plant.yaml: altered"
    assert _error_message(502, None, UNIX) == "HTTP 502 from unix:/run/petra/control.sock"


def test_server_sent_events_yield_changes_and_skip_comments_and_other_events():
    lines = [": connected", "", ": keep-alive", "", "event: changes", 'data: {"owner": "g", "changes": []}', "",
             "event: other", "data: {}", "", "event: changes", "data: not json", ""]
    assert list(parse_sse(iter(lines))) == [{"owner": "g", "changes": []}]


def test_values_on_the_command_line_are_json_when_they_parse_else_text():
    assert parse_value("true") is True
    assert parse_value("3.5") == 3.5
    assert parse_value("12") == 12
    assert parse_value('"12"') == "12"
    assert parse_value("open valve") == "open valve"


def test_sparklines_scale_between_min_and_max_and_stay_flat_for_a_constant():
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5.0, 5.0, 5.0]) == "▄▄▄"
    assert sparkline([]) == ""


def test_top_model_keeps_the_last_30_numeric_values_per_signal():
    model = TopModel()
    for i in range(40):
        model.feed({"owner": "g", "changes": [{"name": "n", "value": i}, {"name": "s", "value": "text"}]}, now=i)
    _, value, count, values = next(row for row in model.busiest_signals(5) if row[0] == "n")
    assert (value, count) == (39, 40)
    assert values == [float(i) for i in range(10, 40)]
    assert next(row for row in model.busiest_signals(5) if row[0] == "s")[3] == []


def test_durations_and_values_read_the_way_an_operator_expects():
    assert [fmt_duration(s) for s in (0.25, 12.34, 252, 7500, 3 * 86400 + 4 * 3600)] == \
        ["250ms", "12.3s", "4m12s", "2h05m", "3d04h"]
    assert fmt_value(True) == "true" and fmt_value(0.1 + 0.2) == "0.3" and fmt_value(None) == "-"


def node(path: str, state: str = "running", restarts: int = 0, hung: int = 0, children=(), error=None) -> dict:
    return {"path": path, "name": path.rpartition("/")[2], "kind": "supervisor" if children else "worker",
            "state": state, "restarts": restarts, "last_error": error, "uptime_s": 5.0, "mailbox_depth": 0,
            "hung": hung, "children": list(children)}


def test_tree_nodes_are_coloured_by_health():
    assert node_style(node("a")) == "green"
    assert node_style(node("a", "restarting")) == "yellow"
    assert node_style(node("a", "starting")) == "yellow"
    for state in ("hung", "failed", "gave_up"):
        assert "red" in node_style(node("a", state))
    assert "red" in node_style(node("a", hung=1))


def test_the_rendered_tree_shows_restarts_in_yellow_and_the_last_error():
    tree = node("petra", children=[node("petra/core", children=[
        node("petra/core/mixer", restarts=2, error="ValueError: boom")])])
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=True, color_system="standard").print(render_tree(tree))
    ansi = out.getvalue()
    assert "\x1b[33m  restarts 2" in ansi and "\x1b[2m  restarts 0" in ansi  # yellow only where it restarted
    assert "\x1b[31m  last error: ValueError: boom" in ansi
    plain = Console(file=io.StringIO(), width=200)
    with plain.capture() as captured:
        plain.print(render_tree(tree))
    assert "petra/core/mixer  running  restarts 2  up 5.0s  mailbox 0  last error: ValueError: boom" in captured.get()


def test_top_renders_a_frame_from_status_tree_and_events():
    status = {"version": "0.1", "node_id": "n", "uptime_s": 1, "config": {"sha256": "ab" * 32}, "scan_time_ms": 20,
              "scan": {"ticks": 9, "overruns": 0, "lateness_p50_ms": 0.1}, "chain_work_ms": {"mixer": 0.5},
              "actors": {"total": 2, "running": 2}}
    model = TopModel()
    for i in range(8):
        model.feed({"changes": [{"name": "level", "value": i}]})
    console = Console(record=True, width=120)
    console.print(render_top(status, node("petra", children=[node("petra/x", restarts=1, error="boom")]), model))
    text = console.export_text()
    assert "scan every 20 ms" in text and "mixer" in text and "petra/x" in text and "boom" in text
    assert "▁▂▃▄▅▆▇█" in text


def test_an_accepted_reload_is_summarised_in_one_line():
    line = describe_reload({"accepted": True, "reason": "applied", "duration_ms": 4.2,
                            "changes": {"restarted": ["logic/a"], "stopped": [], "unchanged": 3}})
    assert line == "reload accepted (applied) in 4.2 ms: restarted: logic/a; unchanged: 3"


def test_the_socket_comes_from_the_flag_then_petra_socket_and_the_url_takes_its_token_from_petra_token():
    parse = build_parser().parse_args
    assert target_from(parse(["status"]), {"PETRA_SOCKET": "/x.sock"}).socket_path == Path("/x.sock")
    assert target_from(parse(["--socket", "/y.sock", "status"]), {"PETRA_SOCKET": "/x.sock"}).socket_path == \
        Path("/y.sock")
    assert target_from(parse(["status", "--socket", "/z.sock"]), {}).socket_path == Path("/z.sock")
    tcp = target_from(parse(["--url", "https://h:1", "tree"]), {"PETRA_TOKEN": "secret"})
    assert (tcp.url, tcp.token, tcp.socket_path) == ("https://h:1", "secret", None)


def test_json_is_accepted_before_or_after_the_command():
    parse = build_parser().parse_args
    assert parse(["--json", "status"]).json is True
    assert parse(["status", "--json"]).json is True
    assert parse(["status"]).json is False


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["inject", "petra/x", "melt"], ["inject", "petra/x", "crash", "3"],
                                  ["watch", "--count", "0"], ["--socket", "/a", "--url", "https://b", "status"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_hang_takes_optional_seconds_and_slow_takes_milliseconds():
    parse = build_parser().parse_args
    assert parse(["inject", "p", "hang"]).arg is None
    assert parse(["inject", "p", "hang", "2.5"]).arg == 2.5
    assert parse(["inject", "p", "slow", "40"]).arg == 40
    assert isinstance(parse(["inject", "p", "slow", "40"]), argparse.Namespace)
