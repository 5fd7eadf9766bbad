"""The control section's settings: the schema petra loads with and the typed model come from one declaration."""

from __future__ import annotations

from petra.config.loader import load_config_text
from petra.config.settings import parse
from petra.control.settings import ControlSettings, TcpSettings, Token

CONFIG = """\
control:
  socket: /tmp/petra-test/control.sock
  tcp:
    port: 8443
    cert_file: cert.pem
    key_file: key.pem
    tokens:
      - plain-secret
      - {name: scada, token: other-secret, role: engineer}
      - {token: third-secret}
"""


def test_a_control_section_parses_with_bare_and_named_tokens_and_the_declared_defaults() -> None:
    section = load_config_text(CONFIG).sections["control"]
    assert parse(ControlSettings, section) == ControlSettings(
        socket="/tmp/petra-test/control.sock",
        tcp=TcpSettings(port=8443, host="127.0.0.1", cert_file="cert.pem", key_file="key.pem", tokens=(
            "plain-secret", Token("other-secret", "scada", "engineer"), Token("third-secret"))),
    )


def test_the_loader_fills_the_defaults_the_settings_declare() -> None:
    section = load_config_text("control:\n  tcp: {port: 9000, tokens: [{token: s}]}\n").sections["control"]
    assert section["tcp"]["host"] == TcpSettings(port=1).host
    assert section["tcp"]["tokens"][0]["role"] == Token("s").role == "operator"
