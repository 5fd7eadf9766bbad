"""How one signal is recorded: `storage.history` (the default) and a signal's own `history:`.

One declaration for both: `storage.history` is `schema_of(HistoryPolicy)` (with
its defaults, filled by the loader), a signal's `history:` mapping is
`overrides_schema_of(HistoryPolicy)` (the same keys, none filled: an absent key
keeps `storage.history`'s value). It lives in `petra.config`, not in the storage
section, because the signal schema needs it and `petra.config` may not import a
section's modules; `petra.storage.settings` builds on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from petra.config.settings import NOT_A_SETTING, setting

HISTORY_MODES = ("on_change", "interval")


@dataclass(frozen=True)
class HistoryPolicy:
    """How one signal is recorded. `enabled` False: never recorded."""

    mode: str = setting("on_change", enum=HISTORY_MODES)
    deadband: float = setting(0.0, minimum=0)
    min_interval_ms: int = setting(0, unit="ms", minimum=0)
    max_interval_ms: int = setting(60000, unit="ms", minimum=0, doc="Store at least this often even without change.")
    enabled: bool = field(default=True, metadata=NOT_A_SETTING)

    def merged(self, override: Any) -> HistoryPolicy:
        """This default with a signal's own `history:` value applied (bool or mapping)."""
        if override is None or override is True:
            return self
        if override is False:
            return HistoryPolicy(self.mode, self.deadband, self.min_interval_ms, self.max_interval_ms, False)
        values = {**self.__dict__, **{k: v for k, v in dict(override).items() if k in self.__dataclass_fields__}}
        return HistoryPolicy(**values)
