import math

import pytest

from tests.blocks.conftest import make, run

NAN = math.nan


@pytest.mark.parametrize(
    ("values", "expected"),
    [((True, True), True), ((True, False), False), ((False, False), False), ((True,) * 16, True)],
)
def test_and_is_true_only_when_every_input_is_true(values, expected):
    assert run("AND", {f"in{i + 1}": v for i, v in enumerate(values)}) is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [((False, False), False), ((False, True), True), ((False, False, False, True), True)],
)
def test_or_is_true_when_any_input_is_true(values, expected):
    assert run("OR", {f"in{i + 1}": v for i, v in enumerate(values)}) is expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((True, False), True),
        ((True, True), False),
        ((True, True, True), True),
        ((True, True, False), False),
        ((True, False, True, True, True), False),
    ],
)
def test_xor_of_many_inputs_is_odd_parity(values, expected):
    assert run("XOR", {f"in{i + 1}": v for i, v in enumerate(values)}) is expected


def test_not_inverts_its_input():
    assert run("NOT", {"in": True}) is False
    assert run("NOT", {"in": False}) is True


def test_variadic_inputs_are_used_in_numeric_order_not_text_order():
    inputs = {f"in{i}": i == 10 for i in range(1, 12)}
    assert run("OR", inputs) is True
    assert run("AND", inputs) is False


def test_logic_expressions_work_with_literal_arguments():
    assert run("AND", {"in1": True, "in2": True}, literal=True) is True
    assert run("NOT", {"in": True}, literal=True) is False


@pytest.mark.parametrize(
    ("type_name", "a", "b", "expected"),
    [
        ("GT", 2, 1, True),
        ("GT", 1, 1, False),
        ("GE", 1, 1.0, True),
        ("GE", 0, 1, False),
        ("LT", -1.5, 0, True),
        ("LT", 1, 1, False),
        ("LE", 1, 1, True),
        ("LE", 2, 1, False),
        ("EQ", 1, 1.0, True),
        ("EQ", "a", "a", True),
        ("EQ", "1", 1, False),
        ("NE", "a", "b", True),
        ("NE", 3, 3, False),
    ],
)
def test_comparisons_give_the_expected_bool(type_name, a, b, expected):
    assert run(type_name, {"in1": a, "in2": b}) is expected


@pytest.mark.parametrize("type_name", ["GT", "GE", "LT", "LE", "EQ"])
@pytest.mark.parametrize(("a", "b"), [(NAN, 1.0), (1.0, NAN), (NAN, NAN)])
def test_comparisons_with_nan_are_false(type_name, a, b):
    assert run(type_name, {"in1": a, "in2": b}) is False


@pytest.mark.parametrize(("a", "b"), [(NAN, 1.0), (1.0, NAN), (NAN, NAN)])
def test_ne_with_nan_is_true(a, b):
    assert run("NE", {"in1": a, "in2": b}) is True


def test_comparison_expressions_are_parenthesised_and_inline():
    block = make("GT")
    assert block.expressions({"in1": "v[3]", "in2": "75.0"}) == {"out": "(v[3] > 75.0)"}


def test_compound_arguments_are_parenthesised():
    block = make("NOT")
    assert block.expressions({"in": "v[1] != 0"}) == {"out": "(not (v[1] != 0))"}
