"""`petra twilio sms|call|signal` and `petra notify test`: notification tools (the original's twilio_test).

    petra twilio sms --to +41791234567 --message "Test from PETRA" [--config FILE]
    petra twilio call --to +41791234567 --message "Test voice call" [--config FILE]
    petra twilio signal --config FILE --signal emergency_stop --value true
    petra notify test CONTACT_ID --config FILE [--channel sms|voice|email ...]

Credentials and the API base URL come from the config's `twilio` section when
--config is given, else from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN and the
options. Exit status: 0 when everything was accepted, 1 when something failed,
2 for usage and config errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from petra.alarms.config import (
    DEFAULT_API_BASE,
    AlarmsConfig,
    TwilioSettings,
    build_config,
    twilio_settings,
)
from petra.alarms.notify.base import Backend, DeliveryError
from petra.alarms.twiml import from_content, say


def register(sub: argparse._SubParsersAction) -> None:
    twilio = sub.add_parser("twilio", help="send a test SMS or call through Twilio, or fire configured actions")
    actions = twilio.add_subparsers(dest="twilio_command", metavar="ACTION", required=True)
    for name, what in (("sms", "send an SMS"), ("call", "place a call that speaks MESSAGE (or TwiML)")):
        p = actions.add_parser(name, help=what)
        p.add_argument("--to", required=True, help="phone number in E.164 form")
        p.add_argument("--message", required=True, help="text (for call: spoken, or TwiML if it starts with '<')")
        _twilio_options(p)
        p.set_defaults(handler=_send)
    p = actions.add_parser("signal", help="fire the twilio.actions a signal value triggers")
    p.add_argument("--config", required=True, help="PETRA configuration with a twilio section")
    p.add_argument("--signal", required=True, help="trigger_signal of the actions")
    p.add_argument("--value", required=True, help="the signal's new value (actions fire on a truthy value)")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    p.set_defaults(handler=_signal)

    notify = sub.add_parser("notify", help="test notification channels")
    notify_actions = notify.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    p = notify_actions.add_parser("test", help="send a test message to a contact through each of its channels")
    p.add_argument("contact", metavar="CONTACT_ID")
    p.add_argument("--config", required=True, help="PETRA configuration with alarms.contacts")
    p.add_argument("--channel", action="append", choices=("sms", "voice", "email"),
                   help="only these channels (repeatable; default: every channel the contact has)")
    p.set_defaults(handler=_notify_test)


def _twilio_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="take credentials, from_number and api_base_url from this config")
    parser.add_argument("--from", dest="from_number", help="sender number (default: twilio.from_number)")
    parser.add_argument("--api-base-url", help=f"Twilio REST base URL (default {DEFAULT_API_BASE})")


NOTIFY_SECTIONS = ("alarms", "twilio", "email")


def _load(path: str, sections: tuple[str, ...] = NOTIFY_SECTIONS) -> AlarmsConfig | None:
    """Only the sections the tool needs: ${VAR}s used elsewhere (MQTT, ClickHouse) need not be set."""
    from petra.commands.common import load_sections_or_report

    loaded = load_sections_or_report(path, sections)
    if loaded is None:
        return None
    config = build_config(loaded)
    if config is None:
        print(f"petra: {path} has no alarms, twilio or email section", file=sys.stderr)
    return config


def _cipher_suites(path: str) -> list[str]:
    """security.allowed_cipher_suites, which the SMTP and Twilio clients of these tools obey as PETRA's do."""
    from petra.commands.common import load_sections_or_report
    from petra.security.tls import configured_suites

    loaded = load_sections_or_report(path, ("security",))
    return configured_suites(loaded) if loaded is not None else []


def _twilio_from_args(args: argparse.Namespace) -> TwilioSettings | None:
    settings: TwilioSettings | None
    if args.config:
        config = _load(args.config, ("twilio",))
        if config is None:
            return None
        if config.twilio is None:
            print(f"petra: {args.config} has no twilio section", file=sys.stderr)
            return None
        settings = config.twilio
    else:
        settings = twilio_settings({}, os.environ)
        assert settings is not None
    overrides: dict[str, Any] = {}
    if args.from_number:
        overrides["from_number"] = args.from_number
    if args.api_base_url:
        overrides["api_base_url"] = args.api_base_url
    if overrides:
        from dataclasses import replace

        settings = replace(settings, **overrides)
    return settings


