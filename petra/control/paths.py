"""Where the control socket lives when nobody says: the same rule for petra and petra-ctl."""

from __future__ import annotations

import os
from pathlib import Path

SERVICE_DIR = Path("/run/petra")


def default_socket_path(environ: dict[str, str] | None = None) -> Path:
    """$PETRA_SOCKET, else /run/petra (the service's RuntimeDirectory) when writable,
    else the user's runtime dir, else /tmp/petra-UID."""
    env = os.environ if environ is None else environ
    if env.get("PETRA_SOCKET"):
        return Path(env["PETRA_SOCKET"])
    if SERVICE_DIR.is_dir() and os.access(SERVICE_DIR, os.W_OK):
        return SERVICE_DIR / "control.sock"
    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir and Path(runtime_dir).is_dir():
        return Path(runtime_dir) / "petra" / "control.sock"
    return Path(f"/tmp/petra-{os.getuid()}") / "control.sock"
