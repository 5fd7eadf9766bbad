"""Deploy: the designer's text becomes the plant's config file and is applied as a reload.

In this order, so that a refusal leaves the running plant and its file as they were:
the text is checked as `petra check` checks it and planned as the reload plans it
(`plan_reload`), a required signature is verified against the plant's trusted keys,
and only then are the file (and its `.sig`, and the layout side file) replaced, each
atomically, and the runtime reloads them. When the runtime refuses all the same, the
old file and signature are put back. The designer never signs: with signed configs
required, a deploy without a signature answers 409 with the text's SHA-256, the page
offers the text for `petra sign` offline, and the signature is uploaded with it.

A deploy that restarts the web HMI's own listener (the web settings changed) is
answered first and applied right after, since the reload stops the server answering.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from petra.config.errors import ConfigError
from petra.designer.checks import report
from petra.designer.layout import LayoutError, layout_path, layout_text, parse_layout
from petra.plant import Plant
from petra.security.atomic import atomic_write
from petra.wiring import Wiring

log = logging.getLogger(__name__)

SELF_SERVING = ("web", "control")
"""Sections whose listener may be the one answering the deploy."""


def current_text(path: Path | None) -> str:
    """The running config's text (the embedded demo's when the plant runs without a file)."""
    if path is None:
        from petra.designer.examples import demo_text

        return demo_text()
    return path.read_text(encoding="utf-8")


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o644


class Deployer:
    def __init__(self, plant: Plant, wiring: Wiring) -> None:
        self.plant = plant
        self.wiring = wiring
        self.runtime = wiring.control

    def deploy(self, text: str, layout: Any, comment: str, signature: str | None,
               caller: str) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer) of one deploy."""
        runtime = self.runtime
        options = getattr(runtime, "options", None)
        path = getattr(options, "config_path", None)
        if runtime is None or path is None:
            return 409, {"error": "this plant runs without a config file (the embedded demo): there is no file "
                                  "to deploy to; start it with petra run FILE"}
        path = Path(path)
        try:
            positions = parse_layout(layout) if layout is not None else None
        except LayoutError as exc:
            return 400, {"error": str(exc)}
        raw = text.encode("utf-8")
        sha256 = hashlib.sha256(raw).hexdigest()
        refused = self._refusal(text, str(path))
        if refused is not None:
            self._audit(caller, comment, sha256, False, refused[1].get("error", ""))
            return refused
        answer_plan = refused_plan = None
        try:
            answer_plan = self._plan(text, str(path))
        except Exception as exc:  # what plan_reload raises: the config cannot run
            refused_plan = f"configuration cannot run: {exc}"
        if refused_plan is not None or answer_plan is None:
            self._audit(caller, comment, sha256, False, refused_plan or "")
            return 422, {"error": refused_plan}
        sig_text = self._signature_check(raw, path, signature, sha256)
        if isinstance(sig_text, tuple):
            self._audit(caller, comment, sha256, False, sig_text[1]["error"])
            return sig_text
        background = bool(set(answer_plan["sections_changed"]) & set(SELF_SERVING))
        if background:
            threading.Thread(target=self._apply, args=(path, raw, sig_text, positions, caller, comment, sha256),
                             name="petra-designer-deploy", daemon=True).start()
            return 200, {"applied": True, "pending": True, "plan": answer_plan,
                         "note": "the new config restarts the listener answering this request: it is applied "
                                 "right after this answer; reload the page"}
        status, answer = self._apply(path, raw, sig_text, positions, caller, comment, sha256)
        if status == 200:
            answer["plan"] = answer_plan
        return status, answer

    # --- steps ---------------------------------------------------------------------------------

    def _refusal(self, text: str, filename: str) -> tuple[int, dict[str, Any]] | None:
        from petra.designer.checks import check_text
        from petra.designer.graph import build_graph

        result = check_text(text, filename)
        if result.ok:
            return None
        try:
            graph = build_graph(text, filename, result.signal_types())
        except ConfigError:
            graph = None
        errors = report(result, graph)["errors"]
        return 422, {"error": "invalid configuration: " + (errors[0]["text"] if errors else "?"), "errors": errors}

    def _plan(self, text: str, filename: str) -> dict[str, Any]:
        from dataclasses import replace

        from petra.designer.checks import check_text
        from petra.designer.plan import preview

        config = check_text(text, filename).config  # the same text was just checked: its result is kept
        assert config is not None
        scan = getattr(getattr(self.runtime, "options", None), "scan_time_ms", None)
        if scan is not None:
            config = replace(config, scan_time_ms=scan)
        return preview(self.plant, self.wiring, config, getattr(self.runtime, "tree", None))

    def signature_required(self, text: str) -> bool:
        from petra.designer.checks import check_text
        from petra.security.trust import requires_signature

        options = getattr(self.runtime, "options", None)
        if getattr(options, "require_signed", False) or requires_signature(self.plant.config):
            return True
        return requires_signature(check_text(text, str(getattr(options, "config_path", "")) or "plant.yaml").config)

    def _signature_check(self, raw: bytes, path: Path, signature: str | None,
                         sha256: str) -> str | tuple[int, dict[str, Any]] | None:
        """The signature text to install (None when none is needed), or the refusal."""
        from petra.security.signing import verify_bytes

        if not self.signature_required(raw.decode("utf-8")):
            return None
        if not signature:
            return 409, {"error": "this plant requires signed configs: sign the text offline (petra sign FILE) and "
                                  "upload the .sig with the deploy", "needs_signature": True, "sha256": sha256}
        trusted = getattr(getattr(self.runtime, "options", None), "trusted_keys", None)
        if trusted is None:
            from petra.security.trust import NO_TRUSTED_KEYS

            return 409, {"error": NO_TRUSTED_KEYS, "needs_signature": True, "sha256": sha256}
        with tempfile.TemporaryDirectory(prefix="petra-designer-") as folder:
            sig = Path(folder) / "upload.sig"
            sig.write_text(signature, encoding="ascii", errors="replace")
            try:
                verdict = verify_bytes(raw, sig, Path(trusted))
            except Exception as exc:  # SigningError: the trusted keys cannot be read
                return 409, {"error": f"signature refused: {exc}", "needs_signature": True, "sha256": sha256}
        if not verdict.ok:
            return 409, {"error": f"signature refused: {verdict.reason}", "needs_signature": True, "sha256": sha256}
        return signature

    def _apply(self, path: Path, raw: bytes, signature: str | None, positions: dict[str, Any] | None,
               caller: str, comment: str, sha256: str) -> tuple[int, dict[str, Any]]:
        from petra.security.signing import signature_path

        runtime = self.runtime
        assert runtime is not None
        sig_path = signature_path(path)
        old_raw = path.read_bytes()
        old_sig = sig_path.read_bytes() if sig_path.exists() else None
        mode = _mode(path)
        atomic_write(path, raw, mode, keep_owner=True)
        if signature is not None:
            atomic_write(sig_path, signature.encode("ascii", "replace"), 0o644, keep_owner=True)
        result = runtime.reload(caller=caller)
        if not result.accepted:
            atomic_write(path, old_raw, mode, keep_owner=True)
            if signature is not None:
                if old_sig is None:
                    sig_path.unlink(missing_ok=True)
                else:
                    atomic_write(sig_path, old_sig, 0o644, keep_owner=True)
            reason = result.reason + (": " + "; ".join(result.problems[:5]) if result.problems else "")
            self._audit(caller, comment, sha256, False, reason)
            return 409, {"error": f"the plant refused the config ({reason}); it runs on unchanged, and its file "
                                  "is as it was", "problems": result.problems}
        if positions is not None:
            try:
                atomic_write(layout_path(path), layout_text(positions).encode(), 0o644, keep_owner=True)
            except OSError as exc:
                log.warning("the designer's layout %s was not written: %s", layout_path(path), exc)
        self._audit(caller, comment, sha256, True, "applied", changes=result.changes)
        return 200, {"applied": True, "changes": result.changes, "sha256": sha256}

    def _audit(self, caller: str, comment: str, sha256: str, accepted: bool, reason: str, **details: Any) -> None:
        self.wiring.audit("designer.deploy", caller, accepted=accepted, comment=comment, sha256=sha256,
                          reason=reason, **details)
