"""Security: signed configurations (Ed25519, detached `.sig` files)."""

from petra.security.signing import (
    KeyId,
    Signature,
    SigningError,
    Verification,
    generate_keypair,
    key_id_of,
    load_signing_key,
    load_trusted_keys,
    parse_signature,
    public_key_path,
    sign_file,
    signature_path,
    verify_file,
)

__all__ = [
    "KeyId",
    "Signature",
    "SigningError",
    "Verification",
    "generate_keypair",
    "key_id_of",
    "load_signing_key",
    "load_trusted_keys",
    "parse_signature",
    "public_key_path",
    "sign_file",
    "signature_path",
    "verify_file",
]
