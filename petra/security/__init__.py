"""Security: signed configurations (Ed25519, detached `.sig` files), re-exported here.

The other parts are imported from their modules: `roles` (roles and the
`Principal`), `passwords` (Argon2id), `users` (the users file), `lockout`,
`sessions`, `identity` (the three behind one facade for the control API),
`user_changes` (every audited change of the users file), `tls`,
`selfsigned`, `trust`.
"""

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
