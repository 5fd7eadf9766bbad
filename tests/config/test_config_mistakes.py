"""Each kind of mistake a plant engineer makes is reported at its line and column,
with the path inside the file and a message that says what was expected."""

from __future__ import annotations

from tests.config.support import load, problems


def test_malformed_yaml_reports_the_problem_at_its_position_without_a_traceback():
    assert problems("""
        signals:
          - name: a
            type: [float
        """) == ["plant.yaml:4:1: invalid YAML: the list '[' opened at line 3, column 11 is not closed "
                 "(or a ',' is missing between its items)"]


def test_a_tab_in_indentation_is_malformed_yaml_with_a_position():
    [message] = problems("signals:\n\t- name: a\n")
    assert message.startswith("plant.yaml:2:1: invalid YAML: ")


def test_a_duplicate_key_is_reported_at_the_second_key():
    assert problems("""
        scan_time_ms: 100
        node_id: a
        scan_time_ms: 200
        """) == ["plant.yaml:3:1: scan_time_ms: duplicate key 'scan_time_ms' (first given on line 1)"]


def test_a_string_for_scan_time_ms_says_an_integer_was_expected():
    assert problems("scan_time_ms: fast\n") == [
        "plant.yaml:1:15: scan_time_ms: expected an integer, got 'fast'"
    ]


def test_scan_time_ms_out_of_range_names_the_limit():
    assert problems("scan_time_ms: 0\n") == ["plant.yaml:1:15: scan_time_ms: must be at least 1, got 0"]


def test_an_unknown_top_level_key_suggests_the_closest_known_one():
    assert problems("""
        scan_time: 100
        """) == ["plant.yaml:1:1: scan_time: unknown key 'scan_time' (did you mean 'scan_time_ms'?)"]


def test_an_unknown_nested_key_is_reported_at_the_key():
    assert problems("""
        mqtt:
          broker_host: 127.0.0.1
          brokr_port: 1883
        """) == ["plant.yaml:3:3: mqtt.brokr_port: unknown key 'brokr_port' (did you mean 'broker_port'?)"]


def test_an_unknown_block_type_gte_suggests_ge():
    assert problems("""
        signals:
          - {name: level, type: float}
        blocks:
          - name: high
            type: GT
            inputs: {in1: level, in2: 80}
            outputs: {out: level_high}
          - name: very_high
            type: GTE
            inputs: {in1: level, in2: 95}
            outputs: {out: level_very_high}
          - name: low
            type: LT
            inputs: {in1: level, in2: 10}
            outputs: {out: level_low}
        """)[0] == "plant.yaml:9:11: blocks[1].type: unknown block type 'GTE' (did you mean 'GE'?)"


def test_an_unknown_input_port_lists_the_valid_ones():
    assert problems("""
        blocks:
          - name: high
            type: GT
            inputs: {in1: level, in2: 80, in3: 5}
            outputs: {out: level_high}
        """) == [
        "plant.yaml:4:35: blocks[0].inputs.in3: unknown input 'in3' for GT (did you mean 'in2'?); "
        "valid inputs: in1, in2"
    ]


def test_an_unknown_output_port_lists_the_valid_ones():
    assert problems("""
        blocks:
          - name: delay
            type: TON
            inputs: {in: start}
            outputs: {out: running}
            params: {preset_ms: 500}
        """) == [
        "plant.yaml:5:15: blocks[0].outputs.out: unknown output 'out' for TON; valid outputs: q, et_ms"
    ]


def test_a_missing_required_input_is_reported_at_the_inputs():
    assert problems("""
        blocks:
          - name: high
            type: GT
            inputs:
              in1: level
            outputs: {out: level_high}
        """) == ["plant.yaml:5:7: blocks[0].inputs: missing required input 'in2' for GT"]


def test_a_variadic_block_with_too_few_inputs_says_how_many_it_takes():
    assert problems("""
        blocks:
          - name: both
            type: AND
            inputs: {in1: a}
            outputs: {out: b}
        """) == ["plant.yaml:4:13: blocks[0].inputs: AND takes 2 to 16 inputs in1, in2, ...; got 1"]


