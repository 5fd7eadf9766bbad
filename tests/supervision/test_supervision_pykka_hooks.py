"""The private pykka hooks supervision overrides: pinned to pykka 4, and checked here so a change fails loudly.

``SupervisedActor`` wraps ``_actor_loop``, ``_handle_receive`` and ``_handle_failure``;
``PooledActor`` replaces ``_create_actor_inbox`` and ``_start_actor_loop`` and drives
``_actor_loop_setup``/``_actor_loop_teardown`` and envelopes itself. None of that is
pykka's public API. If a test here fails after a pykka upgrade, read pykka's
changelog and supervision/_actor.py and _pool.py before widening the pin in
pyproject.toml.
"""

from __future__ import annotations

import inspect
import threading
from importlib.metadata import version
from typing import Any, ClassVar

import pykka
import pytest
from pykka import messages

PINNED_MAJOR = 4
HOOK_PARAMETERS = {
    "_actor_loop": ["self"],
    "_actor_loop_setup": ["self"],
    "_actor_loop_running": ["self"],
    "_actor_loop_teardown": ["self"],
    "_start_actor_loop": ["self"],
    "_create_actor_inbox": [],
    "_handle_receive": ["self", "message"],
    "_handle_failure": ["self", "exception_type", "exception_value", "traceback"],
    "_stop": ["self"],
}


def changed(what: str) -> str:
    return f"pykka {version('pykka')} changed {what}, a private hook supervision overrides: review before upgrading"


def test_pykka_is_the_major_version_supervision_was_written_against() -> None:
    assert int(version("pykka").split(".")[0]) == PINNED_MAJOR, changed("its major version")


@pytest.mark.parametrize("hook", sorted(HOOK_PARAMETERS))
def test_each_overridden_hook_keeps_its_signature(hook: str) -> None:
    method = getattr(pykka.ThreadingActor, hook, None)
    assert method is not None, changed(f"Actor.{hook} (it is gone)")
    assert list(inspect.signature(method).parameters) == HOOK_PARAMETERS[hook], changed(f"Actor.{hook}'s signature")


class _Recorder(pykka.ThreadingActor):
    """Records which hooks pykka calls, in which thread, with what."""

    instances: ClassVar[list[_Recorder]] = []

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.done = threading.Event()
        _Recorder.instances.append(self)
        super().__init__()

    def _create_actor_inbox(self) -> Any:  # type: ignore[override]
        self.calls.append(("inbox", None))
        return super()._create_actor_inbox()

    def _actor_loop_setup(self) -> None:
        self.calls.append(("setup", threading.current_thread() is not threading.main_thread()))
        super()._actor_loop_setup()

    def _actor_loop_running(self) -> None:
        self.calls.append(("running", None))
        super()._actor_loop_running()

    def _actor_loop_teardown(self) -> None:
        self.calls.append(("teardown", None))
        super()._actor_loop_teardown()

    def _actor_loop(self) -> None:
        try:
            super()._actor_loop()
        finally:
            self.done.set()

    def _handle_receive(self, message: Any) -> Any:
        self.calls.append(("receive", type(message).__name__))
        return super()._handle_receive(message)

    def _handle_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self.calls.append(("failure", (exception_type, type(exception_value), traceback is not None)))
        super()._handle_failure(exception_type, exception_value, traceback)

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise ValueError("boom")
        return message


def test_the_actor_loop_runs_setup_running_teardown_in_the_actor_thread_around_every_message() -> None:
    ref = _Recorder.start()
    assert ref.ask("hello") == "hello"
    ref.stop()
    actor = _Recorder.instances[-1]
    assert actor.done.wait(5.0)
    assert actor.calls == [
        ("inbox", None),
        ("setup", True),
        ("running", None),
        ("receive", "str"),
        ("receive", "_ActorStop"),
        ("teardown", None),
    ], changed("the actor loop's hooks or their order")


def test_a_failing_tell_reaches_handle_failure_with_the_exception_info() -> None:
    ref = _Recorder.start()
    actor = _Recorder.instances[-1]
    ref.tell("boom")
    assert actor.done.wait(5.0)
    assert ("failure", (ValueError, ValueError, True)) in actor.calls, changed("how a tell failure is handled")


def test_an_envelope_carries_message_and_reply_to_and_stop_is_the_actor_stop_message() -> None:
    from pykka._envelope import Envelope

    envelope = Envelope("m", reply_to=None)
    assert (envelope.message, envelope.reply_to) == ("m", None), changed("Envelope")
    assert isinstance(messages._ActorStop, type), changed("messages._ActorStop")
