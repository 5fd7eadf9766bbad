"""The core `petra` sub-commands, one module per group, each with `register(subparsers)`.

`run`, `check`/`schema` (`config_cmds`), `keygen`/`sign`/`verify`/`audit`
(`security_cmds`) and `simulate`; `field_tools`, `option_order` and `common`
are what the tools share. A section's own sub-commands are its folder's
`commands.py` (see `petra.cli`).
"""
