"""A setting PETRA accepts is a setting PETRA enforces, or one it says loudly it does not.

Each test runs the real `petra` command line: `petra check` names every
option a file sets that this build does not enforce, `petra check --strict`
refuses them, and `logging.level` governs a real `petra run`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from petra.config.unenforced import UNENFORCED
from tests.e2e.petra_process import PetraProcess, free_port, wait_for_metrics

PETRA = [sys.executable, "-m", "petra.cli"]
ROOT = Path(__file__).resolve().parents[2]

SETS_EVERYTHING = """\
signals:
  - {name: x, type: float}
security:
  max_failed_auth_attempts: 3
  session_timeout_minutes: 10
  allowed_cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]
  audit_log: ./audit.log
control:
  tcp: {port: 8443, cert_file: c.pem, key_file: k.pem, tokens: [{name: ops, token: abc, role: operator}]}
opcua: {port: 4840}
"""


def check(tmp_path: Path, text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    return subprocess.run([*PETRA, "check", str(path), *extra], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_petra_check_names_every_option_it_accepts_but_does_not_enforce(tmp_path):
    result = check(tmp_path, SETS_EVERYTHING)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    for item in UNENFORCED:
        assert any(f"{item.section}.{item.key}: {item.message}" in w for w in warnings), item.key
    said = "\n".join(warnings)
    assert "max_failed_auth_attempts" not in said  # enforced: lock-out of user names and addresses
    assert "session_timeout_minutes" not in said  # enforced: login sessions end when idle
    assert "security.audit_log: set, but enable_audit_logging is not true: no audit trail is written" in said
    assert "tokens[0].role" not in said  # enforced: petra.control.access decides what each role may call
    assert "not yet active" not in said  # opcua runs its server now (petra/opcua)
    assert "TLS 1.3 cipher suites cannot be restricted by Python's ssl" in said
    assert "TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256" in said  # the unlisted ones that stay on


def test_petra_check_strict_refuses_a_file_that_relies_on_an_unenforced_option(tmp_path):
    text = "signals:\n  - {name: x, type: float}\nsecurity: {allowed_cipher_suites: [TLS_AES_256_GCM_SHA384]}\n"
    result = check(tmp_path, text, "--strict")
    assert result.returncode == 2
    assert "TLS 1.3 cipher suites cannot be restricted by Python's ssl" in result.stderr


def test_the_lock_out_and_session_settings_are_enforced_so_strict_accepts_them(tmp_path):
    text = ("signals:\n  - {name: x, type: float}\nsecurity: {max_failed_auth_attempts: 3, session_timeout_minutes: 5, "
            "lockout_window_minutes: 15, session_max_hours: 8}\n")
    result = check(tmp_path, text, "--strict")
    assert result.returncode == 0, result.stderr


def test_a_file_that_sets_none_of_them_gets_no_such_warning(tmp_path):
    result = check(tmp_path, "signals:\n  - {name: x, type: float}\nsecurity: {require_signed_config: false}\n")
    assert result.returncode == 0
    assert "warning:" not in result.stderr


def test_a_misspelt_cipher_suite_is_a_located_error_not_a_silently_wider_list(tmp_path):
    text = "security:\n  allowed_cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265\n"
    result = check(tmp_path, text)
    assert result.returncode == 2
    assert "plant.yaml:3:7: security.allowed_cipher_suites[0]: unknown cipher suite" in result.stderr


def test_a_cipher_list_with_an_s3_archive_says_the_archive_is_not_bound_by_it(tmp_path):
    storage = "storage: {s3: {bucket: plant-archive}}\n"
    suites = "security: {allowed_cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]}\n"
    result = check(tmp_path, f"signals:\n  - {{name: x, type: float}}\n{storage}{suites}")
    assert result.returncode == 0
    assert "plant.yaml:3:11: storage.s3: security.allowed_cipher_suites does not bind the S3 archive" in result.stderr
    assert "does not bind" not in check(tmp_path, f"signals:\n  - {{name: x, type: float}}\n{storage}").stderr


PLANT = """\
scan_time_ms: 50
signals:
  - {name: x, type: float, initial: 1.0}
blocks:
  - {name: gt, type: GT, inputs: {in1: x, in2: 0.5}, outputs: {out: high}}
"""


def run_until_up(tmp_path: Path, text: str, *extra: str, env: dict[str, str] | None = None) -> str:
    """Start a real `petra run`, wait until it serves metrics, stop it cleanly; its log."""
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    port = free_port()
    process = PetraProcess(["run", str(path), "--metrics-port", str(port), "--control-socket",
                            str(tmp_path / "ctl.sock"), *extra], tmp_path / "petra.log", env=env)
    try:
        wait_for_metrics(port, process)
    finally:
        code = process.terminate()
    assert code == 0, process.log
    return process.log


@pytest.mark.parametrize(("level", "info_lines"), [(None, True), ("warning", False), ("debug", True)])
def test_logging_level_in_the_config_governs_a_real_petra_run(tmp_path, level, info_lines):
    text = PLANT if level is None else f"{PLANT}logging: {{level: {level}}}\n"
    log = run_until_up(tmp_path, text, env={"PETRA_LOG": ""})
    assert ("level=info" in log) is info_lines, log
    if level == "debug":
        assert "level=debug" in log


def test_log_level_on_the_command_line_wins_over_the_config(tmp_path):
    log = run_until_up(tmp_path, f"{PLANT}logging: {{level: warning}}\n", "--log-level", "info",
                       env={"PETRA_LOG": ""})
    assert "level=info" in log


def test_a_reload_applies_the_new_logging_level(tmp_path):
    """logging.level is part of the file: a reload that changes it changes what is logged, as a start would."""
    import signal

    from tests.helpers import wait_until

    path = tmp_path / "plant.yaml"
    path.write_text(f"{PLANT}logging: {{level: warning}}\n")
    port = free_port()
    process = PetraProcess(["run", str(path), "--metrics-port", str(port), "--control-socket",
                            str(tmp_path / "ctl.sock")], tmp_path / "petra.log", env={"PETRA_LOG": ""})
    try:
        wait_for_metrics(port, process)
        assert "level=info" not in process.log
        path.write_text(f"{PLANT}logging: {{level: info}}\n")
        process.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload applied" in process.log, timeout=20)
    finally:
        code = process.terminate()
    assert code == 0, process.log
