"""The OPC-UA actor (`services/opcua`): runs the asyncua server on an event loop thread of its own.

The actor's thread only starts and stops the loop thread (`petra-opcua`) and answers probes and status
asks; every client request, value update and write is handled on the loop, and a write waits for the plant
in a worker thread (`petra-opcua-write_*`), so neither the plant nor the actor ever waits on a client. A
crash of the loop thread fails the actor (health check), and the supervisor restarts it: the server binds
again and clients reconnect (their sessions are gone; asyncua's client re-creates them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from petra.control.auth import Identities
from petra.control.handle import RuntimeHandle
from petra.opcua.metrics import OpcuaMetrics
from petra.opcua.server import PetraServer
from petra.opcua.settings import OpcuaSettings
from petra.plant import Plant
from petra.wiring import Wiring
from supervision import SupervisedActor

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 5.0
THREAD_NAME = "petra-opcua"
WORKER_NAME = "petra-opcua-worker"
WORKERS = 2


class OpcuaStopped(RuntimeError):
    pass


def started_executor(workers: int = WORKERS) -> ThreadPoolExecutor:
    """The server's worker threads, all started now (none appears later, none outlives the server)."""
    executor = ThreadPoolExecutor(workers, thread_name_prefix=WORKER_NAME)
    barrier = threading.Barrier(workers + 1)
    for _ in range(workers):  # each submit finds no idle worker and starts one
        executor.submit(barrier.wait)
    barrier.wait()
    return executor


class OpcuaActor(SupervisedActor):
    """Serves the plant over OPC-UA (asyncua on its own event loop thread)."""

    def __init__(self, plant: Plant, runtime: RuntimeHandle | None, identities: Identities, metrics: OpcuaMetrics,
                 wiring: Wiring) -> None:
        super().__init__()
        self.plant = plant
        self.runtime = runtime
        self.identities = identities
        self.metrics = metrics
        self.wiring = wiring
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: PetraServer | None = None
        self._crashed: BaseException | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.ready = threading.Event()
        """Set once the server listens (`endpoints` says where)."""

    def on_start(self) -> None:
        """Start the loop thread and, on it, the server; returns at once (the plant never waits on OPC-UA's
        ~1-3 s start). A start that fails fails this actor (`fail`), and its supervisor restarts it."""
        settings = self.plant.config.settings("opcua", OpcuaSettings)
        loop = self._loop = asyncio.new_event_loop()
        executor = self._executor = started_executor()
        loop.set_default_executor(executor)  # asyncua's to_thread calls too: a known, fixed set of threads
        server = self._server = PetraServer(self.plant, settings, self.identities, self.runtime, self.metrics,
                                            self.wiring.audit, self.wiring, executor=executor)

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start(server))
                loop.run_forever()
            except BaseException as exc:  # the loop itself died: the health check reports it
                self._crashed = exc
            finally:
                with contextlib.suppress(BaseException):  # free the port and the sessions for the successor
                    loop.run_until_complete(asyncio.wait_for(server.stop(), STOP_TIMEOUT_S))
                with contextlib.suppress(Exception):
                    loop.close()
                executor.shutdown(wait=True, cancel_futures=True)  # a write waits at most ASK_TIMEOUT_S

        self._thread = threading.Thread(target=run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    async def _start(self, server: PetraServer) -> None:
        try:
            await asyncio.wait_for(server.start(), START_TIMEOUT_S)
        except Exception as exc:
            log.exception("OPC-UA: the server did not start: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(Exception):
                await server.stop()
            self.fail(exc)
            return
        self.ready.set()

    def check_health(self) -> None:
        thread = self._thread
        if thread is not None and not thread.is_alive():
            raise OpcuaStopped(f"the OPC-UA server's event loop stopped ({self._crashed!r})")
        server = self._server.server if self._server is not None else None
        bserver = server.bserver if server is not None else None
        if bserver is not None and bserver._server is not None and not bserver._server.is_serving():
            raise OpcuaStopped("the OPC-UA server stopped listening")

    def release(self) -> None:
        server, self._server = self._server, None
        loop, self._loop = self._loop, None
        thread, self._thread = self._thread, None
        if loop is None:
            return
        if server is not None and thread is not None and thread.is_alive() and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(server.stop(), loop).result(STOP_TIMEOUT_S)
            except Exception:
                log.exception("OPC-UA: stopping the server failed")
        if thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT_S)

    # --- asks ---------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Endpoint, policies, sessions (user, role, address), subscriptions, monitored items."""
        server = self._server
        if server is None or not self.ready.is_set():
            return {"endpoint": None, "starting": server is not None, "sessions": []}
        return server.status()

    def endpoints(self) -> dict[str, Any]:
        """Where the server listens (None values until it does)."""
        server = self._server if self.ready.is_set() else None
        return {"opcua": server.endpoint if server is not None else None,
                "port": server.port if server is not None else None,
                "namespace": server.namespace if server is not None else None}

    def server(self) -> PetraServer | None:
        """The running server (tests and B2's conditions tests reach the asyncua server through it)."""
        return self._server

    def crash_loop(self) -> None:
        """Stop the server's loop thread abruptly (the chaos tests: a crash the supervisor must see)."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
