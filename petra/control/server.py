"""HTTP servers for the control API: a Unix socket (default) and optional TCP with TLS.

The Unix socket is created with mode 0660 and identifies callers by their
peer credentials (`uid:1000`); TCP requires a bearer token and identifies
callers by the token's name (`token:ops`). Both hand requests to the same
`ControlApi`. `GET /v1/events` streams signal changes as server-sent events.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hmac
import json
import logging
import os
import queue
import socket
import socketserver
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from petra.control.api import ControlApi, Request, Response
from petra.messages import SignalsChanged

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
SSE_QUEUE = 10_000


class _Handler(BaseHTTPRequestHandler):
    server: _ServerMixin  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("control %s", format % args)

    def _caller(self) -> str | None:
        return self.server.identify(self)

    def _dispatch(self) -> None:
        caller = self._caller()
        if caller is None:
            self._send(Response(401, {"error": "missing or invalid bearer token"}))
            return
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query))
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(Response(413, {"error": f"body larger than {MAX_BODY} bytes"}))
            return
        body = self.rfile.read(length) if length else b""
        if self.command == "GET" and path.rstrip("/") == "/v1/events":
            self._stream_events(query.get("pattern", "*"))
            return
        self._send(self.server.api.handle(Request(self.command, path, query, body, caller)))

    do_GET = do_PUT = do_POST = do_DELETE = _dispatch

    def _send(self, response: Response) -> None:
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _stream_events(self, pattern: str) -> None:
        events: queue.Queue[SignalsChanged] = queue.Queue(SSE_QUEUE)
        dropped = [0]

        def listener(event: SignalsChanged) -> None:
            try:
                events.put_nowait(event)
            except queue.Full:
                dropped[0] += 1

        bus = self.server.api.plant.bus
        bus.subscribe(listener)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.close_connection = True
        try:
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while not self.server.closing.is_set():
                try:
                    event = events.get(timeout=1.0)
                except queue.Empty:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                changes = [
                    {"name": c.name, "value": c.value, "quality": c.quality.name.lower(), "timestamp": c.timestamp}
                    for c in event.changes
                    if pattern in ("", "*") or fnmatch.fnmatchcase(c.name, pattern)
                ]
                if changes:
                    data = json.dumps({"owner": event.owner, "changes": changes, "dropped": dropped[0]})
                    self.wfile.write(f"event: changes\ndata: {data}\n\n".encode())
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            bus.unsubscribe(listener)


class _ServerMixin:
    api: ControlApi
    closing: threading.Event

    def identify(self, handler: _Handler) -> str | None:
        raise NotImplementedError


class UnixControlServer(_ServerMixin, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, api: ControlApi) -> None:
        self.api = api
        self.closing = threading.Event()
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            _remove_stale_socket(path)
        old_umask = os.umask(0o117)  # the socket is born 0660, never briefly wider
        try:
            super().__init__(str(path), _Handler)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o660)

    def identify(self, handler: _Handler) -> str | None:
        creds = handler.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return f"uid:{uid}"

    def server_close(self) -> None:
        super().server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class TcpControlServer(_ServerMixin, socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, api: ControlApi, tokens: dict[str, str],
                 cert_file: str | None, key_file: str | None) -> None:
        self.api = api
        self.closing = threading.Event()
        self.tokens = tokens
        super().__init__((host, port), _Handler)
        if cert_file and key_file:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(cert_file, key_file)
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def identify(self, handler: _Handler) -> str | None:
        header = handler.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        offered = header[len("Bearer "):].strip()
        for name, token in self.tokens.items():
            if hmac.compare_digest(offered.encode(), token.encode()):
                return f"token:{name}"
        return None


def _remove_stale_socket(path: Path) -> None:
    """Refuse to steal the socket of a PETRA that is still running."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise OSError(f"control socket {path} is in use: is another PETRA running?")


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=name, daemon=True)
    thread.start()
    return thread
