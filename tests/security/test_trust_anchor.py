"""The keys that verify a config come from outside it, and `petra run` enforces that."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from petra.security import SigningError, generate_keypair, load_trusted_keys, sign_file, verify_file
from petra.security.trust import TRUSTED_KEYS_ENV, find_trust_anchor
from tests.e2e.petra_process import PetraProcess
from tests.helpers import wait_until
from tests.security.swap import swap_while_signature_is_read

PLANT = {
    "scan_time_ms": 50,
    "signals": [{"name": "enable", "type": "bool", "initial": True}],
    "blocks": [{"name": "gen", "type": "DATA_GENERATOR", "inputs": {"enable": "enable"},
                "outputs": {"count_out": "count"}}],
}


def keypair(folder: Path, name: str) -> Path:
    """A key pair whose public half is the only key in `folder`; returns the secret key."""
    folder.mkdir()
    secret = folder.parent / f"{name}.key"
    generate_keypair(secret)
    os.replace(f"{secret}.pub", folder / f"{name}.pub")
    return secret


def signed_plant(path: Path, key: Path, **security: object) -> Path:
    plant = dict(PLANT, security=security) if security else dict(PLANT)
    path.write_text(yaml.safe_dump(plant, sort_keys=False))
    sign_file(path, key)
    return path


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int | None, str]:
    """Run `petra run ARGS`; the exit code, or None once the plant runs (then it is stopped)."""
    environ = {TRUSTED_KEYS_ENV: "", **(env or {})}
    process = PetraProcess(["run", *args, "--metrics-port", "0", "--control-socket", str(tmp_path / "c.sock")],
                           tmp_path / "petra.log", env=environ)
    try:
        wait_until(lambda: process.proc.poll() is not None or "plant running" in process.log, timeout=60)
        code = process.proc.poll()
    finally:
        process.kill()
    return code, process.log


def test_a_config_that_names_its_own_trusted_keys_does_not_start_the_plant(tmp_path):
    mallory = keypair(tmp_path / "mallory", "mallory")
    config = signed_plant(tmp_path / "plant.yaml", mallory, require_signed_config=True,
                          trusted_keys_dir=str(tmp_path / "mallory"))

    code, log = start(tmp_path, str(config))

    assert code == 2, log
    assert "no trusted keys are given" in log and "plant running" not in log


def test_require_signed_without_a_trust_anchor_is_an_error_even_if_the_file_names_keys(tmp_path):
    mallory = keypair(tmp_path / "mallory", "mallory")
    config = signed_plant(tmp_path / "plant.yaml", mallory, trusted_keys_dir=str(tmp_path / "mallory"))

    code, log = start(tmp_path, str(config), "--require-signed")

    assert code == 2, log
    assert "--require-signed: signed configs are required but no trusted keys are given" in log


def test_trusted_keys_from_the_environment_verify_the_config(tmp_path):
    ops = keypair(tmp_path / "keys", "ops")
    config = signed_plant(tmp_path / "plant.yaml", ops)

    code, log = start(tmp_path, str(config), "--require-signed", env={TRUSTED_KEYS_ENV: str(tmp_path / "keys")})

    assert code is None, log
    assert "config signature valid" in log


def test_a_trusted_keys_dir_in_the_file_that_differs_from_the_anchor_is_refused(tmp_path):
    ops = keypair(tmp_path / "keys", "ops")
    keypair(tmp_path / "mallory", "mallory")
    config = signed_plant(tmp_path / "plant.yaml", ops, trusted_keys_dir=str(tmp_path / "mallory"))

    code, log = start(tmp_path, str(config), "--require-signed", "--trusted", str(tmp_path / "keys"))

    assert code == 2, log
    assert "a config cannot choose the keys that verify it" in log


def test_a_file_swapped_while_its_signature_is_read_at_start_is_refused(tmp_path):
    ops = keypair(tmp_path / "keys", "ops")
    good = signed_plant(tmp_path / "good.yaml", ops)
    signature = (tmp_path / "good.yaml.sig").read_text()
    config = tmp_path / "plant.yaml"
    config.write_text(yaml.safe_dump(dict(PLANT, scan_time_ms=40)))  # unsigned
    swap = swap_while_signature_is_read(config, good, signature)

    code, log = start(tmp_path, str(config), "--require-signed", "--trusted", str(tmp_path / "keys"))

    swap.join(timeout=10)
    assert swap.done.is_set(), log
    assert code == 2, log
    assert "signature does not match" in log


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_trusted_key_directory_others_may_write_is_refused(tmp_path, mode):
    keypair(tmp_path / "keys", "ops")
    (tmp_path / "keys").chmod(mode)

    with pytest.raises(SigningError, match=r"writable by group/other .* chmod go-w"):
        load_trusted_keys(tmp_path / "keys")


def test_a_trusted_key_file_others_may_write_is_refused(tmp_path):
    key = keypair(tmp_path / "keys", "ops")
    (tmp_path / "plant.yaml").write_text("scan_time_ms: 50\n")
    sign_file(tmp_path / "plant.yaml", key)
    (tmp_path / "keys" / "ops.pub").chmod(0o666)

    with pytest.raises(SigningError, match=r"trusted key .*ops\.pub is writable by group/other"):
        verify_file(tmp_path / "plant.yaml", tmp_path / "keys" / "ops.pub")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_trusted_key_owned_by_another_user_is_refused(tmp_path):
    keypair(tmp_path / "keys", "ops")
    os.chown(tmp_path / "keys" / "ops.pub", 4321, -1)

    with pytest.raises(SigningError, match="owned by uid 4321"):
        load_trusted_keys(tmp_path / "keys")


def test_the_trust_anchor_is_the_command_line_then_the_environment_then_the_default(tmp_path):
    default = tmp_path / "etc-petra-trusted-keys"
    cli, env = tmp_path / "cli", tmp_path / "env"

    assert find_trust_anchor(cli, {TRUSTED_KEYS_ENV: str(env)}, default).path == cli
    assert find_trust_anchor(None, {TRUSTED_KEYS_ENV: str(env)}, default).path == env
    assert find_trust_anchor(None, {}, default) is None  # the default only when it exists
    default.mkdir()
    assert find_trust_anchor(None, {TRUSTED_KEYS_ENV: ""}, default).path == default


def test_trusted_keys_below_a_directory_others_may_write_are_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    keypair(shared / "keys", "ops")
    shared.chmod(0o777)  # anyone could rename keys/ away and put their own in its place

    with pytest.raises(SigningError, match=rf"directory above the trusted keys {shared} is writable by group/other"):
        load_trusted_keys(shared / "keys")
    shared.chmod(0o1777)  # sticky, like /tmp: only an entry's owner may rename it
    assert load_trusted_keys(shared / "keys")
