"""Prometheus metrics: the plant's registry (`plant.py`) and the exporter that serves it (`actor.py`)."""

from petra.metrics.plant import PlantMetrics

__all__ = ["PlantMetrics"]