def _report(label: str, backend: Backend, record: dict[str, Any]) -> bool:
    try:
        result = backend.send(record)
    except DeliveryError as exc:
        kind = "transient" if exc.transient else "permanent"
        print(f"{label}: FAILED ({kind}): {exc}", file=sys.stderr)
        return False
    print(f"{label}: accepted, sid {result.sid}, status {result.status}")
    return True


def _send(args: argparse.Namespace) -> int:
    from petra.alarms.notify.twilio_backend import TwilioBackend

    settings = _twilio_from_args(args)
    if settings is None:
        return 2
    kind = "sms" if args.twilio_command == "sms" else "voice"
    record: dict[str, Any] = {"to": args.to, "body": args.message}
    if kind == "voice":
        record["twiml"] = from_content(args.message)
    suites = _cipher_suites(args.config) if args.config else []
    return 0 if _report(f"{args.twilio_command} to {args.to}", TwilioBackend(settings, kind, suites), record) else 1


def _truthy(text: str) -> bool:
    return text.strip().lower() not in ("", "0", "false", "off", "no", "0.0")


def _signal(args: argparse.Namespace) -> int:
    from petra.alarms.actions_actor import action_record
    from petra.alarms.notify.twilio_backend import TwilioBackend

    config = _load(args.config, ("twilio",))
    if config is None:
        return 2
    actions = [a for a in (config.twilio.actions if config.twilio else ()) if a.trigger_signal == args.signal]
    if not actions:
        print(f"petra: no twilio.actions are triggered by signal '{args.signal}'", file=sys.stderr)
        return 2
    if not _truthy(args.value):
        print(f"{args.signal}={args.value} is not a rising edge: {len(actions)} action(s) stay quiet")
        return 0
    assert config.twilio is not None
    ok = True
    for action in actions:
        record = action_record(action, time.time(), args.value)
        label = f"action {action.name} ({action.action_type} to {action.to_number})"
        if args.dry_run:
            print(f"{label}: would send {record.get('twiml') or record['body']!r}")
            continue
        kind = "sms" if action.action_type == "sms" else "voice"
        ok = _report(label, TwilioBackend(config.twilio, kind, _cipher_suites(args.config)), record) and ok
    return 0 if ok else 1


def _notify_test(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    contact = config.contacts.get(args.contact)
    if contact is None:
        known = ", ".join(sorted(config.contacts)) or "none"
        print(f"petra: no contact '{args.contact}' (known: {known})", file=sys.stderr)
        return 2
    wanted = args.channel or ["sms", "voice", "email"]
    text = f"PETRA test notification for {contact.name} ({contact.id}) at {time.strftime('%Y-%m-%d %H:%M:%S %Z')}"
    sent_any, ok = False, True
    for channel in wanted:
        address = contact.email if channel == "email" else contact.phone
        if not address:
            if args.channel:
                print(f"{channel}: contact {contact.id} has no {'email' if channel == 'email' else 'phone'}",
                      file=sys.stderr)
                ok = False
            continue
        if (channel in ("sms", "voice") and config.twilio is None) or (channel == "email" and config.email is None):
            print(f"{channel}: not configured (no {'email' if channel == 'email' else 'twilio'} section); skipped")
            if args.channel:
                ok = False
            continue
        record: dict[str, Any] = {"to": address, "body": text, "subject": "[PETRA] test notification"}
        if channel == "voice":
            from petra.alarms.notify.twilio_backend import TwilioBackend

            assert config.twilio is not None
            record["twiml"] = say(text)
            backend: Backend = TwilioBackend(config.twilio, "voice", _cipher_suites(args.config))
        elif channel == "sms":
            from petra.alarms.notify.twilio_backend import TwilioBackend

            assert config.twilio is not None
            backend = TwilioBackend(config.twilio, "sms", _cipher_suites(args.config))
        else:
            from petra.alarms.notify.smtp_backend import EmailBackend

            assert config.email is not None
            backend = EmailBackend(config.email, _cipher_suites(args.config))
        sent_any = True
        ok = _report(f"{channel} to {address}", backend, record) and ok
    if not sent_any and ok:
        print(f"petra: contact {contact.id} has no channel that is configured", file=sys.stderr)
        return 1
    return 0 if ok else 1
