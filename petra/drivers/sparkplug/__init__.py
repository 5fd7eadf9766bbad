"""Sparkplug B 3.0 edge node: the plant's signals as Sparkplug metrics for SCADA hosts (Ignition's MQTT Engine).

Files: `settings.py` (the `sparkplug:` section and the resolved config: each
signal's alias, device, deadband), `schema.py`, `checks.py`, `children.py`,
`payload.py` (values as metrics over `sparkplug_b_pb2`, generated from
`sparkplug_b.proto`; see NOTICE.md for its licence), `sequence.py` (seq and
bdSeq; what survives a restart), `births.py` (NBIRTH/DBIRTH/NDEATH/data
payloads), `state.py` (the primary host's STATE), `commands.py` (NCMD/DCMD),
`forward.py` (store and forward from the WAL), `metrics.py`, `actor.py`
(`SparkplugNode`). Importing this package loads none of them.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="sparkplug",
    supervisor="services",
    schemas=(("sparkplug", "petra.drivers.sparkplug.schema:sparkplug_schema"),),
    child_specs="petra.drivers.sparkplug.children:child_specs",
    model="petra.drivers.sparkplug.settings:SparkplugSettings",
    declares="petra.drivers.sparkplug.checks:declare",
    checks="petra.drivers.sparkplug.checks:check",
    reads=("security.allowed_cipher_suites",),
)
