"""Ed25519 detached signatures for configuration files.

A plant that requires signed configs refuses a file unless a key in its trusted set
signed exactly those bytes. Key files are one line of hex so operators can read,
copy and diff them; the secret key is the 32-byte seed and must be mode 0600.

Signature file (`CONFIG.sig`)::

    petra-signature-v1
    key-id: 0123456789abcdef
    signature: <128 hex digits: Ed25519 over the exact bytes of CONFIG>

A key id is the first 16 hex digits of sha256(public key bytes): short enough to read
aloud, long enough that two keys in one trusted set never collide by accident.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

KeyId: TypeAlias = str

SIGNATURE_MAGIC = "petra-signature-v1"
SIG_SUFFIX = ".sig"
PUB_SUFFIX = ".pub"

_MAX_SIG_BYTES = 4096
_MAX_KEY_BYTES = 4096
_KEY_HEX = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIG_HEX = re.compile(r"[0-9a-f]{128}")


class SigningError(Exception):
    """A key or trusted set cannot be used: unreadable, malformed or unsafe permissions."""


@dataclass(frozen=True)
class Signature:
    """The parsed contents of a `.sig` file."""

    key_id: KeyId
    signature: bytes

    def to_text(self) -> str:
        return f"{SIGNATURE_MAGIC}\nkey-id: {self.key_id}\nsignature: {self.signature.hex()}\n"


@dataclass(frozen=True)
class Verification:
    """Outcome of `verify_file`: a bad signature is an answer, not an exception."""

    ok: bool
    key_id: KeyId | None
    reason: str


def key_id_of(key: VerifyKey) -> KeyId:
    """The short, stable name of a public key."""
    return hashlib.sha256(bytes(key)).hexdigest()[:16]


def signature_path(config: Path) -> Path:
    """Where the detached signature of CONFIG lives: next to it, `.sig` appended."""
    config = Path(config)
    return config.with_name(config.name + SIG_SUFFIX)


def public_key_path(keyfile: Path) -> Path:
    keyfile = Path(keyfile)
    return keyfile.with_name(keyfile.name + PUB_SUFFIX)


def generate_keypair(keyfile: Path, *, force: bool = False) -> KeyId:
    """Write a new secret key to KEYFILE (0600) and its public key to KEYFILE.pub (0644).

    Existing files are refused unless `force`, so a key that signed deployed configs is
    never lost to a typo. The secret key is created 0600 from the first byte, never
    chmod-ed after the fact.
    """
    keyfile = Path(keyfile)
    pubfile = public_key_path(keyfile)
    if not force:
        for path in (keyfile, pubfile):
            if path.exists() or path.is_symlink():
                raise SigningError(f"{path} already exists; use --force to replace it")
    secret = SigningKey.generate()
    _write_new(keyfile, bytes(secret).hex() + "\n", 0o600)
    _write_new(pubfile, bytes(secret.verify_key).hex() + "\n", 0o644)
    return key_id_of(secret.verify_key)


def load_signing_key(keyfile: Path) -> SigningKey:
    """Read a secret key, refusing one that group or other could read."""
    keyfile = Path(keyfile)
    try:
        fd = os.open(keyfile, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise SigningError(f"cannot read secret key {keyfile}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as f:
        mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
        if mode & 0o077:
            raise SigningError(
                f"secret key {keyfile} is readable or writable by group/other (mode {mode:04o}); "
                f"run: chmod 600 {keyfile}"
            )
        raw = f.read(_MAX_KEY_BYTES + 1)
    seed = _parse_key_hex(raw)
    if seed is None:
        raise SigningError(f"{keyfile} is not a PETRA secret key (expected one line of 64 hex digits)")
    return SigningKey(seed)


def sign_file(config: Path, keyfile: Path) -> Path:
    """Sign the exact bytes of CONFIG and write `CONFIG.sig`; returns the signature path."""
    config = Path(config)
    secret = load_signing_key(keyfile)
    try:
        data = config.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read {config}: {exc.strerror}") from exc
    sig = Signature(key_id_of(secret.verify_key), secret.sign(data).signature)
    out = signature_path(config)
    _replace_atomically(out, sig.to_text(), 0o644)
    return out


def parse_signature(text: str) -> Signature:
    """Parse a `.sig` file strictly; anything unexpected is a ValueError."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != SIGNATURE_MAGIC:
        raise ValueError(f"first line is not {SIGNATURE_MAGIC!r}")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or name not in ("key-id", "signature"):
            raise ValueError(f"unexpected line {line[:40]!r}")
        if name in fields:
            raise ValueError(f"{name} appears twice")
        fields[name] = value
    key_id, sig_hex = fields.get("key-id", ""), fields.get("signature", "")
    if not _KEY_ID.fullmatch(key_id):
        raise ValueError("key-id must be 16 lowercase hex digits")
    if not _SIG_HEX.fullmatch(sig_hex):
        raise ValueError("signature must be 128 lowercase hex digits")
    return Signature(key_id, bytes.fromhex(sig_hex))


