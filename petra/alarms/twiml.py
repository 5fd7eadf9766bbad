"""TwiML documents PETRA sends (calls) and answers (webhooks)."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr


def say(text: str) -> str:
    return f"<Response><Say>{escape(text)}</Say></Response>"


def message(text: str) -> str:
    """The answer to an inbound SMS: one reply message."""
    return f"<Response><Message>{escape(text)}</Message></Response>"


def empty() -> str:
    return "<Response/>"


def alarm_call(text: str, action_url: str | None) -> str:
    """A call that reads the alarm and, when a webhook is configured, takes a key press to acknowledge it."""
    if action_url is None:
        return f"<Response><Say>{escape(text)}</Say><Say>{escape(text)}</Say></Response>"
    return (f"<Response><Gather numDigits=\"1\" timeout=\"10\" method=\"POST\" action={quoteattr(action_url)}>"
            f"<Say>{escape(text)}</Say><Say>Press 1 to acknowledge.</Say></Gather>"
            f"<Say>No key was pressed. The alarm is not acknowledged. Goodbye.</Say></Response>")


def from_content(content: str) -> str:
    """A configured action's call content: TwiML as written, or plain text to be spoken."""
    stripped = content.strip()
    return stripped if stripped.startswith("<") else say(stripped or "PETRA alert.")
