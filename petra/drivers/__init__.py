"""Field drivers: one folder per protocol (s7, modbus, mqtt), each with the same files.

Every driver folder declares a `Section` in its `__init__.py` (and imports
nothing heavy there); `petra.registry` lists it and `petra.subsystems` puts its
actors, built by the folder's `children.py`, under the `drivers` supervisor.
"""
