"""`petra keygen`, `petra sign`, `petra verify` and `petra audit verify`.

Exit status: 0 on success; 1 when a signature or chain does not verify, or a key or
file cannot be used (the reason goes to stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from petra.audit import AuditError, verify_audit
from petra.security.signing import (
    SigningError,
    generate_keypair,
    parse_signature,
    public_key_path,
    sign_file,
    verify_file,
)
from petra.security.trust import NO_TRUSTED_KEYS, find_trust_anchor


def register(sub: argparse._SubParsersAction) -> None:
    keygen = sub.add_parser("keygen", help="create an Ed25519 key pair for signing configurations")
    keygen.add_argument("keyfile", type=Path, help="secret key file to create (mode 0600); KEYFILE.pub too")
    keygen.add_argument("--force", action="store_true", help="replace existing key files")
    keygen.set_defaults(handler=_keygen)

    sign = sub.add_parser("sign", help="write CONFIG.sig, a detached signature of CONFIG")
    sign.add_argument("config", type=Path, help="configuration file to sign")
    sign.add_argument("--key", required=True, type=Path, metavar="KEYFILE", help="secret key file")
    sign.set_defaults(handler=_sign)

    verify = sub.add_parser("verify", help="check CONFIG.sig against trusted public keys")
    verify.add_argument("config", type=Path, help="configuration file")
    verify.add_argument(
        "--trusted",
        type=Path,
        metavar="PATH",
        help="a .pub file or a directory of *.pub files (default: the keys `petra run` would trust: "
             "$PETRA_TRUSTED_KEYS, else /etc/petra/trusted-keys)",
    )
    verify.set_defaults(handler=_verify)

    audit = sub.add_parser("audit", help="inspect the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    audit_verify = audit_sub.add_parser("verify", help="check the hash chain of an audit file")
    audit_verify.add_argument("file", type=Path, help="audit file (JSON lines)")
    audit_verify.set_defaults(handler=_audit_verify)


def _keygen(args: argparse.Namespace) -> int:
    try:
        key_id = generate_keypair(args.keyfile, force=args.force)
    except SigningError as exc:
        return _fail("keygen", str(exc))
    public = public_key_path(args.keyfile)
    print(f"key id {key_id}: secret key {args.keyfile} (keep it private), public key {public}")
    return 0


def _sign(args: argparse.Namespace) -> int:
    try:
        sig_path = sign_file(args.config, args.key)
    except SigningError as exc:
        return _fail("sign", str(exc))
    key_id = parse_signature(sig_path.read_text(encoding="ascii")).key_id
    print(f"{args.config}: signed with key {key_id}, signature in {sig_path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    anchor = find_trust_anchor(args.trusted, os.environ)
    if anchor is None:
        return _fail("verify", NO_TRUSTED_KEYS)
    try:
        result = verify_file(args.config, anchor.path)
    except SigningError as exc:
        return _fail("verify", str(exc))
    if not result.ok:
        return _fail("verify", f"{args.config}: NOT verified: {result.reason}")
    print(f"{args.config}: OK, signed by trusted key {result.key_id}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    try:
        result = verify_audit(args.file)
    except AuditError as exc:
        return _fail("audit verify", str(exc))
    if not result.ok:
        return _fail(
            "audit verify",
            f"{args.file}: chain broken at seq {result.first_broken_seq}, {result.reason} "
            f"({result.entries} entries verified before it)",
        )
    print(f"{args.file}: {result.entries} entries, chain intact")
    return 0


def _fail(command: str, message: str) -> int:
    print(f"petra {command}: {message}", file=sys.stderr)
    return 1
