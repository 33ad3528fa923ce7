"""Bias broadcasting: a length-m vector added to an m×k matrix is added to every column."""
from __future__ import annotations

import torch

from derive.language.load import load_text
from derive.outcome import Verdict
from derive.semantics import check_claim
from tests.test_numeric import decide


def diagnostics(text: str) -> list[str]:
    loaded = load_text(text)
    claim = loaded.claims[0]
    _, diags = check_claim(claim, text.split("\n"))
    return [d.message for d in diags]


def test_a_column_vector_broadcasts_over_the_columns_of_a_matrix():
    text = ("claim a\n  let m, k : dim\n  let A : matrix[m, k]\n  let b : vector[m]\n"
            "  show A + b == A + b @ ones(1, k)\n")
    assert diagnostics(text) == []
    assert decide(text).verdict is Verdict.VERIFIED


def test_a_vector_of_the_column_count_is_still_a_shape_error():
    text = ("claim a\n  let m, k : dim\n  let A : matrix[m, k]\n  let c : vector[k]\n"
            "  show A + c == A\n")
    assert any("shape mismatch in '+'" in d for d in diagnostics(text))


def test_only_addition_and_subtraction_broadcast():
    text = ("claim a\n  let m, k : dim\n  let A : matrix[m, k]\n  let b : vector[m]\n"
            "  show A ⊙ b == A\n")
    assert any("shape mismatch" in d for d in diagnostics(text))


def test_the_numeric_lowering_adds_the_vector_to_each_column():
    from derive.numeric.lower import Evaluator
    ev = Evaluator({}, torch.device("cpu"))
    A = torch.arange(6, dtype=torch.float64).reshape(1, 2, 3)
    b = torch.tensor([[10.0, 20.0]], dtype=torch.float64)
    out = ev.binop("+", A, b)
    assert out.tolist() == [[[10.0, 11.0, 12.0], [23.0, 24.0, 25.0]]]
    assert ev.binop("-", b, A).tolist() == [[[10.0, 9.0, 8.0], [17.0, 16.0, 15.0]]]
