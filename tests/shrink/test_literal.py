"""Values read and written in their own syntax: Python literals, YAML, argparse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.shrink.literal import coerce, parse, render, split_items


@pytest.mark.parametrize(
    ("text", "syntax", "value"),
    [
        ("False", "python", False),
        ("false", "python", "false"),  # not a literal: the configurator keeps the string
        ("1e-3", "python", 1e-3),
        ("'gpt2'", "python", "gpt2"),
        ("gpt2", "python", "gpt2"),
        ("(1, 2)", "python", (1, 2)),
        ("true", "yaml", True),
        ("1e-3", "yaml", 1e-3),  # Hydra and jsonargparse read it as a float; PyYAML would not
        ("[512,256]", "yaml", [512, 256]),
        ("null", "yaml", None),
        ("a: [", "yaml", "a: ["),
        ("3e-4", "plain", 3e-4),
        ("-1", "plain", -1),
        ("True", "plain", True),
        ("bf16-mixed", "plain", "bf16-mixed"),
    ],
)
def test_parse(text, syntax, value):
    got = parse(text, syntax)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("value", "like", "syntax", "text"),
    [
        (2, "5000", "python", "2"),
        (False, "True", "python", "False"),
        (False, "true", "yaml", "false"),
        (False, "TRUE", "plain", "FALSE"),
        (True, None, "python", "True"),
        (True, None, "yaml", "true"),
        (5e-4, "1e-3", "python", "5e-4"),
        (5e-4, "1.0E-03", "yaml", "5.0E-04"),
        (2.5e-5, "1e+3", "plain", "2.5e-5"),
        (0.0015, "0.003", "python", "0.0015"),
        (1e-05, None, "yaml", "1.0e-05"),  # PyYAML needs the "." to read a float
        ("cpu", "'cuda'", "python", "'cpu'"),
        ("cpu", '"cuda"', "yaml", '"cpu"'),
        ("cpu", "cuda", "python", "cpu"),  # bare, read back as a string
        ("1", "cuda", "python", "'1'"),  # bare would read back as an int
        ("it's", "'x'", "python", "'it\\'s'"),
        ("a b", None, "yaml", "'a b'"),
        ("cpu", None, "python", "'cpu'"),
        ([128, 64], "[512,256]", "yaml", "[128,64]"),
        ([128, 64], "[512, 256]", "python", "[128, 64]"),
        ((8,), "(32,)", "python", "(8,)"),
        (["a", "b"], "['x', 'y']", "python", "['a', 'b']"),
        (None, None, "yaml", "null"),
    ],
)
def test_render_like_the_original(value, like, syntax, text):
    assert render(value, like=like, syntax=syntax) == text


def test_coerce_keeps_the_type():
    assert coerce(2, 5000.0) == 2.0 and isinstance(coerce(2, 5000.0), float)
    assert coerce(2.0, 5000) == 2 and isinstance(coerce(2.0, 5000), int)
    assert coerce(2.5, 5000) == 2.5  # an explicit non-integer value is not rounded away
    assert coerce([128, 64], (512, 256)) == (128, 64)
    assert coerce([1, 2], [1.0, 2.0]) == [1.0, 2.0]
    assert coerce(1, True) == 1 and coerce(True, 1) is True


def test_split_items():
    assert split_items("1, 'a,b', [2, 3], {x: 1}") == ["1", "'a,b'", "[2, 3]", "{x: 1}"]
    assert split_items("") == []


FINITE = st.floats(allow_nan=False, allow_infinity=False)
# printable text: YAML and Python source cannot carry control characters or line separators raw
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=10)
SCALARS = st.one_of(st.booleans(), st.integers(), FINITE, TEXT)


@given(SCALARS, st.sampled_from(["python", "yaml"]))
def test_round_trip_in_each_syntax(value, syntax):
    back = parse(render(value, syntax=syntax), syntax)
    assert back == value and type(back) is type(value)


@given(
    FINITE,
    st.sampled_from(["1e-3", "5E+02", "1.0e-04", "3e7"]),
    st.sampled_from(["python", "yaml", "plain"]),
)
def test_floats_keep_exponent_form_and_value(value, like, syntax):
    text = render(value, like=like, syntax=syntax)
    assert "e" in text.lower()
    back = parse(text, syntax)
    assert back == value and isinstance(back, float)
