"""The OPC-UA server: every signal a typed variable, client writes through PETRA's roles, secure by default.

```
services
└── opcua        asyncua in a process of its own (actor.py starts it, host.py feeds and answers it over
                 link.py's pipe, child.py is that process); signals as variables (address_space.py),
                 values following the signal table (values.py), writes through the one remote-write path
                 (writes.py), PETRA's users (users.py), certificates and trust list (pki.py), the PETRA
                 status object (status.py), metrics (metrics.py); Alarms & Conditions (conditions*.py)
```

`settings.py` and `schema.py` declare `opcua:`, `checks.py` checks it, `children.py` starts the actor,
`server.py` builds the asyncua server; `tool*.py` is `petra opcua` (a client for operators). Importing this
package loads none of it (asyncua loads only when the config has `opcua:`).
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="opcua",
    supervisor="services",
    schemas=(("opcua", "petra.opcua.schema:opcua_schema"),),
    child_specs="petra.opcua.children:child_specs",
    model="petra.opcua.settings:OpcuaSettings",
    checks="petra.opcua.checks:check",
    commands="petra.opcua.tool:register",
)
