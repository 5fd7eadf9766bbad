"""Fixtures of the security tests: `cheap_hashes`, `verify_calls` (see `cheap_hashes.py`)."""

from tests.security.cheap_hashes import cheap_hashes, verify_calls

__all__ = ["cheap_hashes", "verify_calls"]