def load_trusted_keys(path: Path) -> dict[KeyId, VerifyKey]:
    """Public keys from one `.pub` file or from every `*.pub` in a directory.

    A directory without keys or a malformed key file is an error: a trusted set that
    silently shrinks would turn every verification into "untrusted key". So is a key
    file or directory that someone other than its owner may write, or whose owner is
    neither root nor the user running PETRA: whoever can add a key can sign a plant.
    """
    path = Path(path)
    try:
        is_dir = path.is_dir()
        files = sorted(path.glob("*" + PUB_SUFFIX)) if is_dir else [path]
    except OSError as exc:
        raise SigningError(f"cannot read trusted keys {path}: {exc.strerror}") from exc
    if not files:
        raise SigningError(f"no trusted keys (*{PUB_SUFFIX}) in {path}")
    folder = path if is_dir else path.parent
    _refuse_unsafe(folder, "trusted key directory")
    for above in Path(os.path.abspath(folder)).parents:
        _refuse_unsafe(above, "directory above the trusted keys", sticky_ok=True)
    keys: dict[KeyId, VerifyKey] = {}
    for file in files:
        try:
            with file.open("rb") as f:
                _refuse_unsafe(file, "trusted key", os.fstat(f.fileno()))
                raw = f.read(_MAX_KEY_BYTES + 1)
        except OSError as exc:
            raise SigningError(f"cannot read trusted key {file}: {exc.strerror}") from exc
        key_bytes = _parse_key_hex(raw)
        if key_bytes is None:
            raise SigningError(f"{file} is not a PETRA public key (expected one line of 64 hex digits)")
        key = VerifyKey(key_bytes)
        keys[key_id_of(key)] = key
    return keys


def _refuse_unsafe(path: Path, what: str, info: os.stat_result | None = None, *, sticky_ok: bool = False) -> None:
    """Refuse a trust anchor that group/other may write or a stranger owns.

    A directory above it counts too (whoever may write it can swap the keys in
    by renaming), unless it is sticky like /tmp, where only owners rename.
    """
    try:
        info = info or path.stat()
    except OSError as exc:
        raise SigningError(f"cannot read {what} {path}: {exc.strerror}") from exc
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022 and not (sticky_ok and mode & stat.S_ISVTX):
        raise SigningError(f"{what} {path} is writable by group/other (mode {mode:04o}), so anyone could add "
                           f"a key; run: chmod go-w {path}")
    if info.st_uid not in (0, os.geteuid()):
        raise SigningError(f"{what} {path} is owned by uid {info.st_uid}, neither root nor the user running "
                           f"PETRA; run: chown root {path}")


def verify_file(config: Path, trusted: Path) -> Verification:
    """Check that a trusted key signed exactly the bytes of CONFIG (read once).

    Raises SigningError only when the trusted set itself cannot be loaded; every
    problem with the config or its signature is returned as `ok=False` with a reason.
    """
    config = Path(config)
    try:
        data = config.read_bytes()
    except OSError as exc:
        load_trusted_keys(trusted)  # an unusable trusted set is reported first
        return Verification(False, None, f"cannot read {config}: {exc.strerror}")
    return verify_bytes(data, signature_path(config), trusted)


def verify_bytes(data: bytes, sig_path: Path, trusted: Path) -> Verification:
    """Check that a trusted key signed `data`: the very bytes the caller will use.

    Verifying a path and then reading it again would let the file change in
    between; callers read once and pass the bytes here and to the parser.
    """
    keys = load_trusted_keys(trusted)
    sig_path = Path(sig_path)
    try:
        with sig_path.open("rb") as f:
            raw = f.read(_MAX_SIG_BYTES + 1)
    except FileNotFoundError:
        return Verification(False, None, f"no signature file {sig_path}")
    except OSError as exc:
        return Verification(False, None, f"cannot read signature file {sig_path}: {exc.strerror}")
    try:
        if len(raw) > _MAX_SIG_BYTES:
            raise ValueError("file is too large")
        sig = parse_signature(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        return Verification(False, None, f"malformed signature file {sig_path}: {exc}")
    key = keys.get(sig.key_id)
    if key is None:
        return Verification(False, sig.key_id, f"signature by untrusted key {sig.key_id}")
    try:
        key.verify(data, sig.signature)
    except BadSignatureError:
        return Verification(False, sig.key_id, "signature does not match the file (altered after signing?)")
    return Verification(True, sig.key_id, f"signed by trusted key {sig.key_id}")


def _parse_key_hex(raw: bytes) -> bytes | None:
    if len(raw) > _MAX_KEY_BYTES:
        return None
    try:
        text = raw.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return None
    return bytes.fromhex(text) if _KEY_HEX.fullmatch(text) else None


def _write_new(path: Path, text: str, mode: int) -> None:
    """Create PATH with MODE from the start; with an existing PATH, swap in a new file."""
    if path.exists() or path.is_symlink():
        _replace_atomically(path, text, mode)
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise SigningError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        _fill(fd, path, text, mode)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _replace_atomically(path: Path, text: str, mode: int) -> None:
    """Write a temp file next to PATH and rename it over PATH: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    except OSError as exc:
        raise SigningError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        _fill(fd, path, text, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SigningError(f"cannot write {path}: {exc.strerror}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fill(fd: int, path: Path, text: str, mode: int) -> None:
    try:
        # The umask may have taken bits away from MODE; set it exactly (0644 for a .pub).
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="ascii", closefd=False) as f:
            f.write(text)
            f.flush()
            os.fsync(fd)
    except OSError as exc:
        raise SigningError(f"cannot write {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)
