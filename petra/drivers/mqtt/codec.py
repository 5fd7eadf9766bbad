"""Pure MQTT logic: topic filters, JSON value paths, payload decoding and encoding, deadband.

No sockets, no threads: the actor calls these, tests call them directly.

Payloads in:
  * with `value_path` the payload must be JSON; the path walks nested keys and
    array indexes (``a.b[2].c``, an optional leading ``$.``);
  * without it, a JSON object with a ``"value"`` key gives that value (so PETRA
    reads what PETRA publishes); anything else is the payload's UTF-8 text;
  * the value is then coerced to the subscription's data type by
    `petra.values.coerce`.

Payloads out (``payload_format``): ``json`` gives
``{"value": 21.5, "quality": "good", "ts": 1712345678.123}`` (ts in Unix seconds);
``plain`` gives the bare value (``21.5``, ``true``, text as is). A publish
group's payload is one object of several signals (`encode_object`).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from functools import lru_cache

from petra.values import DataType, Quality, Value, coerce

MAX_JSON_DEPTH = 64
"""Deeper documents are refused before parsing: `json.loads` recurses once per level."""
MAX_NUMBER_DIGITS = 320
"""Longer integers are refused (a float holds at most 309 digits); Python's int parsing is quadratic."""


class PayloadError(ValueError):
    """A message whose payload cannot become a value of the wanted type."""


class TopicError(ValueError):
    """A topic filter or a topic that does not fit what it is used for."""


def topic_matches(topic_filter: str, topic: str) -> bool:
    """True when `topic` matches `topic_filter` (MQTT 3.1.1 section 4.7: ``+`` one level, ``#`` the rest)."""
    return _matches(tuple(topic_filter.split("/")), topic.split("/"))


def _matches(parts: Sequence[str], levels: Sequence[str]) -> bool:
    for index, part in enumerate(parts):
        if part == "#":
            return True
        if index >= len(levels):
            return False
        if part != "+" and part != levels[index]:
            return False
    return len(parts) == len(levels)


MAX_TOPIC_BYTES = 65535
"""A topic or filter is a UTF-8 string of at most 65,535 bytes (MQTT 3.1.1 section 1.5.3)."""


def validate_filter(topic_filter: str) -> None:
    """Raise TopicError unless `topic_filter` is a legal MQTT topic filter (section 4.7: what paho subscribes)."""
    _validate_string(topic_filter)
    parts = topic_filter.split("/")
    for index, part in enumerate(parts):
        if "#" in part and (part != "#" or index != len(parts) - 1):
            raise TopicError(f"'{_shown(topic_filter)}': '#' must be a whole last level")
        if "+" in part and part != "+":
            raise TopicError(f"'{_shown(topic_filter)}': '+' must be a whole level")


def validate_topic(topic: str) -> None:
    """Raise TopicError unless `topic` is a topic a message can be published to: no wildcards (section 4.7.1)."""
    _validate_string(topic)
    if has_wildcard(topic):
        raise TopicError(f"'{_shown(topic)}': a topic to publish to cannot hold '+' or '#' (they are wildcards "
                         "of subscriptions)")


def _validate_string(topic: str) -> None:
    if not topic:
        raise TopicError("a topic cannot be empty")
    if "\x00" in topic:
        raise TopicError(f"'{_shown(topic)}': a topic cannot hold the NUL character")
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise TopicError(f"'{_shown(topic)}': character {exc.start} has no UTF-8 form (a lone surrogate)") from None
    if size > MAX_TOPIC_BYTES:
        raise TopicError(f"'{_shown(topic)}': {size} bytes long, more than MQTT's {MAX_TOPIC_BYTES}")


