"""${VAR} substitution: defaults, escapes, errors and type re-resolution."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from petra.config.env import SubstitutionError, escape, substitute
from tests.config.support import load, problems


def test_a_variable_is_replaced_by_its_value():
    assert substitute("tcp://${HOST}:1883", {"HOST": "10.0.0.5"}) == "tcp://10.0.0.5:1883"


def test_a_default_is_used_when_the_variable_is_unset_or_empty():
    assert substitute("${PORT:-1883}", {}) == "1883"
    assert substitute("${PORT:-1883}", {"PORT": ""}) == "1883"
    assert substitute("${PORT:-1883}", {"PORT": "8883"}) == "8883"


def test_an_empty_default_is_allowed():
    assert substitute("a${X:-}b", {}) == "ab"


def test_a_double_dollar_escapes_the_reference():
    assert substitute("$${HOME} costs $5", {"HOME": "/root"}) == "${HOME} costs $5"


def test_every_unset_variable_in_one_string_is_named():
    with pytest.raises(SubstitutionError) as info:
        substitute("${A}:${B}:${A}", {})
    assert info.value.missing == ("A", "B")
    assert str(info.value).startswith("environment variables A, B not set")


def test_an_unterminated_reference_is_an_error():
    with pytest.raises(SubstitutionError, match="without a closing"):
        substitute("${HOST", {"HOST": "x"})


def test_an_invalid_variable_name_is_an_error():
    with pytest.raises(SubstitutionError, match="not a valid variable reference"):
        substitute("${1X}", {})


@given(st.text())
def test_substituting_an_escaped_text_gives_the_text_back(text):
    assert substitute(escape(text), {}) == text


@given(st.text(alphabet=st.characters(blacklist_characters="$")))
def test_text_without_a_dollar_is_unchanged(text):
    assert substitute(text, {"X": "y"}) == text


@given(
    st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
    st.text(alphabet=st.characters(blacklist_characters="}$"), min_size=1),
    st.text(alphabet=st.characters(blacklist_characters="}"), min_size=1),
)
def test_a_set_variable_wins_over_its_default(name, default, value):
    assert substitute(f"<${{{name}:-{default}}}>", {name: value}) == f"<{value}>"


def test_a_plain_scalar_is_re_resolved_after_substitution_so_a_port_becomes_an_int():
    config = load("""
        mqtt:
          broker_host: ${BROKER:-127.0.0.1}
          broker_port: ${BROKER_PORT:-1883}
          publish_on_change: ${PUBLISH_ON_CHANGE:-false}
          publish_deadband: ${DEADBAND}
        """, env={"BROKER_PORT": "8883", "DEADBAND": "0.5"})
    mqtt = config.sections["mqtt"]
    assert mqtt["broker_host"] == "127.0.0.1"
    assert mqtt["broker_port"] == 8883
    assert mqtt["publish_on_change"] is False
    assert mqtt["publish_deadband"] == 0.5


def test_a_quoted_scalar_stays_a_string_after_substitution():
    assert problems("""
        mqtt:
          broker_host: 127.0.0.1
          broker_port: "${PORT:-1883}"
        """) == ["plant.yaml:3:16: mqtt.broker_port: expected an integer, got '1883'"]


def test_a_substituted_value_is_validated_like_a_written_one():
    assert problems("""
        scan_time_ms: ${SCAN:-0}
        """) == ["plant.yaml:1:15: scan_time_ms: must be at least 1, got 0"]


def test_the_environment_defaults_to_the_process_environment(monkeypatch):
    from petra.config.loader import load_config_text

    monkeypatch.setenv("PETRA_TEST_SCAN", "250")
    assert load_config_text("scan_time_ms: ${PETRA_TEST_SCAN}\n").scan_time_ms == 250


def test_an_empty_expansion_is_an_empty_string_not_null():
    config = load("""
        mqtt:
          broker_host: 127.0.0.1
          password: ${MQTT_PASSWORD:-}
        """)
    assert config.sections["mqtt"]["password"] == ""
