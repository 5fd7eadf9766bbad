"""Which keys verify a configuration, and when a configuration must be signed.

A file cannot vouch for itself, so the trusted keys never come from the file
being verified. They come from the first of:

1. ``petra run --trusted PATH``;
2. the environment variable ``PETRA_TRUSTED_KEYS``;
3. ``/etc/petra/trusted-keys``, when it exists.

A reload uses the keys the plant started with. ``security.trusted_keys_dir`` in
a file is only a consistency check: when it is set it must name those same
keys, or the file is refused. A signature is required when ``--require-signed``
is given, when the *running* config says ``require_signed_config: true`` (at
reload), or when the file being loaded says so itself (a file can only make
itself stricter, never switch the requirement off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from petra.config.model import PlantConfig
from petra.security.signing import KeyId, SigningError, signature_path, verify_bytes

DEFAULT_TRUSTED_KEYS = Path("/etc/petra/trusted-keys")
TRUSTED_KEYS_ENV = "PETRA_TRUSTED_KEYS"

NO_TRUSTED_KEYS = (
    "signed configs are required but no trusted keys are given: pass --trusted PATH, set "
    f"{TRUSTED_KEYS_ENV}, or install the public keys in {DEFAULT_TRUSTED_KEYS} "
    "(security.trusted_keys_dir cannot be used: a config cannot choose the keys that verify it)"
)


class SignatureRefused(Exception):
    """A configuration whose signature does not satisfy the plant; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TrustAnchor:
    """The trusted public keys and where that choice came from (for messages)."""

    path: Path
    origin: str


def find_trust_anchor(
    cli: Path | None, environ: Mapping[str, str], default: Path = DEFAULT_TRUSTED_KEYS
) -> TrustAnchor | None:
    """The trusted keys from outside any config file (see the module docstring), or None."""
    if cli is not None:
        return TrustAnchor(Path(cli), "--trusted")
    if environ.get(TRUSTED_KEYS_ENV):
        return TrustAnchor(Path(environ[TRUSTED_KEYS_ENV]), f"${TRUSTED_KEYS_ENV}")
    if default.exists():
        return TrustAnchor(default, str(default))
    return None


def requires_signature(config: PlantConfig | None) -> bool:
    """True when `config` says configs must be signed (`security.require_signed_config`)."""
    return config is not None and config.security.require_signed_config


def verify_config_bytes(raw: bytes, config_path: Path, trusted: Path | None) -> KeyId:
    """The key id that signed exactly `raw` (the bytes the caller parses); else SignatureRefused."""
    if trusted is None:
        raise SignatureRefused(NO_TRUSTED_KEYS)
    try:
        verdict = verify_bytes(raw, signature_path(Path(config_path)), trusted)
    except SigningError as exc:
        raise SignatureRefused(str(exc)) from None
    if not verdict.ok or verdict.key_id is None:
        raise SignatureRefused(verdict.reason)
    return verdict.key_id


def check_trusted_keys_dir(config: PlantConfig, trusted: Path | None) -> None:
    """Refuse a verified config whose `security.trusted_keys_dir` names other keys than those used."""
    claimed = config.security.trusted_keys_dir
    if not claimed or trusted is None:
        return
    if _same_path(Path(claimed), trusted):
        return
    raise SignatureRefused(
        f"security.trusted_keys_dir is {claimed}, but this plant verifies configs with the keys in "
        f"{trusted}; a config cannot choose the keys that verify it (remove the setting, or start PETRA "
        f"with --trusted {claimed})"
    )


def _same_path(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