def _shown(topic: str) -> str:
    """A topic as a message quotes it: what does not print escaped (NUL as \\x00), at most 80 characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in topic[:80])
    return text if len(topic) <= 80 else f"{text}..."


def has_wildcard(topic_filter: str) -> bool:
    return "+" in topic_filter or "#" in topic_filter


def segment(topic: str, index: int) -> str:
    """Topic level `index` (0 = first); TopicError when the topic is shorter."""
    levels = topic.split("/")
    if index >= len(levels) or not levels[index]:
        raise TopicError(f"topic '{topic}' has no level {index} (counted from 0)")
    return levels[index]


_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]|(\.)")


@lru_cache(maxsize=1024)
def parse_path(path: str) -> tuple[str | int, ...]:
    """``"a.b[2].c"`` -> ``("a", "b", 2, "c")``; a leading ``$.`` is allowed."""
    text = path[2:] if path.startswith("$.") else path
    steps: list[str | int] = []
    position = 0
    expect_name = True
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None:
            raise PayloadError(f"value_path '{path}': cannot read '{text[position:]}'")
        name, index, dot = match.groups()
        if name is not None:
            if not expect_name:
                raise PayloadError(f"value_path '{path}': missing '.' before '{name}'")
            steps.append(name)
            expect_name = False
        elif index is not None:
            steps.append(int(index))
            expect_name = False
        elif dot is not None:
            if expect_name:
                raise PayloadError(f"value_path '{path}': empty key")
            expect_name = True
        position = match.end()
    if not steps or expect_name:
        raise PayloadError(f"value_path '{path}': ends without a key")
    return tuple(steps)


def extract(document: object, path: str) -> object:
    """The value at `path` in a parsed JSON document; PayloadError names the failing step."""
    current = document
    walked = ""
    for step in parse_path(path):
        if isinstance(step, int):
            if not isinstance(current, list):
                raise PayloadError(f"value_path '{path}': '{walked}' is not an array")
            if step >= len(current):
                raise PayloadError(f"value_path '{path}': index {step} out of range ({len(current)} items)")
            current = current[step]
            walked += f"[{step}]"
        else:
            if not isinstance(current, dict):
                raise PayloadError(f"value_path '{path}': '{walked or '$'}' is not an object")
            if step not in current:
                raise PayloadError(f"value_path '{path}': key '{step}' not found")
            current = current[step]
            walked = f"{walked}.{step}" if walked else step
    return current


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _depth_within(text: str, limit: int) -> bool:
    """Whether the brackets of a JSON text nest at most `limit` deep (strings ignored)."""
    if text.count("[") + text.count("{") <= limit:
        return True
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return False
    return True


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise PayloadError(f"number too large ({len(digits)} digits)")
    return int(digits)


def load_json(text: str) -> object:
    """`json.loads` bounded for input from outside: PayloadError for anything it cannot take."""
    if not _depth_within(text, MAX_JSON_DEPTH):
        raise PayloadError(f"JSON nested too deeply (more than {MAX_JSON_DEPTH} levels)")
    try:
        return json.loads(text, parse_int=_bounded_int)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"payload is not JSON ({_clip(str(exc))}): {text[:60]!r}") from None


def decode(payload: bytes, data_type: DataType, value_path: str | None = None) -> Value:
    """A payload as a value of `data_type` (rules in the module docstring); total: every failure is a PayloadError."""
    if data_type is DataType.FLOAT and not value_path:
        try:  # the common case, a plain number: what float() takes of the bytes is what the text path gives
            return float(payload)
        except (ValueError, TypeError):
            pass
    try:
        return _decode(payload, data_type, value_path)
    except PayloadError:
        raise
    except Exception as exc:  # one message must never be more than one decode error
        raise PayloadError(_clip(f"{type(exc).__name__}: {exc}")) from None


def _decode(payload: bytes, data_type: DataType, value_path: str | None) -> Value:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8: {exc}") from None
    raw: object
    if value_path:
        raw = extract(_document(payload, text), value_path)
    else:
        raw = text
        if text.lstrip().startswith("{"):
            try:
                document = load_json(text)
            except PayloadError:  # not PETRA's JSON: the text itself is the value
                document = None
            if isinstance(document, dict) and "value" in document:
                raw = document["value"]
    return to_value(raw, data_type)


class _LastDocument(threading.local):
    """This thread's last payload with a value path and its JSON (or why it is not JSON)."""

    payload: bytes | None = None
    document: object = None
    error: str | None = None


