"""The visual designer's server side: a config as a graph and back, checked as `petra check` checks it.

```
graph.py      config text -> nodes and edges (pure; node ids kind:name)
ports.py      a block type's ports, from the block registry
roundtrip.py  a graph applied to the base text: only edited items change, comments and formatting elsewhere kept
layout.py     the layout side file (<config>.layout.json) and the automatic layered layout
palette.py    block types and node kinds from the registry and the generated JSON Schema
checks.py     the loader's and compiler's verdict, each problem mapped to its node and field
wires.py      a wire drawn on the canvas as the names it writes into props
connect.py    whether a new wire is one PETRA accepts (type, second writer, algebraic loop)
textedit.py   edits of the text that change only the lines of the items they touch
service.py    the answers of the routes that need no running plant
examples.py   configs/*.yaml and the embedded demo as starting points
plan.py       a deploy's preview from petra.reload's tree diff
deploy.py     write, sign-check and reload, the file put back when the plant refuses
api.py        the /v1/designer routes (served with the web HMI's routes)
commands.py   `petra graph CONFIG [--dot]`
```

The page itself is petra/web/static/js/designer; the API between them is API.md beside this file.
"""
