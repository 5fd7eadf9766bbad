"""Options that a tool accepts both before and after its action: `petra s7 --ip X connect` and `... connect --ip X`.

The original PETRA's tools take their connection options before the action
(`s7_test --ip 192.168.1.100 connect`); argparse alone accepts an option only
on the parser that declares it. The options are declared on the tool's parser
(with the defaults) and again on each action's parser without a default, so a
value given after the action wins and one given before it is kept.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable


def before_or_after_action(tool: argparse.ArgumentParser, actions: Iterable[argparse.ArgumentParser],
                           add: Callable[[argparse.ArgumentParser], Iterable[argparse.Action]]) -> None:
    """Declare the options `add` adds (it returns their actions) on `tool` and on every action parser."""
    add(tool)
    for parser in actions:
        for action in add(parser):
            action.default = argparse.SUPPRESS  # absent after the action: keep what came before it
