"""The designer's control API routes (served with the web HMI's: `petra.web.api.routes` adds them).

    GET  /v1/designer/palette          block types and node kinds, from the registries and the schema
    GET  /v1/designer/examples         the example configs; /examples/NAME: one's text and layout
    GET  /v1/designer/current          the running config file's text and layout (engineer)
    POST /v1/designer/graph            {"yaml", "layout"?, "file"?} -> graph, layout, errors, warnings
    POST /v1/designer/yaml             {"yaml", "graph"} -> the graph applied to the text
    POST /v1/designer/check            {"yaml", "file"?} -> what `petra check` says, on nodes and fields
    POST /v1/designer/connect          {"yaml", "from", "to"} -> whether PETRA accepts that wire
    POST /v1/designer/plan             {"yaml"} -> what a deploy would keep, restart, stop, start (engineer)
    POST /v1/designer/deploy           {"yaml", "layout", "comment", "signature"?} -> applied as a reload
                                       (engineer, audited)

The contract with the page is API.md in this folder.
Everything heavy (ruamel.yaml, the schema) is imported at the first request, not with the routes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from petra.control.calls import ApiError, Request, Response, json_body
from petra.control.routes import Route
from petra.plant import Plant
from petra.security.roles import Role
from petra.wiring import Wiring

PREFIX = "/v1/designer"
DEFAULT_FILE = "plant.yaml"


def _text(data: dict[str, Any], key: str = "yaml") -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ApiError(400, f"body needs '{key}': the config's YAML text")
    return value


def _file(data: dict[str, Any]) -> str:
    value = data.get("file") or DEFAULT_FILE
    if not isinstance(value, str) or len(value) > 255 or "\n" in value:
        raise ApiError(400, "'file' must be a file name such as plant.yaml")
    return value


class DesignerApi:
    def __init__(self, plant: Plant, wiring: Wiring) -> None:
        self.plant = plant
        self.wiring = wiring
        lock = wiring.section_state("designer").setdefault("deploying", threading.Lock())
        assert isinstance(lock, type(threading.Lock()))
        self.deploying = lock
        """One deploy at a time, across reloads (which build these routes anew)."""

    def routes(self) -> list[Route]:
        return [
            Route("GET", PREFIX + "/palette", self.palette, Role.VIEWER),
            Route("GET", PREFIX + "/examples", self.examples, Role.VIEWER),
            Route("GET", PREFIX + r"/examples/(?P<name>[A-Za-z0-9_.-]+)", self.example, Role.VIEWER),
            Route("GET", PREFIX + "/current", self.current, Role.ENGINEER),
            Route("POST", PREFIX + "/graph", self.graph, Role.VIEWER),
            Route("POST", PREFIX + "/yaml", self.yaml, Role.VIEWER),
            Route("POST", PREFIX + "/check", self.check, Role.VIEWER),
            Route("POST", PREFIX + "/connect", self.connect, Role.VIEWER),
            Route("POST", PREFIX + "/plan", self.plan, Role.ENGINEER),
            Route("POST", PREFIX + "/deploy", self.deploy, Role.ENGINEER),
        ]

    # --- reading -------------------------------------------------------------------------------

    def palette(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.palette import palette

        return palette()

    def examples(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.examples import list_examples

        return {"examples": list_examples()}

    def example(self, request: Request, params: dict[str, str]) -> Any:
        from petra.designer.examples import find_example
        from petra.designer.layout import read_layout

        found = find_example(params["name"])
        if found is None:
            raise ApiError(404, f"no example '{params['name']}'")
        text, path = found
        return {"yaml": text, "layout": read_layout(path) if path is not None else None,
                "file": path.name if path is not None else "demo.yaml"}

    def current(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.deploy import current_text
        from petra.designer.layout import read_layout
        from petra.security.trust import requires_signature

        path = self._config_path()
        text = current_text(path)
        return {"yaml": text, "layout": read_layout(path) if path is not None else None,
                "file": str(path) if path is not None else None,
                "require_signed_config": self._signature_required(requires_signature(self.plant.config))}

    # --- pure work on a posted text --------------------------------------------------------------

    def graph(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.service import graph_answer

        data = json_body(request)
        return graph_answer(_text(data), _file(data), data.get("layout"))

    def check(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.service import check_answer

        data = json_body(request)
        return check_answer(_text(data), _file(data))

    def yaml(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.service import yaml_answer

        data = json_body(request)
        graph = data.get("graph")
        if not isinstance(graph, dict):
            raise ApiError(400, "body needs 'graph': {\"nodes\": [...], \"edges\": [...]}")
        return yaml_answer(_text(data), graph, _file(data))

    def connect(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.service import connect_answer

        data = json_body(request)
        start, end = data.get("from"), data.get("to")
        if not (isinstance(start, dict) and isinstance(end, dict)):
            raise ApiError(400, "body needs 'from' and 'to': {\"node\": id, \"port\": name}")
        return connect_answer(_text(data), start, end, _file(data), previous=data.get("previous") is True)

    # --- the running plant ---------------------------------------------------------------------

    def plan(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.service import plan_answer

        data = json_body(request)
        answer, status = plan_answer(self.plant, self.wiring, _text(data), self._file_name())
        return answer if status == 200 else Response(status, answer)

    def deploy(self, request: Request, _: dict[str, str]) -> Any:
        from petra.designer.deploy import Deployer

        data = json_body(request)
        comment = data.get("comment")
        if not isinstance(comment, str) or not comment.strip():
            raise ApiError(400, "a deploy needs a 'comment' saying what it changes (it goes into the audit trail)")
        signature = data.get("signature")
        if signature is not None and not isinstance(signature, str):
            raise ApiError(400, "'signature' must be the text of the .sig file `petra sign` wrote")
        layout = data.get("layout")
        with self.deploying:
            status, answer = Deployer(self.plant, self.wiring).deploy(
                _text(data), layout, comment.strip()[:2000], signature, request.caller)
        return answer if status == 200 else Response(status, answer)

    # --- helpers -------------------------------------------------------------------------------

    def _config_path(self) -> Path | None:
        control = self.wiring.control
        path = getattr(getattr(control, "options", None), "config_path", None)
        return Path(path) if path is not None else None

    def _file_name(self) -> str:
        path = self._config_path()
        return str(path) if path is not None else DEFAULT_FILE

    def _signature_required(self, by_config: bool) -> bool:
        options = getattr(self.wiring.control, "options", None)
        return bool(by_config or getattr(options, "require_signed", False))


def routes(plant: Plant, wiring: Wiring) -> list[Route]:
    """The designer's routes for `plant` (the web section adds them to its own)."""
    return DesignerApi(plant, wiring).routes()
