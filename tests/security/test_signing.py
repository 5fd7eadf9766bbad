from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from petra.security import (
    SigningError,
    generate_keypair,
    load_trusted_keys,
    parse_signature,
    sign_file,
    signature_path,
    verify_file,
)

CONFIG_TEXT = b"scan_time_ms: 50\nsignals:\n  - name: tank_level\n    type: float\n"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_bytes(CONFIG_TEXT)
    return path


@pytest.fixture
def key(tmp_path: Path) -> Path:
    keyfile = tmp_path / "keys" / "ops.key"
    keyfile.parent.mkdir()
    generate_keypair(keyfile)
    return keyfile


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_signed_file_verifies_against_its_public_key(config: Path, key: Path) -> None:
    sig = sign_file(config, key)

    result = verify_file(config, key.with_name("ops.key.pub"))

    assert sig == config.with_name("plant.yaml.sig")
    assert result.ok, result.reason
    assert result.key_id == parse_signature(sig.read_text()).key_id


def test_the_key_id_is_the_first_16_hex_digits_of_the_public_key_sha256(tmp_path: Path) -> None:
    key_id = generate_keypair(tmp_path / "k")

    public = bytes.fromhex((tmp_path / "k.pub").read_text().strip())
    assert key_id == hashlib.sha256(public).hexdigest()[:16]
    assert set(load_trusted_keys(tmp_path / "k.pub")) == {key_id}


