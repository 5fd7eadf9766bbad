"""PETRA: Programmable Engine for Telemetry, Runtime, and Automation."""

__version__ = "0.1.0"
