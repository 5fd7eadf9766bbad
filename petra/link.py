"""The pipe between PETRA and a process of its own (the OPC-UA server, the web streams' fan-out): tells, and
calls that wait for an answer.

Each side has one `Link` over a `multiprocessing.connection.Connection` (a socketpair). A message is a
pickled tuple: `("tell", name, args)`, `("call", id, name, args)` or `("reply", id, ok, value)`. The
reader thread answers replies itself and runs tells on itself too (their handlers must be quick: queue
and return); calls run on the side's `executor`, so a call that waits on the plant never holds the
pipe. A call raises what the other side's handler raised (or `LinkClosed` when the pipe goes).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


def spawn_child(module: str, send_buffer: int | None = None) -> tuple[subprocess.Popen[bytes], Connection]:
    """Start `python -m module FD` (this checkout of PETRA first on its path) with one end of a new socketpair;
    returns the process and PETRA's end of the pipe."""
    ours, theirs = socket.socketpair()
    if send_buffer is not None:
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        process = subprocess.Popen([sys.executable, "-m", module, str(theirs.fileno())],
                                   pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env, close_fds=True)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, Connection(ours.detach())


class LinkClosed(ConnectionError):
    """The other process went away (or this link was closed)."""


class Link:
    def __init__(self, conn: Connection, handlers: dict[str, Handler], executor: Executor,
                 name: str = "petra-opcua-link", on_closed: Callable[[], None] | None = None,
                 peer: str = "the OPC-UA server process") -> None:
        self.conn = conn
        self.peer = peer
        """The other side, as the log and `LinkClosed` name it."""
        self.handlers = handlers
        self.executor = executor
        self.on_closed = on_closed
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, Future[Any]] = {}
        self._waiting_lock = threading.Lock()
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name=name, daemon=True)

    def start(self) -> Link:
        self._reader.start()
        return self

    # -- sending ----------------------------------------------------------------------------------

    def _send(self, message: tuple[Any, ...], lock_timeout: float = -1) -> bool:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        if self.closed.is_set():
            raise LinkClosed(f"{self.peer} is gone")
        if not self._send_lock.acquire(timeout=lock_timeout):
            return False  # another sender is stuck on a full pipe (the other side does not read)
        try:
            self.conn.send_bytes(data)
        except (OSError, ValueError) as exc:  # the other end closed
            self._closed()
            raise LinkClosed(str(exc)) from None
        finally:
            self._send_lock.release()
        return True

    def tell(self, name: str, *args: Any) -> None:
        """Send and forget; a closed link drops it (the other side is gone anyway)."""
        with contextlib.suppress(LinkClosed):
            self._send(("tell", name, args))

    def try_tell(self, name: str, *args: Any, timeout: float = 1.0) -> bool:
        """`tell` unless the pipe has been blocked for `timeout` (the other side hung): whether it went."""
        try:
            return self._send(("tell", name, args), lock_timeout=timeout)
        except LinkClosed:
            return False

    def call(self, name: str, *args: Any, timeout: float = 30.0) -> Any:
        """Ask the other side and wait (never from the reader thread); raises what its handler raised."""
        call_id = next(self._ids)
        future: Future[Any] = Future()
        with self._waiting_lock:
            self._waiting[call_id] = future
        try:
            self._send(("call", call_id, name, args))
            return future.result(timeout)
        finally:
            with self._waiting_lock:
                self._waiting.pop(call_id, None)

    # -- receiving --------------------------------------------------------------------------------

    def _read(self) -> None:
        try:
            while True:
                try:
                    message = pickle.loads(self.conn.recv_bytes())
                except (EOFError, OSError):
                    return
                self._dispatch(message)
        except Exception:
            log.exception("link to %s: a message could not be read", self.peer)
        finally:
            self._closed()

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "reply":
            _, call_id, ok, value = message
            with self._waiting_lock:
                future = self._waiting.get(call_id)
            if future is not None and not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        elif kind == "tell":
            _, name, args = message
            try:
                self.handlers[name](*args)
            except Exception:
                log.exception("link to %s: %s failed", self.peer, name)
        elif kind == "call":
            _, call_id, name, args = message
            try:
                self.executor.submit(self._answer, call_id, name, args)
            except RuntimeError:  # the executor is shutting down
                self._reply(call_id, False, LinkClosed("shutting down"))

    def _answer(self, call_id: int, name: str, args: tuple[Any, ...]) -> None:
        try:
            value = self.handlers[name](*args)
        except Exception as exc:
            self._reply(call_id, False, exc)
        else:
            self._reply(call_id, True, value)

    def _reply(self, call_id: int, ok: bool, value: Any) -> None:
        try:
            self._send(("reply", call_id, ok, value))
        except LinkClosed:
            pass
        except Exception as exc:  # the value or the exception would not pickle
            log.exception("link to %s: the answer to %d could not be sent", self.peer, call_id)
            with contextlib.suppress(LinkClosed):
                self._send(("reply", call_id, False, RuntimeError(f"{type(value).__name__}: {exc}")))

    def _closed(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        with self._waiting_lock:
            waiting = list(self._waiting.values())
        for future in waiting:
            if not future.done():
                future.set_exception(LinkClosed(f"{self.peer} is gone"))
        if self.on_closed is not None:
            with contextlib.suppress(Exception):
                self.on_closed()

    def close(self) -> None:
        """Close the pipe: both readers see its end (a shut-down socket wakes a blocked read, a closed fd
        does not)."""
        with contextlib.suppress(OSError, ValueError):
            sock = socket.socket(fileno=os.dup(self.conn.fileno()))
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(5)
        with contextlib.suppress(OSError):
            self.conn.close()
        self._closed()