_last = _LastDocument()


def _document(payload: bytes, text: str) -> object:
    """`load_json(text)`, parsed once for the several subscriptions one message feeds (`bench/in` feeding
    `temperature.value` and `t`): the same payload object asked again gets the same document."""
    last = _last
    if last.payload is not payload:
        try:
            last.document, last.error = load_json(text), None
        except PayloadError as exc:
            last.document, last.error = None, str(exc)
        last.payload = payload
    if last.error is not None:
        raise PayloadError(last.error)
    return last.document


def to_value(raw: object, data_type: DataType) -> Value:
    """A decoded JSON value (or text) coerced to `data_type`; PayloadError when it does not fit."""
    if raw is None or isinstance(raw, (dict, list)):
        got = "null" if raw is None else "an object" if isinstance(raw, dict) else "an array"
        raise PayloadError(f"expected a {data_type.value}, got {got}")
    try:
        return coerce(raw, data_type)
    except (ValueError, ArithmeticError) as exc:  # CoercionError, and what coerce lets through (OverflowError)
        raise PayloadError(_clip(str(exc))) from None


def _clip(message: str, limit: int = 200) -> str:
    """Error messages quote the payload: a log line must not be as long as the payload."""
    return message if len(message) <= limit else f"{message[:limit]}... ({len(message)} characters)"


def encode(value: Value, quality: Quality, timestamp: float, payload_format: str = "json") -> bytes:
    """The payload PETRA publishes for a signal (format in the module docstring)."""
    if payload_format == "plain":
        if isinstance(value, bool):
            return b"true" if value else b"false"
        return str(value).encode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value)  # JSON has no NaN/inf
    return json.dumps(
        {"value": value, "quality": quality.name.lower(), "ts": round(timestamp, 6)}, separators=(",", ":")
    ).encode("utf-8")


def encode_object(fields: Sequence[tuple[str, Value, int]]) -> bytes:
    """A publish group's payload: ``{key: value, ...}`` in the given order, compact.

    A value of bad quality, or a float JSON cannot hold (NaN, infinity), is ``null``.
    """
    document: dict[str, Value | None] = {}
    for key, value, quality in fields:
        if quality == Quality.BAD or (isinstance(value, float) and not math.isfinite(value)):
            document[key] = None
        else:
            document[key] = value
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def passes_deadband(last: tuple[Value, int] | None, value: Value, quality: int, deadband: float) -> bool:
    """Whether a change is worth publishing given the last published (value, quality).

    Always on the first value and on a quality change; numbers only when they
    moved by at least `deadband` (0 = every change); bools and text on any change.
    """
    if last is None:
        return True
    last_value, last_quality = last
    if quality != last_quality:
        return True
    if deadband > 0 and not isinstance(value, (bool, str)) and not isinstance(last_value, (bool, str)):
        return abs(value - last_value) >= deadband
    return value != last_value


def command_target(command_filter: str, topic: str, payload: bytes) -> tuple[str, object]:
    """(signal, raw value) of a remote write.

    With a wildcard command topic (``plant/cmd/+``) the signal is the topic's last
    level and the payload the value (plain, or JSON with a ``"value"`` key);
    without one the payload must be JSON ``{"signal": ..., "value": ...}``.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("command payload is not UTF-8") from None
    document: object = None
    if text.lstrip().startswith("{"):
        try:
            document = load_json(text)
        except PayloadError as exc:
            raise PayloadError(f"command {exc}") from None
    if has_wildcard(command_filter):
        signal = topic.rsplit("/", 1)[-1]
        if isinstance(document, dict):
            if "value" not in document:
                raise PayloadError("command JSON needs a 'value' key")
            return signal, document["value"]
        return signal, text
    if not isinstance(document, dict) or "signal" not in document or "value" not in document:
        raise PayloadError('command payload must be JSON {"signal": ..., "value": ...}')
    return str(document["signal"]), document["value"]
