"""PlantConfig.settings: a reader gets its section as the frozen settings model, parsed once per config."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from petra import logs
from petra.config.errors import ConfigError
from petra.config.history import HistoryPolicy
from petra.config.sections import SecuritySettings
from petra.control.settings import ControlSettings, Token
from petra.logs import apply_config_level, setup_logging
from petra.runtime import RuntimeOptions, audit_path
from tests.config.support import load

SIGNALS = """
signals:
  - {name: x, type: float}
"""


def test_an_absent_section_reads_as_its_declared_defaults():
    config = load(SIGNALS)
    assert config.security == SecuritySettings()
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9090)
    assert config.logging.level == "info"
    assert config.settings("control", ControlSettings) == ControlSettings()


def test_a_section_is_parsed_once_per_config_and_again_for_a_replaced_one():
    config = load(SIGNALS + "security:\n  require_tls: true\n")
    assert config.security is config.security
    assert config.security.require_tls
    other = replace(config, sections={})
    assert not other.security.require_tls


def test_the_control_section_parses_into_its_model_with_the_tcp_defaults():
    config = load(SIGNALS + """
control:
  tcp:
    port: 8443
    tokens: [plain, {token: secret, name: ops, role: engineer}]
""")
    control = config.settings("control", ControlSettings)
    assert control.tcp is not None
    assert (control.tcp.host, control.tcp.port, control.tcp.cert_file) == ("127.0.0.1", 8443, None)
    assert control.tcp.tokens == ("plain", Token(token="secret", name="ops", role="engineer"))


def test_audit_path_takes_the_declared_default_when_audit_logging_is_on():
    config = load(SIGNALS + "security:\n  enable_audit_logging: true\n")
    assert audit_path(RuntimeOptions(), config) == Path("./data/audit.log")
    assert audit_path(RuntimeOptions(audit_log=Path("/tmp/a.log")), config) == Path("/tmp/a.log")
    assert audit_path(RuntimeOptions(), load(SIGNALS)) is None


@pytest.fixture
def root_logger():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_logging_level_of_the_config_applies_unless_the_environment_chose(root_logger, monkeypatch):
    monkeypatch.delenv("PETRA_LOG", raising=False)
    monkeypatch.setattr(logs, "_level_by_default", logs._level_by_default)  # restored after the test
    setup_logging(None)
    apply_config_level(load(SIGNALS + "logging:\n  level: error\n"))
    assert root_logger.level == logging.ERROR
    apply_config_level(load(SIGNALS))  # a config without logging.level goes back to the default
    assert root_logger.level == logging.INFO
    setup_logging("warning")
    apply_config_level(load(SIGNALS + "logging:\n  level: debug\n"))
    assert root_logger.level == logging.WARNING


def test_a_signals_history_override_has_the_storage_history_keys_and_limits_but_no_defaults():
    from petra.config.schema import build_schema
    from petra.config.settings import schema_of

    schema = build_schema(block_details=False)
    override = schema["properties"]["signals"]["items"]["properties"]["history"]["anyOf"][1]
    default = schema["properties"]["storage"]["properties"]["history"]
    assert default == schema_of(HistoryPolicy, "Defaults for how every signal is recorded.")
    assert list(override["properties"]) == list(default["properties"]) == ["mode", "deadband", "min_interval_ms",
                                                                            "max_interval_ms"]
    for key, fragment in override["properties"].items():
        assert fragment == {k: v for k, v in default["properties"][key].items() if k not in ("default", "description")}
    assert "required" not in override and override["additionalProperties"] is False


def test_a_signals_history_override_is_not_filled_and_merges_over_the_storage_default():
    config = load("""
signals:
  - {name: x, type: float, history: {deadband: 0.5}}
storage:
  history: {max_interval_ms: 1000}
""")
    assert config.signal("x").history == {"deadband": 0.5}
    default = HistoryPolicy(max_interval_ms=1000)
    assert default.merged(config.signal("x").history) == HistoryPolicy(deadband=0.5, max_interval_ms=1000)


def test_a_signals_history_override_is_held_to_the_declared_limits():
    with pytest.raises(ConfigError, match="deadband"):
        load(SIGNALS.replace("type: float}", "type: float, history: {deadband: -1}}"))
    with pytest.raises(ConfigError, match="mode"):
        load(SIGNALS.replace("type: float}", "type: float, history: {mode: fast}}"))
