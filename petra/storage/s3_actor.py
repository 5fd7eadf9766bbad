"""archive:s3, the tier actor: runs an upload pass (`s3_sink.S3Archive`) whenever parts are waiting."""

from __future__ import annotations

from typing import Any, ClassVar

from petra.storage.s3_sink import S3Archive
from petra.storage.tier_actor import TierActor, WalUnavailable


class S3Tier(TierActor):
    tier: ClassVar[str] = "s3"
    retriable = (OSError, WalUnavailable, TimeoutError)
    poll_s: ClassVar[float] = 1.0

    def open(self) -> None:
        assert self.settings.s3 is not None and self.settings.local is not None
        self.archive: S3Archive | None = None

    def step(self) -> bool:
        if self.archive is None:
            s3, local = self.settings.s3, self.settings.local
            assert s3 is not None and local is not None  # open() checked both
            self.archive = S3Archive(s3, local.data_dir)
        uploaded = self.archive.run()
        self.metrics.pending_files.labels(self.tier).set(self.archive.pending)
        self.metrics.rows.labels(self.tier).inc(0)
        return bool(uploaded)

    def status(self) -> dict[str, Any]:
        return {**super().status(), "pending_files": None if self.archive is None else self.archive.pending}
