"""Run `petra` as a real subprocess and read its metrics endpoint: tests/harness.py's, under the old names."""

from __future__ import annotations

from tests.harness import PETRA, free_port, scrape, wait_for_metrics
from tests.harness import PetraSubprocess as PetraProcess

__all__ = ["PETRA", "PetraProcess", "free_port", "scrape", "wait_for_metrics"]
