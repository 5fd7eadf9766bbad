"""Swap a config file at the one moment a check-then-use race needs: while its
signature is being read (the `.sig` is a FIFO, so the reader waits for us)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class SignatureSwap(threading.Thread):
    """Replaces `config` by `replacement` once the verifier has opened `config`.sig."""

    def __init__(self, config: Path, replacement: Path, signature: str) -> None:
        super().__init__(daemon=True)
        self.config, self.replacement, self.signature = config, replacement, signature
        self.done = threading.Event()
        sig = config.with_name(config.name + ".sig")
        sig.unlink(missing_ok=True)
        os.mkfifo(sig)
        self.sig = sig

    def run(self) -> None:
        with open(self.sig, "w", encoding="ascii") as fifo:  # blocks until the verifier opens it
            os.replace(self.replacement, self.config)
            fifo.write(self.signature)
        self.done.set()


def swap_while_signature_is_read(config: Path, replacement: Path, signature: str) -> SignatureSwap:
    swap = SignatureSwap(config, replacement, signature)
    swap.start()
    return swap
