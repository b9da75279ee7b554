"""Tests for capitation/register/population.py: the register path's practice population."""

from pathlib import Path

import pytest

from capitation.errors import InputError
from capitation.register.population import register_population

EXAMPLE = Path(__file__).resolve().parents[3] / "models" / "register_example"


def test_worked_example_population_and_levels():
    # docs/methods/weighted-capitation.md#from-the-register worked example: P1, P2, P3 each have
    # 1,000 registered
    # patients; practices.csv puts P1 and P2 in ICB I1 and P3 in I2.
    source = register_population(EXAMPLE / "register.csv", EXAMPLE / "practices.csv",
                                 levels=["ICB"])
    frame = source.population.frame
    assert frame["population"].to_dict() == {"P1": 1_000.0, "P2": 1_000.0, "P3": 1_000.0}
    assert frame["ICB"].to_dict() == {"P1": "I1", "P2": "I1", "P3": "I2"}
    assert source.population.source == "DataFrame"  # built in code from two files
    assert len(source.register) == 3 * 2 * 96


def test_without_a_practices_file_there_are_no_levels():
    source = register_population(EXAMPLE / "register.csv")
    assert source.population.levels == ()
    assert source.population.codes.tolist() == ["P1", "P2", "P3"]


def test_practices_of_other_registers_are_not_used(tmp_path):
    practices = tmp_path / "practices.csv"
    practices.write_text("practice,ICB\nP1,I1\nP2,I1\nP3,I2\nP9,I9\n", encoding="utf-8")
    source = register_population(EXAMPLE / "register.csv", practices, levels=["ICB"])
    assert source.population.codes.tolist() == ["P1", "P2", "P3"]


@pytest.mark.parametrize("text, message", [
    # Before, these were taken silently (the first parent), or named "DataFrame".
    ("practice,ICB\nP1,I1\nP2,I1\nP3,I2\nP2,I2\n",
     'practices.csv, row 3, column practice: practice "P2" appears again in row 5'),
    ("practice,sub_ICB,ICB\nP1,S1,I1\nP2,S1,I2\nP3,S3,I2\n",
     'practices.csv, key population.levels: levels do not nest: sub_ICB "S1" is under ICB '
     '"I1" and "I2"'),
    ("practice,ICB\nP1,I1\nP2,I1\nP3, \n",
     "practices.csv, row 4, column ICB: is blank (expected a code)"),
    ("practice,ICB\nP1,I1\nP3,I2\n",
     "practices.csv, column practice: 1 practice of the register is missing: P2 (expected a "
     "row for every practice of the register)"),
])
def test_bad_practices_file_is_named(tmp_path, text, message):
    practices = tmp_path / "practices.csv"
    practices.write_text(text, encoding="utf-8")
    levels = ["sub_ICB", "ICB"] if "sub_ICB" in text else ["ICB"]
    with pytest.raises(InputError) as caught:
        register_population(EXAMPLE / "register.csv", practices, levels=levels)
    assert str(caught.value).startswith(message)
