"""A typo must stop the engineer, in their words: a misspelt signal is an error with a
suggestion, an unknown block type names the right one, broken indentation says so."""

from __future__ import annotations

import textwrap

from petra.cli import main
from petra.plant import build_plant
from petra.values import Quality
from tests.config.support import load, problems

TYPO_IN_A_BLOCK = """
    signals:
      - {name: high_temp, type: float}
    blocks:
      - {name: hot, type: GT, inputs: {in1: high_tmp, in2: 80.0}, outputs: {out: too_hot}}
    """


def test_a_misspelt_block_input_is_an_error_that_names_the_declared_signal():
    assert problems(TYPO_IN_A_BLOCK) == [
        "plant.yaml:4:41: blocks[0].inputs.in1: signal 'high_tmp' is read but never declared or written "
        "(did you mean 'high_temp'?); declare it if it really is another signal"
    ]


def test_a_misspelt_alarm_signal_is_an_error_too():
    assert problems("""
        blocks:
          - {name: gen, type: DATA_GENERATOR, outputs: {sine_out: tank_level}}
        alarms:
          alarms:
            - {id: tank_high, signal: tank_levle, condition: above, setpoint: 0.9}
        """) == [
        "plant.yaml:5:31: alarms.alarms[0].signal: signal 'tank_levle' is read but never declared or written "
        "(did you mean 'tank_level'?); declare it if it really is another signal"
    ]


def test_an_undeclared_read_unlike_any_name_stays_a_warning():
    config = load("""
        signals:
          - {name: pump1_run, type: bool}
        blocks:
          - {name: both, type: AND, inputs: {in1: pump1_run, in2: pump2_run}, outputs: {out: all_run}}
        """)
    assert config.warnings == (
        "plant.yaml:4:59: blocks[0].inputs.in2: signal 'pump2_run' is read but never declared or written; "
        "it is created as float with bad quality until something writes it",
    )


def test_an_undeclared_read_signal_really_starts_with_bad_quality():
    config = load("""
        blocks:
          - {name: inv, type: NOT, inputs: {in: door_open}, outputs: {out: door_closed}}
        """)
    table = build_plant(config).table
    assert table.read("door_open").quality == Quality.BAD


def test_petra_check_fails_on_a_typo_and_with_strict_on_a_warning(tmp_path, capsys):
    typo = tmp_path / "typo.yaml"
    typo.write_text(textwrap.dedent(TYPO_IN_A_BLOCK))
    warned = tmp_path / "warned.yaml"
    warned.write_text("blocks:\n  - {name: inv, type: NOT, inputs: {in: door_open}, outputs: {out: closed}}\n")

    assert main(["check", str(typo)]) == 2
    assert "did you mean 'high_temp'?" in capsys.readouterr().err
    assert main(["check", str(warned)]) == 0
    capsys.readouterr()
    assert main(["check", "--strict", str(warned)]) == 2
    assert capsys.readouterr().err.endswith(f"{warned}: 1 warning treated as errors (--strict)\n")


def test_an_unknown_block_type_suggests_the_iec_name_of_a_spelt_out_one():
    [message] = problems("blocks:\n  - {name: t, type: TIMER_ON, inputs: {in: go}, outputs: {q: done}}\n")
    assert message == "plant.yaml:2:21: blocks[0].type: unknown block type 'TIMER_ON' (did you mean 'TON'?)"


def test_an_unknown_block_type_without_a_close_name_lists_the_types():
    [message] = problems("blocks:\n  - {name: t, type: WIDGET}\n")
    assert message.startswith("plant.yaml:2:21: blocks[0].type: unknown block type 'WIDGET'; block types: ABS, ADD")
    assert "TON" in message


def test_an_indentation_error_says_so_with_the_line():
    assert problems("""
        blocks:
          - name: hot
            type: GT
           inputs: {in1: a, in2: 1}
        """) == [
        "plant.yaml:4:4: invalid YAML: wrong indentation: this line does not line up with the list that starts "
        "at line 2, column 3; keys of one mapping, and the '-' of one list, must start in the same column "
        '(line 4: "   inputs: {in1: a, in2: 1}")'
    ]


def test_a_value_with_a_colon_says_to_quote_it():
    [message] = problems("node_id: plant: north\n")
    assert message == ("plant.yaml:1:15: invalid YAML: unexpected ':' here: either this line is indented deeper "
                       "than the key above it, or a value contains ': ' and must be put in quotes "
                       '(line 1: "node_id: plant: north")')


def test_a_tab_in_the_indentation_says_to_use_spaces():
    [message] = problems("signals:\n\t- name: a\n")
    assert message == ('plant.yaml:2:1: invalid YAML: a tab character: YAML is indented with spaces only '
                       '(line 2: "\t- name: a")')


def test_a_misspelt_contact_in_an_escalation_chain_is_an_error():
    assert problems("""
        blocks:
          - {name: gen, type: DATA_GENERATOR, outputs: {sine_out: level}}
        alarms:
          alarms:
            - {id: level_high, signal: level, condition: above, setpoint: 0.9}
          contacts:
            - {id: operator, name: Op, phone: "+15550000001"}
          escalation_chains:
            level_high: [operater]
        """) == [
        "plant.yaml:9:18: alarms.escalation_chains.level_high[0]: contact 'operater' is not defined under "
        "alarms.contacts (did you mean 'operator'?)"
    ]
