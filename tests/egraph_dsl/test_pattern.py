"""Text patterns: what parses, and a PatternError naming the piece and column for everything else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from egraph_dsl.errors import PatternError
from egraph_dsl.pattern import MAX_DEPTH, AttrVar, Const, Op, Pattern, Var, op, parse, var

VALID = [
    "exp(?x) / sum(exp(?x), axis=?a, keepdims=?k)",
    "log(1 + exp(?x))",
    "sum(?x, axis=(1, 0), keepdims=False)",
    "transpose(?A @ ?B, axes=(1, 0))",
    "np.log(np.exp(?x))",
    "?x.T - -2.5",
    "where(?c < 0, ?a, _)",
    "broadcast_to(?x, shape=?s)",
    "astype(?x, dtype='float32')",
    "reshape(?x, shape=(2, 3))",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_patterns_parse(text: str) -> None:
    assert isinstance(parse(text), Op)


def test_attributes_are_normalized() -> None:
    p = parse("sum(?x, axis=(1, 0), keepdims=True)")
    assert isinstance(p, Op) and p.attrs == {"axis": (0, 1), "keepdims": True}
    assert parse("sum(?x, axis=?a)").attrs == {"axis": AttrVar("a")}  # type: ignore[attr-defined]
    assert parse("reshape(?x, shape=3)").attrs == {"shape": (3,)}  # type: ignore[attr-defined]
    assert op.sum(var("x"), axis=np.int64(1)).attrs == {"axis": (1,)}
    assert parse("-3") == Const(-3.0)


@pytest.mark.parametrize(("text", "piece", "column"), [
    ("sum(?x, axis='a')", "axis='a'", 14),                  # was a raw TypeError
    ("sum(?x, axis=1.5)", "axis=1.5", 14),                  # was a raw TypeError
    ("transpose(?x, axes=(1,'b'))", "axes=(1, 'b')", 20),   # was a raw ValueError
    ("sum(?x, keepdims='yes')", "keepdims='yes'", 18),      # was silently True
    ("sum(?x, keepdims=1)", "keepdims=1", 18),
    ("sum(?x, axis=(0, 0))", "appears twice", 14),
    ("sum(?x, axis=-1)", "axis=-1", 14),
    ("transpose(?x, axes=(0, 2))", "permutation", 20),
    ("astype(?x, dtype='complex128')", "complex128", 18),
    ("astype(?x, dtype='f(1, 0)loat32')", "f(1, 0)loat32", 18),  # found by the fuzzer: raw ValueError
    ("astype(?x, dtype=3)", "dtype=3", 18),
    ("sum(?x, **extra)", "**", 11),
    ("exp(?x, ?y)", "takes 1 argument", 1),
    ("?x + frobnicate(?y)", "unknown op 'frobnicate'", 6),
    ("exp(?x) + ?y(2)", "variable cannot be called", 11),
    ("?x[0]", "cannot be used", 1),
    ("?x + 'a'", "cannot be used", 6),
    ("exp(?x", "never closed", 4),
    ("10**400 + 1e400 + " + "9" * 400, "too large", 19),
])
def test_malformed_patterns_name_the_piece_and_column(text: str, piece: str, column: int) -> None:
    with pytest.raises(PatternError) as info:
        parse(text)
    message = str(info.value)
    assert piece in message and f"column {column}" in message, message


@pytest.mark.parametrize("text", ["", "   ", None, 3])
def test_empty_or_non_string(text: object) -> None:
    with pytest.raises(PatternError, match="non-empty string"):
        parse(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("terms", [MAX_DEPTH // 2, 5_000, 50_000])
def test_long_sums_parse_or_raise_pattern_error(terms: int) -> None:
    """A 5,000-term sum raised RecursionError; deep patterns are refused with a PatternError."""
    text = " + ".join(f"?x{i % 7}" for i in range(terms))
    if terms < MAX_DEPTH:
        assert len(parse(text).variables()) == 7
    else:
        with pytest.raises(PatternError, match=r"levels deep|does not parse"):
            parse(text)


def test_deeply_nested_calls_raise_pattern_error() -> None:
    for depth in (MAX_DEPTH + 1, 1_000):
        with pytest.raises(PatternError):
            parse("exp(" * depth + "?x" + ")" * depth)


def test_messages_stay_short_for_long_patterns() -> None:
    with pytest.raises(PatternError) as info:
        parse(" + ".join(["?x"] * 5_000))
    assert len(str(info.value)) < 300


PIECES = ["?x", "?y", "_", "1", "2.5", "-", "+", "*", "/", "**", "@", "(", ")", ",", "exp", "sum", "log",
          "transpose", "axis=", "axes=", "keepdims=", "shape=", "dtype=", "True", "'a'", "None", "(1, 0)",
          "np.", ".T", "<", "==", "[", "]", "**k", "1.5", "-1", "\x00", "\\", "?", "lambda", ":", "é"]


def _parses_or_pattern_error(text: str) -> None:
    try:
        result = parse(text)
    except PatternError:
        return
    assert isinstance(result, (Pattern, Var))
    str(result), hash(result)  # printable and hashable


@given(st.text(max_size=60))
@example("sum(?x, axis='a')")
@example("\x00")
@example("exp(?x) if ?y else ?z")
@example("(lambda: ?x)()")
@example("f'{?x}'")
@example("'\\d' + ?x")
@example("astype(?x, dtype='f(1, 0)loat32')")
def test_fuzz_random_text(text: str) -> None:
    _parses_or_pattern_error(text)


@given(st.lists(st.sampled_from(PIECES), max_size=25))
def test_fuzz_pattern_pieces(pieces: list[str]) -> None:
    _parses_or_pattern_error("".join(pieces))


@given(st.sampled_from(VALID), st.data())
def test_fuzz_mutated_valid_patterns(text: str, data: st.DataObject) -> None:
    chars = list(text)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(chars)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = data.draw(st.sampled_from(PIECES) | st.characters())
        if action == "insert":
            chars.insert(i, piece)
        elif chars and i < len(chars):
            chars[i] = piece if action == "replace" else ""
    _parses_or_pattern_error("".join(chars))