def test_numbered_inputs_with_a_gap_are_refused():
    [message] = problems("""
        blocks:
          - name: both
            type: OR
            inputs: {in1: a, in3: b}
        """)
    assert message == ("plant.yaml:4:13: blocks[0].inputs: numbered inputs must have no gaps: "
                       "expected in1, in2, got in1, in3")


def test_a_bad_param_value_is_reported_at_the_param():
    assert problems("""
        blocks:
          - name: delay
            type: TON
            inputs: {in: start}
            outputs: {q: running}
            params:
              preset_ms: -5
        """) == ["plant.yaml:7:18: blocks[0].params.preset_ms: must be at least 0, got -5"]


def test_a_param_of_the_wrong_type_is_reported_at_the_param():
    assert problems("""
        blocks:
          - name: delay
            type: TON
            inputs: {in: start}
            params: {preset_ms: soon}
        """) == ["plant.yaml:5:25: blocks[0].params.preset_ms: expected a number, got 'soon'"]


def test_a_param_rule_of_the_block_class_points_at_the_param_it_names():
    [message] = problems("""
        blocks:
          - name: count
            type: CTU
            inputs: {cu: pulse, reset: clear}
            params:
              preset: 10
              min_count: 5
        """)
    assert message.startswith("plant.yaml:7:18: blocks[0].params.min_count: CTU needs min_count <= 0")


def test_a_missing_required_param_is_reported_at_the_block_type():
    assert problems("""
        blocks:
          - name: delay
            type: TON
            inputs: {in: start}
        """) == ["plant.yaml:3:11: blocks[0].type: TON needs parameter 'preset_ms'"]


def test_an_unknown_param_suggests_the_closest_one():
    assert problems("""
        blocks:
          - name: delay
            type: TON
            inputs: {in: start}
            params: {preset: 5}
        """) == [
        "plant.yaml:5:14: blocks[0].params.preset: unknown parameter 'preset' for TON "
        "(did you mean 'preset_ms'?); valid parameters: preset_ms"
    ]


def test_a_duplicate_signal_name_points_at_the_second_and_names_the_first_line():
    assert problems("""
        signals:
          - {name: level, type: float}
          - {name: pump, type: bool}
          - {name: level, type: int}
        """) == ["plant.yaml:4:12: signals[2].name: duplicate signal name 'level' (first declared on line 2)"]


def test_a_duplicate_block_name_points_at_the_second():
    assert problems("""
        blocks:
          - {name: inv, type: NOT, inputs: {in: a}, outputs: {out: b}}
          - {name: inv, type: NOT, inputs: {in: c}, outputs: {out: d}}
        """) == ["plant.yaml:3:12: blocks[1].name: duplicate block name 'inv' (first defined on line 2)"]


def test_two_blocks_writing_one_signal_name_both_writers():
    assert problems("""
        blocks:
          - {name: a, type: NOT, inputs: {in: x}, outputs: {out: pump}}
          - {name: b, type: NOT, inputs: {in: z}, outputs: {out: pump}}
        """) == [
        "plant.yaml:3:58: blocks[1].outputs.out: signal 'pump' is written by block 'a' (line 2) "
        "and by block 'b'; a signal can have only one writer"
    ]


def test_a_block_writing_a_signal_a_driver_also_writes_names_both():
    assert problems("""
        blocks:
          - {name: a, type: NOT, inputs: {in: x}, outputs: {out: pump}}
        mqtt:
          broker_host: 127.0.0.1
          subscriptions:
            - topic: plant/pump
              signal: pump
              data_type: bool
        """) == [
        "plant.yaml:7:15: mqtt.subscriptions[0].signal: signal 'pump' is written by block 'a' (line 2) "
        "and by mqtt subscription 'plant/pump'; a signal can have only one writer"
    ]


def test_a_missing_environment_variable_is_named_at_its_scalar():
    assert problems("""
        mqtt:
          broker_host: ${BROKER}
        """) == [
        "plant.yaml:2:16: mqtt.broker_host: environment variable BROKER not set "
        "(set it, or give a default: ${BROKER:-value})"
    ]


def test_a_float_output_into_a_bool_signal_is_refused():
    assert problems("""
        signals:
          - {name: flow, type: float}
          - {name: total, type: bool}
        blocks:
          - name: sum
            type: ADD
            inputs: {in1: flow, in2: 1.5}
            outputs: {out: total}
        """) == [
        "plant.yaml:8:20: blocks[0].outputs.out: block 'sum' output 'out' is float but signal 'total' "
        "is declared bool"
    ]


