"""The plant simulator: the pure process model, and PETRA running against `Simulator`'s real servers."""

from __future__ import annotations

import pytest

from petra.config.loader import load_config_text
from petra.simulator import SimulatedProcess, Simulator
from tests.harness import RunningPlant
from tests.helpers import wait_until


def test_the_pump_fills_the_tank_and_the_valve_drains_it() -> None:
    process = SimulatedProcess(level_m=1.0, valve_open_pct=0.0, pump_on=True)
    for _ in range(100):
        process.step(1.0)
    assert process.level_m == pytest.approx(1.0 + 36.0 / 3600 * 100 / 2.0)
    process.pump_on, process.valve_open_pct = False, 100.0
    before = process.level_m
    process.step(10.0)
    assert process.level_m < before and process.outflow_m3h > 0 and process.inflow_m3h == 0


def test_the_level_stays_within_the_tank_and_the_switches_follow_it() -> None:
    process = SimulatedProcess(level_m=4.9, valve_open_pct=0.0, pump_on=True)
    for _ in range(1000):
        process.step(1.0)
    assert process.level_m == 5.0 and process.level_high and not process.level_low
    process.pump_on, process.valve_open_pct = False, 100.0
    for _ in range(10000):
        process.step(1.0)
    assert 0.0 <= process.level_m <= 0.5 and process.level_low


def test_the_heater_warms_the_vessel_towards_its_equilibrium_and_it_cools_to_ambient() -> None:
    process = SimulatedProcess(heater_on=True)
    for _ in range(40000):
        process.step(1.0)
    assert process.temperature_c == pytest.approx(20.0 + 10.0 / 0.1, abs=0.5)
    process.heater_on = False
    for _ in range(30000):
        process.step(1.0)
    assert process.temperature_c == pytest.approx(20.0, abs=0.5)


def test_petra_runs_the_simulated_plant_through_both_drivers() -> None:
    with Simulator(step_s=0.02) as sim:
        config = load_config_text(sim.config_snippet(poll_interval_ms=20), "simulator.yaml", env={})
        with RunningPlant(config, switch_interval_s=None) as plant:
            table = plant.plant.table
            wait_until(lambda: table.read("process_steps").value > 0 and table.read("tank_level_m").quality == 0)
            first = table.read("process_steps").value
            wait_until(lambda: table.read("process_steps").value > first)
            # Cold vessel: the LT block turns the heater on through Modbus, the device reports it running.
            wait_until(lambda: table.read("heater_running").value is True)
            # Level 1 m < 2 m: the SR block starts the pump through S7, the PLC reports inflow.
            wait_until(lambda: table.read("tank_inflow_m3h").value > 0)
            assert sim.db[16:20] == bytes.fromhex("42480000")  # valve 50.0 written at connect
            wait_until(lambda: sim.temperature() > 20.0)


def test_the_printed_snippet_is_a_valid_petra_config() -> None:
    sim = Simulator(s7_port=10102, modbus_port=10502)
    config = load_config_text(sim.config_snippet(), "snippet.yaml", env={})
    assert config.sections["s7"][0]["port"] == 10102
    assert config.sections["modbus"][0]["port"] == 10502
