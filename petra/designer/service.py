"""The answers of the designer's routes that need no running plant: plain functions of the posted text."""

from __future__ import annotations

import logging
from typing import Any

from petra.config.errors import ConfigError
from petra.designer.checks import check_text, locate, node_paths, report
from petra.designer.graph import Graph, build_graph
from petra.designer.layout import LayoutError, complete, parse_layout

log = logging.getLogger(__name__)


def _graph_or_problems(text: str, filename: str, types: dict[str, str]) -> tuple[Graph | None, list[Any]]:
    try:
        return build_graph(text, filename, types), []
    except ConfigError as exc:
        return None, list(exc.problems)


def graph_answer(text: str, filename: str, layout: Any = None) -> dict[str, Any]:
    """`POST /v1/designer/graph`: the graph, every node placed, and the check's errors and warnings."""
    from petra.control.calls import ApiError

    try:
        given = parse_layout(layout)
    except LayoutError as exc:
        raise ApiError(400, str(exc)) from None
    result = check_text(text, filename, files=False)
    graph, problems = _graph_or_problems(text, filename, result.signal_types())
    if graph is None:
        return {"graph": {"nodes": [], "edges": []}, "layout": {"version": 1, "nodes": {}},
                "errors": [locate(p, {}) for p in problems], "warnings": []}
    checked = report(result, graph)
    return {"graph": graph.to_json(copy_props=False), "layout": {"version": 1, "nodes": complete(graph, given)},
            "errors": checked["errors"], "warnings": checked["warnings"], "ok": checked["ok"]}


def check_answer(text: str, filename: str) -> dict[str, Any]:
    """`POST /v1/designer/check`."""
    result = check_text(text, filename, files=False)
    if not result.errors and not result.warnings:  # nothing to place on a node: no second parse
        return {"ok": True, "errors": [], "warnings": []}
    graph, _ = _graph_or_problems(text, filename, result.signal_types())
    return report(result, graph)


def paths_of(text: str, filename: str) -> dict[Any, str]:
    graph, _ = _graph_or_problems(text, filename, {})
    return node_paths(graph) if graph is not None else {}


def yaml_answer(text: str, graph: dict[str, Any], filename: str) -> dict[str, Any]:
    """`POST /v1/designer/yaml`: the graph applied to the text."""
    from petra.control.calls import ApiError
    from petra.designer.roundtrip import GraphError, apply_graph

    try:
        return {"yaml": apply_graph(text, graph, filename)}
    except ConfigError as exc:
        raise ApiError(422, "the base text is not YAML PETRA can read: " + "; ".join(map(str, exc.problems))) from None
    except GraphError as exc:
        raise ApiError(422, str(exc)) from None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # props of a shape no config item has
        log.info("designer: a graph that does not fit the config was refused: %s: %s", type(exc).__name__, exc)
        raise ApiError(422, f"the graph does not fit the config ({type(exc).__name__}: {exc})") from None


def connect_answer(text: str, start: dict[str, Any], end: dict[str, Any], filename: str,
                   previous: bool = False) -> dict[str, Any]:
    """`POST /v1/designer/connect`."""
    from petra.control.calls import ApiError
    from petra.designer.connect import check_wire

    try:
        return check_wire(text, start, end, filename, previous=previous)
    except ConfigError as exc:
        raise ApiError(422, "the text is not YAML PETRA can read: " + "; ".join(map(str, exc.problems))) from None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:  # props of a shape no config item has
        log.info("designer: a wire on a graph that does not fit the config: %s: %s", type(exc).__name__, exc)
        return {"ok": False, "reason": f"the config cannot say this wire ({type(exc).__name__}: {exc})"}


def plan_answer(plant: Any, wiring: Any, text: str, filename: str) -> tuple[dict[str, Any], int]:
    """`POST /v1/designer/plan`: (answer, HTTP status)."""
    from dataclasses import replace

    from petra.designer.plan import preview

    result = check_text(text, filename, files=False)
    if not result.ok or result.config is None:
        graph, _ = _graph_or_problems(text, filename, result.signal_types())
        errors = report(result, graph)["errors"]
        return {"error": "invalid configuration: " + (errors[0]["text"] if errors else "?"), "errors": errors}, 422
    config = result.config
    scan = getattr(getattr(wiring.control, "options", None), "scan_time_ms", None)
    if scan is not None:
        config = replace(config, scan_time_ms=scan)
    try:
        return preview(plant, wiring, config, getattr(wiring.control, "tree", None)), 200
    except Exception as exc:  # what plan_reload raises (CompileError, AlgebraicLoopError, ValueError)
        return {"error": f"configuration cannot run: {exc}", "errors": []}, 422
