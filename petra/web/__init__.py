"""The operator web HMI: the page, its static files and its live stream, served by PETRA itself.

```
services
└── web          one aiohttp application on the shared HTTP loop (petra.control.http_host): the control
                 API's routes (petra.control.server.ControlApp: the same auth, roles and CSRF), GET / (the
                 page), GET /static/... (petra/web/static), GET /v1/stream (server-sent events)
```

`settings.py` and `schema.py` declare `web:`; `checks.py` holds the screens to the plant's signals;
`children.py` starts the actor (`actor.py`), `app.py` builds its application; `stream.py` is the one
multiplexed event stream per browser tab, `ring.py` the in-memory trend of recent values a plant without
storage answers `GET /v1/history` from, `screens.py` the screens as `GET /v1/screens` gives them, and
`api.py` the section's control API routes. Importing this package loads none of it: `SECTION` names it.
"""

from __future__ import annotations

from petra.section import Section

__all__ = ["SECTION"]

SECTION = Section(
    name="web",
    supervisor="services",
    schemas=(("web", "petra.web.schema:web_schema"),),
    child_specs="petra.web.children:child_specs",
    model="petra.web.settings:WebSettings",
    checks="petra.web.checks:check",
    routes="petra.web.api:routes",
    reads=("security.require_tls", "security.allowed_cipher_suites"),  # its listener's TLS (petra.control.listener)
)
