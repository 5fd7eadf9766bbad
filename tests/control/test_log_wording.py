"""What the runtime logs at start and reload reads as a sentence: counts agree with their nouns, no Python dicts."""

from __future__ import annotations

import logging
import re

from petra.config.loader import load_config
from petra.wording import describe_changes, plural
from tests.control.conftest import write_config
from tests.harness import RunningPlant

ONE_CHAIN = {
    "node_id": "one",
    "scan_time_ms": 50,
    "signals": [{"name": "enable", "type": "bool", "initial": True}],
    "blocks": [{"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                "outputs": {"count_out": "count"}}],
}


def test_counts_agree_with_their_nouns():
    assert (plural(1, "chain"), plural(0, "chain"), plural(2, "entry", "entries")) == ("1 chain", "0 chains",
                                                                                        "2 entries")


def test_a_reload_summary_names_what_changed_and_skips_what_did_not():
    changes = {"restarted": ["logic/a"], "stopped": [], "sections_changed": ["alarms"], "unchanged": 3}
    assert describe_changes(changes) == "restarted: logic/a; sections changed: alarms; unchanged: 3"
    assert describe_changes({"restarted": [], "stopped": []}) == "nothing changed"


def test_start_and_reload_log_lines_read_as_sentences(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="petra.runtime")
    config_path = write_config(tmp_path / "plant.yaml", ONE_CHAIN)
    with RunningPlant(load_config(config_path), control_socket=tmp_path / "ctl.sock", config_path=config_path) as plant:
        assert plant.runtime.reload().accepted
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("plant running: 2 signals, 1 block in 1 chain,") for m in messages), messages
    [reload_line] = [m for m in messages if m.startswith("reload applied")]
    assert re.fullmatch(r"reload applied in [\d.]+ ms: unchanged: \d+", reload_line), reload_line
