"""A small simulated process: a tank with a pump and an outlet valve, and a heated vessel.

Pure and deterministic: `step(dt)` advances the physics; commands are plain
attributes. Units are in the attribute names.

Tank: 2 m² cross-section, 0..5 m. The pump adds `pump_flow_m3h` while on; the
valve drains `valve_cv * open * sqrt(level)` (Torricelli). Level switches at
4.5 m (high) and 0.5 m (low).

Heater: a first-order thermal mass. `heater_power_kw` while on, losses
proportional to the difference to ambient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class SimulatedProcess:
    """State and commands of the simulated plant; `step` moves it forward."""

    tank_area_m2: float = 2.0
    tank_height_m: float = 5.0
    pump_flow_m3h: float = 36.0
    valve_cv: float = 20.0
    heater_power_kw: float = 10.0
    heat_capacity_kj_per_k: float = 400.0
    loss_kw_per_k: float = 0.1
    ambient_c: float = 20.0
    # commands (written by PETRA)
    pump_on: bool = False
    valve_open_pct: float = 50.0
    heater_on: bool = False
    # state
    level_m: float = 1.0
    temperature_c: float = 20.0
    inflow_m3h: float = 0.0
    outflow_m3h: float = 0.0
    steps: int = 0

    @property
    def level_high(self) -> bool:
        return self.level_m >= 4.5

    @property
    def level_low(self) -> bool:
        return self.level_m <= 0.5

    def step(self, dt_s: float) -> None:
        """Advance the process by `dt_s` seconds."""
        if dt_s <= 0:
            return
        opening = min(max(self.valve_open_pct, 0.0), 100.0) / 100.0
        self.inflow_m3h = self.pump_flow_m3h if self.pump_on else 0.0
        self.outflow_m3h = self.valve_cv * opening * math.sqrt(max(self.level_m, 0.0))
        volume_change = (self.inflow_m3h - self.outflow_m3h) / 3600.0 * dt_s
        self.level_m = min(max(self.level_m + volume_change / self.tank_area_m2, 0.0), self.tank_height_m)
        if self.level_m >= self.tank_height_m:
            self.inflow_m3h = min(self.inflow_m3h, self.outflow_m3h)  # overflow: the tank cannot fill further
        power = self.heater_power_kw if self.heater_on else 0.0
        losses = self.loss_kw_per_k * (self.temperature_c - self.ambient_c)
        self.temperature_c += (power - losses) / self.heat_capacity_kj_per_k * dt_s
        self.steps += 1