def test_an_int_output_into_a_float_signal_is_fine():
    config = load("""
        signals:
          - {name: count, type: float}
        blocks:
          - name: counter
            type: CTU
            inputs: {cu: pulse, reset: false}
            outputs: {cv: count}
            params: {preset: 3}
        """)
    assert config.signal("count").type.value == "float"


def test_an_initial_value_that_does_not_fit_the_type_is_refused():
    assert problems("""
        signals:
          - name: setpoint
            type: float
            initial: warm
        """) == [
        "plant.yaml:4:14: signals[0].initial: initial value 'warm' is not a valid float "
        "(cannot convert 'warm' to float)"
    ]


def test_an_algebraic_loop_names_the_blocks_in_the_cycle():
    assert problems("""
        blocks:
          - {name: a, type: NOT, inputs: {in: y}, outputs: {out: x}}
          - {name: b, type: NOT, inputs: {in: x}, outputs: {out: y}}
        """) == [
        "plant.yaml:2:12: blocks[0].name: algebraic loop between blocks a -> b -> a: a block's output "
        "feeds back into its own input within one scan (read one of the signals as 'name@prev' to use "
        "its value from the previous scan)"
    ]


def test_an_escalation_chain_for_an_unknown_alarm_is_an_error():
    assert problems("""
        alarms:
          alarms:
            - {id: tank_high, signal: level, condition: above, setpoint: 90}
          escalation_chains:
            tank_hi: [operator]
        """) == [
        "plant.yaml:5:5: alarms.escalation_chains.tank_hi: escalation chain for unknown alarm 'tank_hi' "
        "(did you mean 'tank_high'?)"
    ]


def test_an_enum_mistake_lists_the_allowed_values():
    assert problems("""
        storage:
          strategy: local_frist
        """) == [
        "plant.yaml:2:13: storage.strategy: expected one of: local_first, remote_first, parallel; "
        "got 'local_frist' (did you mean 'local_first'?)"
    ]


def test_a_conditional_requirement_says_when_it_applies():
    assert problems("""
        s7:
          ip: 127.0.0.1
          mappings:
            - {signal: level, area: DB, address: 0, data_type: real}
        """) == [
        "plant.yaml:4:7: s7.mappings[0]: missing required key 'db_number' (needed when area is 'DB')"
    ]


def test_a_list_of_plcs_needs_names_and_the_error_is_about_the_list_form():
    assert problems("""
        s7:
          - ip: 127.0.0.1
        """) == ["plant.yaml:2:5: s7[0]: missing required key 'name'"]


def test_a_read_only_modbus_table_cannot_be_written():
    assert problems("""
        modbus:
          - name: meter
            host: 127.0.0.1
            mappings:
              - {signal: power, table: input_register, address: 0, data_type: float32, direction: write}
        """) == [
        "plant.yaml:5:91: modbus[0].mappings[0].direction: input_register is read-only; "
        "direction must be read"
    ]


def test_a_literal_that_cannot_feed_its_port_is_refused():
    assert problems("""
        blocks:
          - {name: inv, type: NOT, inputs: {in: nan}, outputs: {out: x}}
        """) == [
        "plant.yaml:2:41: blocks[0].inputs.in: literal 'nan' cannot feed bool input 'in' "
        "(cannot convert nan to bool)"
    ]


def test_a_string_signal_cannot_feed_a_numeric_input():
    assert problems("""
        signals:
          - {name: label, type: string}
        blocks:
          - {name: cmp, type: GT, inputs: {in1: label, in2: 1}, outputs: {out: x}}
        """) == [
        "plant.yaml:4:41: blocks[0].inputs.in1: input 'in1' of GT needs a number, "
        "but signal 'label' is string"
    ]


def test_all_problems_are_reported_together_in_file_order():
    found = problems("""
        scan_time_ms: fast
        signals:
          - {name: a, type: float}
          - {name: a, type: float}
        blocks:
          - {name: b, type: GTE, inputs: {in1: a, in2: 1}}
        """)
    assert [p.split(": ")[0] for p in found] == ["plant.yaml:1:15", "plant.yaml:4:12", "plant.yaml:6:21"]
