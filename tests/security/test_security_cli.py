from __future__ import annotations

import argparse
import json
import stat
from pathlib import Path

import pytest

from petra.audit import AuditLog
from petra.commands import security_cmds


def main(argv: list[str]) -> int:
    """The smallest `petra` that carries only the security commands."""
    parser = argparse.ArgumentParser(prog="petra")
    sub = parser.add_subparsers(dest="command", required=True)
    security_cmds.register(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text("scan_time_ms: 50\n")
    return path


def test_keygen_sign_and_verify_round_trip(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"

    assert main(["keygen", str(key)]) == 0
    key_id = capsys.readouterr().out.split()[2].rstrip(":")
    assert main(["sign", str(config), "--key", str(key)]) == 0
    assert key_id in capsys.readouterr().out
    assert main(["verify", str(config), "--trusted", f"{key}.pub"]) == 0

    assert capsys.readouterr().out == f"{config}: OK, signed by trusted key {key_id}\n"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_keygen_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"
    assert main(["keygen", str(key)]) == 0

    assert main(["keygen", str(key)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["keygen", str(key), "--force"]) == 0


def test_verify_of_an_altered_config_exits_1_with_the_reason(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"
    main(["keygen", str(key)])
    main(["sign", str(config), "--key", str(key)])
    config.write_text("scan_time_ms: 5\n")
    capsys.readouterr()

    assert main(["verify", str(config), "--trusted", str(tmp_path)]) == 1

    assert "signature does not match the file" in capsys.readouterr().err


def test_verify_of_an_unsigned_config_exits_1(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["keygen", str(tmp_path / "ops.key")])

    assert main(["verify", str(config), "--trusted", str(tmp_path)]) == 1
    assert "no signature file" in capsys.readouterr().err


def test_verify_with_an_unreadable_trusted_path_exits_1(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(config), "--trusted", str(tmp_path / "missing.pub")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_sign_with_an_exposed_secret_key_exits_1_and_says_chmod(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "ops.key"
    main(["keygen", str(key)])
    key.chmod(0o644)

    assert main(["sign", str(config), "--key", str(key)]) == 1
    assert f"chmod 600 {key}" in capsys.readouterr().err


def test_audit_verify_reports_an_intact_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        for i in range(3):
            audit.append("config.reload", "system", revision=i)

    assert main(["audit", "verify", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: 3 entries, chain intact\n"


def test_audit_verify_names_the_first_broken_seq_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        for i in range(4):
            audit.append("config.reload", "system", revision=i)
    lines = path.read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["actor"] = "uid:0"
    lines[1] = json.dumps(entry) + "\n"
    path.write_text("".join(lines))

    assert main(["audit", "verify", str(path)]) == 1
    err = capsys.readouterr().err
    assert "seq 2" in err and "line 2" in err


def test_audit_verify_of_a_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", str(tmp_path / "missing.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_audit_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["audit"])
    assert exc.value.code == 2


def test_verify_without_trusted_uses_the_same_trusted_keys_as_petra_run(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    main(["keygen", str(keys / "ops.key")])
    main(["sign", str(config), "--key", str(keys / "ops.key")])
    capsys.readouterr()

    monkeypatch.setenv("PETRA_TRUSTED_KEYS", str(keys))
    assert main(["verify", str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"{config}: OK, signed by trusted key")


@pytest.mark.skipif(Path("/etc/petra/trusted-keys").exists(), reason="this machine has default trusted keys")
def test_verify_without_any_trusted_keys_says_where_they_may_come_from(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PETRA_TRUSTED_KEYS", raising=False)
    assert main(["verify", str(config)]) == 1
    assert "pass --trusted PATH, set PETRA_TRUSTED_KEYS" in capsys.readouterr().err
