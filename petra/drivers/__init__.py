"""Field drivers: one folder per protocol (s7, modbus, mqtt), each with the same files.

Every driver folder exposes `child_specs(plant) -> list[ChildSpec]` in its
`__init__.py`; `petra.subsystems` puts the actors under the `drivers` supervisor.
"""
