"""archive:s3, the sink: closed Parquet parts to S3 (pyarrow.fs), verified, optionally removed locally.

A part is closed once it is renamed into place; it is uploaded when it is older
than `upload_after_minutes`, under ``s3://BUCKET/PREFIX<date=D/part-F-L.parquet>``
(the same relative name, so uploading twice overwrites, never duplicates).
Verified means: the object exists with the local size and its Parquet footer
reads back with the local row count. Then an empty ``.archived`` marker is left
next to the part (retention waits for it) and, with
`delete_local_after_upload`, the local part is removed. Each pass lists the
bucket once, so an object that vanished remotely is uploaded again. After a
compacted part is uploaded, the remote parts it contains are deleted.

Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN) through pyarrow's default chain.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import pyarrow.parquet as pq
from pyarrow import fs

from petra.storage.parquet_store import (
    DamagedPart,
    archived_marker,
    live,
    live_parts,
    parse_part,
    part_rows,
    warn_damaged,
)
from petra.storage.settings import S3Settings

log = logging.getLogger(__name__)


def s3_filesystem(settings: S3Settings) -> fs.S3FileSystem:
    options: dict[str, Any] = {"region": settings.region, "allow_bucket_creation": True,
                               "connect_timeout": 3, "request_timeout": 30}
    if settings.endpoint:
        url = urlsplit(settings.endpoint)
        options["endpoint_override"] = url.netloc or url.path
        options["scheme"] = url.scheme or "https"
    return fs.S3FileSystem(**options)


class S3Archive:
    """One upload pass over the local parts; pure apart from the two file systems."""

    def __init__(self, settings: S3Settings, data_dir: Any, filesystem: fs.FileSystem | None = None) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.fs = filesystem or s3_filesystem(settings)
        self.root = f"{settings.bucket}/{settings.prefix.strip('/')}".rstrip("/")
        self.pending = 0

    def remote_sizes(self) -> dict[str, int]:
        """Relative part name -> size of what the bucket holds."""
        if self.fs.get_file_info(self.settings.bucket).type == fs.FileType.NotFound:
            self.fs.create_dir(self.settings.bucket)
        infos = self.fs.get_file_info(fs.FileSelector(self.root, recursive=True, allow_not_found=True))
        return {i.path[len(self.root) + 1:]: i.size for i in infos if i.type == fs.FileType.File}

    def run(self, now: float | None = None) -> int:
        """Upload what is due; returns parts uploaded."""
        now = now or time.time()
        remote = self.remote_sizes()
        due = [p for p in live_parts(self.data_dir) if now - p.mtime >= self.settings.upload_after_minutes * 60]
        self.pending = sum(1 for p in due if remote.get(p.relative) != p.size)
        uploaded = 0
        for part in due:
            if remote.get(part.relative) != part.size:
                try:
                    self._upload(part)
                except DamagedPart as exc:  # not archived, so local retention keeps it: a person decides
                    warn_damaged(exc)
                    continue
                remote[part.relative] = part.size
                uploaded += 1
                self.pending -= 1
            marker = archived_marker(part)
            if not marker.exists():
                marker.touch()
            if self.settings.delete_local_after_upload:
                part.path.unlink(missing_ok=True)
        self._drop_contained(remote)
        return uploaded

    def _upload(self, part: Any) -> None:
        key = f"{self.root}/{part.relative}"
        with open(part.path, "rb") as src, self.fs.open_output_stream(key) as dst:
            while chunk := src.read(8 * 1024 * 1024):
                dst.write(chunk)
        info = self.fs.get_file_info(key)
        local_rows = part_rows(part.path)
        with self.fs.open_input_file(key) as remote_file:
            remote_rows = pq.read_metadata(remote_file).num_rows
        if info.size != part.size or remote_rows != local_rows:
            raise OSError(f"S3 verification of {key} failed: size {info.size} != {part.size} "
                          f"or rows {remote_rows} != {local_rows}")
        log.debug("s3: archived %s (%d bytes, %d rows)", key, part.size, local_rows)

    def _drop_contained(self, remote: dict[str, int]) -> None:
        parsed = {name: parse_part(name) for name in remote}
        keep = live(p for p in parsed.values() if p is not None)
        for name, p in parsed.items():
            if p is not None and p not in keep:
                self.fs.delete_file(f"{self.root}/{name}")
                log.info("s3: removed %s (contained in a compacted part)", name)
