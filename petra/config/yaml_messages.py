"""Say what is wrong with malformed YAML in a plant engineer's words.

PyYAML words its errors for people who know its grammar (``expected <block
end>, but found '<block mapping start>'``). `explain` turns the common ones
into what to fix, naming where the enclosing block or bracket started, and
quotes the offending line. Anything not recognised keeps PyYAML's words.
"""

from __future__ import annotations

import re

import yaml

_KINDS = {
    "while parsing a block mapping": "mapping",
    "while parsing a block collection": "list",
    "while parsing a flow sequence": "list '['",
    "while parsing a flow mapping": "mapping '{'",
}


def explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, int, str]:
    """(line, column, message) for a parser error, both 1-based; line 0 when unknown."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    message = _plain(exc) or exc.problem or exc.context or "cannot parse"
    source = _line(text, line)
    if source:
        message += f' (line {line}: "{source}")'
    return line, column, f"invalid YAML: {message}"


def _plain(exc: yaml.MarkedYAMLError) -> str | None:
    problem, context = exc.problem or "", exc.context or ""
    start = exc.context_mark
    where = f"line {start.line + 1}, column {start.column + 1}" if start else "above"
    kind = _KINDS.get(context)
    if problem.startswith("expected <block end>"):
        return (f"wrong indentation: this line does not line up with the {kind or 'block'} that starts at "
                f"{where}; keys of one mapping, and the '-' of one list, must start in the same column")
    if problem == "mapping values are not allowed here":
        return ("unexpected ':' here: either this line is indented deeper than the key above it, or a value "
                "contains ': ' and must be put in quotes")
    if problem == "could not find expected ':'":
        return f"a key at {where} has no ':' after it (write 'key: value')"
    if problem.startswith("found character '\\t'"):
        return "a tab character: YAML is indented with spaces only"
    match = re.match(r"found character '(.)' that cannot start any token", problem)
    if match:
        return f"a value cannot start with '{match.group(1)}'; put the value in quotes"
    if problem.startswith("expected ',' or") and kind:
        return f"the {kind} opened at {where} is not closed (or a ',' is missing between its items)"
    if problem == "found unexpected end of stream" and "quoted scalar" in context:
        return f"the quoted text that starts at {where} is never closed"
    match = re.match(r"found undefined alias '(.*)'", problem)
    if match:
        return f"'*{match.group(1)}' refers to an anchor '&{match.group(1)}' that is not defined before it"
    if context == "expected a single document in the stream":
        return "a configuration is one YAML document; remove the second '---' and what follows, or merge them"
    match = re.match(r"found unknown escape character '(.*)'", problem)
    if match:
        return (f"unknown escape '\\{match.group(1)}' in double quotes; use single quotes, or write '\\\\' "
                "for a backslash")
    return None


def _line(text: str, line: int) -> str:
    if line < 1:
        return ""
    lines = text.splitlines()
    source = lines[line - 1].rstrip() if line <= len(lines) else ""
    return source if len(source) <= 80 else source[:77] + "..."