def test_key_files_are_one_line_of_hex_with_modes_0600_and_0644(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        generate_keypair(tmp_path / "k")
    finally:
        os.umask(old_umask)

    secret, public = tmp_path / "k", tmp_path / "k.pub"
    assert _mode(secret) == 0o600
    assert _mode(public) == 0o644
    for path in (secret, public):
        text = path.read_text()
        assert text.endswith("\n") and text.count("\n") == 1
        assert len(bytes.fromhex(text.strip())) == 32


def test_the_public_key_stays_0644_under_a_restrictive_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        generate_keypair(tmp_path / "k")
    finally:
        os.umask(old_umask)

    assert _mode(tmp_path / "k.pub") == 0o644


def test_an_existing_key_file_is_not_overwritten_without_force(tmp_path: Path) -> None:
    first = generate_keypair(tmp_path / "k")
    original = (tmp_path / "k").read_text()

    with pytest.raises(SigningError, match="already exists"):
        generate_keypair(tmp_path / "k")
    assert (tmp_path / "k").read_text() == original

    second = generate_keypair(tmp_path / "k", force=True)
    assert second != first
    assert _mode(tmp_path / "k") == 0o600


def test_force_replaces_a_world_readable_secret_key_with_a_0600_one(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("old\n")
    (tmp_path / "k").chmod(0o644)

    generate_keypair(tmp_path / "k", force=True)

    assert _mode(tmp_path / "k") == 0o600


def test_a_file_altered_after_signing_is_refused(config: Path, key: Path) -> None:
    sign_file(config, key)
    config.write_bytes(CONFIG_TEXT.replace(b"50", b"5"))

    result = verify_file(config, key.parent)

    assert not result.ok
    assert result.reason == "signature does not match the file (altered after signing?)"


def test_one_added_trailing_newline_is_an_alteration(config: Path, key: Path) -> None:
    sign_file(config, key)
    config.write_bytes(CONFIG_TEXT + b"\n")

    assert not verify_file(config, key.parent).ok


def test_a_signature_by_a_key_outside_the_trusted_directory_is_refused(
    config: Path, key: Path, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.key"
    stranger_id = generate_keypair(stranger)
    sign_file(config, stranger)

    result = verify_file(config, key.parent)

    assert not result.ok
    assert result.key_id == stranger_id
    assert result.reason == f"signature by untrusted key {stranger_id}"


def test_a_missing_signature_file_is_reported_by_name(config: Path, key: Path) -> None:
    result = verify_file(config, key.parent)

    assert not result.ok
    assert result.key_id is None
    assert result.reason == f"no signature file {signature_path(config)}"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "petra-signature-v2\nkey-id: 0123456789abcdef\nsignature: " + "ab" * 64 + "\n",
        "petra-signature-v1\nkey-id: 0123456789abcdef\n",
        "petra-signature-v1\nkey-id: 0123\nsignature: " + "ab" * 64 + "\n",
        "petra-signature-v1\nkey-id: 0123456789abcdef\nsignature: abcd\n",
        "petra-signature-v1\nkey-id: 0123456789abcdef\nkey-id: 0123456789abcdef\nsignature: " + "ab" * 64,
        "petra-signature-v1\nkey-id: 0123456789abcdef\nsignature: " + "ab" * 64 + "\ncomment: hi\n",
        "petra-signature-v1\n" + "x" * 5000,
    ],
    ids=[
        "empty",
        "wrong-version",
        "no-signature",
        "short-key-id",
        "short-signature",
        "duplicate",
        "extra",
        "huge",
    ],
)
def test_a_malformed_signature_file_is_reported_not_raised(config: Path, key: Path, content: str) -> None:
    signature_path(config).write_text(content)

    result = verify_file(config, key.parent)

    assert not result.ok
    assert result.reason.startswith(f"malformed signature file {signature_path(config)}")


def test_a_binary_signature_file_is_malformed(config: Path, key: Path) -> None:
    signature_path(config).write_bytes(b"\xff\xfe\x00garbage")

    assert verify_file(config, key.parent).reason.startswith("malformed signature file")


def test_any_key_of_a_directory_of_several_keys_is_trusted(config: Path, tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    ids = [generate_keypair(trusted / f"engineer{i}.key") for i in range(3)]
    for i, key_id in enumerate(ids):
        sign_file(config, trusted / f"engineer{i}.key")

        result = verify_file(config, trusted)

        assert result.ok and result.key_id == key_id
    assert set(load_trusted_keys(trusted)) == set(ids)


def test_only_pub_files_in_a_trusted_directory_are_read(tmp_path: Path) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    key_id = generate_keypair(trusted / "ops.key")
    (trusted / "README").write_text("not a key\n")

    assert set(load_trusted_keys(trusted)) == {key_id}


def test_a_single_public_key_file_can_be_the_trusted_set(config: Path, key: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    generate_keypair(other)
    sign_file(config, key)

    assert verify_file(config, key.with_name("ops.key.pub")).ok
    assert not verify_file(config, tmp_path / "other.key.pub").ok


def test_an_unreadable_trusted_path_raises(config: Path, key: Path, tmp_path: Path) -> None:
    sign_file(config, key)

    with pytest.raises(SigningError, match="cannot read"):
        verify_file(config, tmp_path / "no-such-key.pub")


def test_a_trusted_directory_without_keys_raises(config: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(SigningError, match="no trusted keys"):
        verify_file(config, tmp_path / "empty")


def test_a_malformed_public_key_raises_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.pub").write_text("not hex\n")

    with pytest.raises(SigningError, match=r"bad\.pub is not a PETRA public key"):
        load_trusted_keys(tmp_path)


def test_signing_with_a_group_readable_secret_key_is_refused_with_the_fix(config: Path, key: Path) -> None:
    key.chmod(0o640)

    with pytest.raises(SigningError, match=f"chmod 600 {key}"):
        sign_file(config, key)
    assert not signature_path(config).exists()


def test_signing_with_a_missing_or_malformed_key_is_a_clear_error(config: Path, tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="cannot read secret key"):
        sign_file(config, tmp_path / "missing.key")

    bad = tmp_path / "bad.key"
    bad.write_text("zz\n")
    bad.chmod(0o600)
    with pytest.raises(SigningError, match="is not a PETRA secret key"):
        sign_file(config, bad)


def test_signing_a_missing_config_is_a_clear_error(key: Path, tmp_path: Path) -> None:
    with pytest.raises(SigningError, match="cannot read"):
        sign_file(tmp_path / "missing.yaml", key)


def test_re_signing_replaces_the_signature_file(config: Path, key: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.key"
    other_id = generate_keypair(other)
    sign_file(config, key)

    sign_file(config, other)

    assert parse_signature(signature_path(config).read_text()).key_id == other_id
    assert [p.name for p in config.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_signature_file_has_the_documented_format(config: Path, key: Path) -> None:
    lines = sign_file(config, key).read_text().splitlines()

    assert lines[0] == "petra-signature-v1"
    assert lines[1].startswith("key-id: ") and len(lines[1].split(": ")[1]) == 16
    assert lines[2].startswith("signature: ") and len(lines[2].split(": ")[1]) == 128
