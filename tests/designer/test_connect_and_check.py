"""Wires PETRA refuses are refused as they are drawn, with PETRA's reason; the check lands on nodes and fields."""

from __future__ import annotations

from petra.config.loader import load_config_text
from petra.designer.checks import parse_path, parse_problem
from petra.designer.connect import check_wire
from petra.designer.graph import build_graph
from petra.designer.service import check_answer, graph_answer

PLANT = """\
signals:
  - {name: enable, type: bool, initial: true}
  - {name: mode, type: string, initial: auto}
  - {name: running, type: bool}
  - {name: limit, type: float, initial: 5.0}
blocks:
  - name: gen
    type: DATA_GENERATOR
    inputs: {enable: enable}
    outputs: {sine_out: wave}
  - name: high
    type: GT
    inputs: {in1: wave, in2: limit}
    outputs: {out: wave_high}
  - name: scaled
    type: MUL
    inputs: {in1: wave, in2: "2.0"}
    outputs: {out: wave2}
alarms:
  alarms:
    - {id: too_high, signal: wave, condition: above, setpoint: 8.0}
  contacts:
    - {id: ops, name: Operations, email: ops@example.com}
"""


def wire(start: tuple[str, str], end: tuple[str, str], **kw: object) -> dict:
    return check_wire(PLANT, {"node": start[0], "port": start[1]}, {"node": end[0], "port": end[1]}, **kw)


def test_a_string_signal_into_a_numeric_input_is_refused_with_the_loaders_reason():
    answer = wire(("signal:mode", "out"), ("block:scaled", "in2"))
    assert answer["ok"] is False
    assert "input 'in2' of MUL needs a number, but signal 'mode' is string" in answer["reason"]


def test_a_float_output_into_a_declared_bool_signal_is_refused():
    answer = wire(("block:scaled", "out"), ("signal:running", "in"))
    assert answer["ok"] is False
    assert answer["reason"] == "block 'scaled' output 'out' is float but signal 'running' is declared bool"


def test_a_bool_into_a_float_input_is_accepted_as_petra_accepts_it():
    answer = wire(("signal:enable", "out"), ("block:scaled", "in2"))
    assert answer["ok"] is True
    config = load_config_text(answer["yaml"])
    assert next(b for b in config.blocks if b.name == "scaled").inputs[1].signal == "enable"


def test_a_second_writer_of_a_signal_is_refused():
    answer = wire(("block:high", "out"), ("signal:wave", "in"))
    assert answer["ok"] is False
    assert "signal 'wave' is already written by block:gen" in answer["reason"]


def test_an_algebraic_loop_is_refused_and_the_same_wire_read_at_prev_is_accepted():
    answer = wire(("block:high", "out"), ("block:gen", "enable"))
    assert answer["ok"] is False
    assert answer["reason"].startswith("algebraic loop between blocks gen -> high -> gen")
    delayed = wire(("block:high", "out"), ("block:gen", "enable"), previous=True)
    assert delayed["ok"] is True
    gen = next(b for b in load_config_text(delayed["yaml"]).blocks if b.name == "gen")
    assert gen.inputs[0].signal == "wave_high" and gen.inputs[0].previous


def test_block_to_block_goes_through_the_output_signal_named_after_the_port():
    answer = wire(("block:scaled", "out"), ("block:high", "in2"))
    assert answer["ok"] is True
    high = next(b for b in load_config_text(answer["yaml"]).blocks if b.name == "high")
    assert high.inputs[1].signal == "wave2"


def test_a_port_the_block_type_does_not_have_is_refused():
    answer = wire(("signal:wave", "out"), ("block:high", "in3"))
    assert answer == {"ok": False, "reason": "GT has no input 'in3' (its inputs: in1, in2)"}


def test_signal_into_alarm_and_alarm_into_contact_make_the_alarm_and_its_escalation_chain():
    answer = wire(("signal:wave2", "out"), ("alarm:too_high", "signal"))
    assert answer["ok"] is True
    chained = check_wire(answer["yaml"], {"node": "alarm:too_high", "port": "escalation"},
                         {"node": "contact:ops", "port": "escalation"})
    assert chained["ok"] is True
    config = load_config_text(chained["yaml"])
    alarms = config.sections["alarms"]
    assert alarms["alarms"][0]["signal"] == "wave2"
    assert alarms["escalation_chains"] == {"too_high": ["ops"]}


def test_a_problem_is_placed_on_its_node_and_field_with_petra_checks_location():
    bad = PLANT.replace("type: GT", "type: GTE")
    answer = check_answer(bad, "plant.yaml")
    assert answer["ok"] is False
    (error,) = answer["errors"]
    assert error["node"] == "block:high" and error["field"] == "type"
    assert error["location"] == "plant.yaml:12:11" and error["path"] == ["blocks", 1, "type"]
    assert error["text"] == "plant.yaml:12:11: blocks[1].type: unknown block type 'GTE' (did you mean 'GE'?)"


def test_a_warning_is_placed_too_and_a_valid_plant_is_ok():
    answer = check_answer(PLANT.replace("signal: wave,", "signal: nowhere,"), "plant.yaml")
    assert answer["ok"] is True
    (warning,) = answer["warnings"]
    assert warning["node"] == "alarm:too_high" and warning["field"] == "signal"
    assert check_answer(PLANT, "plant.yaml") == {"ok": True, "errors": [], "warnings": []}


def test_graph_answer_places_every_node_and_types_the_signals_nobody_declares():
    answer = graph_answer(PLANT, "plant.yaml")
    nodes = {n["id"]: n for n in answer["graph"]["nodes"]}
    assert set(answer["layout"]["nodes"]) == set(nodes)
    assert nodes["signal:wave"]["implicit"] and nodes["signal:wave"]["type"] == "float"
    assert nodes["signal:wave_high"]["type"] == "bool"
    layout = answer["layout"]["nodes"]
    assert layout["block:gen"]["x"] < layout["signal:wave"]["x"] < layout["block:high"]["x"]


def test_a_text_that_is_not_yaml_answers_an_empty_graph_and_the_error():
    answer = graph_answer("signals: [\n", "plant.yaml")
    assert answer["graph"] == {"nodes": [], "edges": []}
    assert answer["errors"][0]["location"].startswith("plant.yaml:")


def test_paths_and_problems_parse_back_from_their_printed_form():
    assert parse_path("blocks[2].inputs.in1") == ("blocks", 2, "inputs", "in1")
    assert parse_path("alarms.escalation_chains['a b'][1]") == ("alarms", "escalation_chains", "a b", 1)
    problem = parse_problem("f.yaml:3:5: signals[0].name: duplicate: x", "f.yaml")
    assert (problem.line, problem.column, problem.path, problem.message) == (3, 5, "signals[0].name", "duplicate: x")


def test_every_edge_names_the_field_that_holds_it():
    graph = build_graph(PLANT)
    for edge in graph.edges():
        holder = graph.nodes[edge["ref"]["node"]]
        value = holder.props
        for part in edge["ref"]["field"]:
            value = value[part]
        assert isinstance(value, str)


def test_a_check_never_quotes_a_value_of_the_servers_environment():
    env = {"TWILIO_AUTH_TOKEN": "s3cr3t-t0ken-value", "HOME": "/root"}
    text = "scan_time_ms: ${TWILIO_AUTH_TOKEN}\n"
    from petra.designer.checks import check_text

    (error,) = check_text(text, "plant.yaml", env).errors
    assert "s3cr3t" not in str(error) and "${TWILIO_AUTH_TOKEN}" in error.message
