"""The svd-algebra strategy: identities with the thin SVD, diag, pinv, symbolic powers and
dot products proved for symbolic sizes, their one-sided traps never proved, and every
proof naming the side conditions it used."""
from __future__ import annotations

import pytest

from derive.engine import Context, Options
from derive.limits import time_limit
from derive.outcome import Verdict
from derive.symbolic import ENGINE
from derive.symbolic.strategies.svd import SvdMatrixAlgebra
from tests.test_textbook import checked

SVD = """claim t "svd"
  let m, n : dim
  {assume}
  let X : matrix[m, n] {props}
  let y : vector[m]
  let U, S, V = svd(X)
  show {s}
"""
VEC = """claim t "vectors"
  let n : dim
  let h : integer >= 0
  let x : real
  let a, b : vector[n]
  let p : vector[n] positive
  let A, B, M : matrix[n, n]
  show {s}
"""


def decide(text: str):
    """The symbolic engine's outcome on the claim's one statement, and its notes."""
    c = checked(text)
    ctx = Context(c, c.claim.shows[0], 0, Options())
    with time_limit(30):
        return ENGINE.decide(ctx), ctx.notes


def svd(s: str, assume: str = "", props: str = ""):
    return decide(SVD.format(s=s, assume=assume, props=props))


def proved_by_svd(outcome) -> bool:
    return outcome is not None and outcome.verdict == Verdict.PROVED and \
        outcome.strategy == "svd-algebra"


def test_thin_svd_reconstructs_and_names_its_conditions():
    o, _ = svd("X == U @ diag(S) @ Vᵀ")
    assert proved_by_svd(o)
    assert o.evidence["general"] is True
    assert any("UᵀU = VᵀV = I" in c for c in o.evidence["side_conditions"])


@pytest.mark.parametrize("s, assume", [
    ("Uᵀ @ X == diag(S) @ Vᵀ", ""),                       # UᵀU = I for every shape
    ("Xᵀ @ X == V @ diag(S .^ 2) @ Vᵀ", ""),
    ("U @ Uᵀ @ X == X", ""),                               # UUᵀU = U even when U is thin
    ("(3 * X - X @ Xᵀ @ X) / 2 == U @ diag((3 * S - S .^ 3) / 2) @ Vᵀ", ""),
    ("V @ Vᵀ == I[n]", "assume m > n"),                   # V is n×n: min(m, n) = n
])
def test_identities_proved(s, assume):
    o, notes = svd(s, assume)
    assert proved_by_svd(o), notes


@pytest.mark.parametrize("s, assume", [
    ("U @ Uᵀ == I[m]", "assume m > n"),                   # U is thin: a projection
    ("U @ Uᵀ == I[m]", ""),                               # not known to be square
    ("V @ Vᵀ == I[n]", ""),
    ("U @ (Uᵀ @ y) == y", ""),                             # UUᵀ kept: U may be thin
])
def test_one_sided_traps_not_proved(s, assume):
    o, _ = svd(s, assume)
    assert o is None or o.verdict != Verdict.PROVED


def test_square_factor_condition_states_why():
    o, _ = svd("V @ Vᵀ == I[n]", "assume m > n")
    text = " ".join(o.evidence["side_conditions"])
    assert "V is square" in text and "VVᵀ = I" in text


def test_inverse_of_diag_needs_positive_singular_values():
    s = "inv(diag(S)) @ diag(S) == diag(ones(n))"
    o, _ = decide(SVD.format(s=s, assume="", props="").replace("matrix[m, n]", "matrix[n, n]"))
    assert not proved_by_svd(o)
    o, _ = decide(SVD.format(s=s, assume="", props="invertible").replace("matrix[m, n]", "matrix[n, n]"))
    assert proved_by_svd(o)
    assert any("S > 0" in c for c in o.evidence["side_conditions"])


def test_pinv_needs_full_rank():
    o, _ = svd("pinv(X) == V @ inv(diag(S)) @ Uᵀ", props="full_rank")
    assert proved_by_svd(o)
    assert any("pinv(X)" in c for c in o.evidence["side_conditions"])
    o, notes = svd("pinv(X) == V @ inv(diag(S)) @ Uᵀ")
    assert not proved_by_svd(o)
    assert any("not declared full_rank" in n for n in notes)


def test_pinv_is_a_one_sided_inverse():
    assert proved_by_svd(svd("pinv(X) @ X == I[n]", "assume m > n", "full_rank")[0])
    o, _ = svd("X @ pinv(X) == I[m]", "assume m > n", "full_rank")
    assert o is None or o.verdict != Verdict.PROVED


def test_inverse_of_a_product_through_the_svd():
    s = "Vᵀ @ Xᵀ @ inv(X @ Xᵀ) @ y == inv(diag(S)) @ Uᵀ @ y"
    o, _ = svd(s, "assume n > m", "full_rank")
    assert proved_by_svd(o)
    assert any("square and invertible" in c for c in o.evidence["side_conditions"])


@pytest.mark.parametrize("s", [
    "diag(a ⊙ b) == diag(a) @ diag(b)",
    "diag(a) @ diag(b) == diag(b) @ diag(a)",
    "diag(2 * a - b) == 2 * diag(a) - diag(b)",
    "diag(a)ᵀ == diag(a)",
    "diag(ones(n)) @ M == M",
    "inv(diag(p)) == diag(1 / p)",
    "diag(a)^h == diag(a .^ h)",
    "M @ diag(a) @ B + M @ diag(b) @ B == M @ diag(a + b) @ B",
    "M + M @ diag(a) == M @ diag(ones(n) + a)",
    "aᵀ @ diag(a)^h @ b == sum(a ⊙ a .^ h ⊙ b)",
    "A^h @ A^h == A^(2 * h)",
    "A^h @ A == A^(h + 1)",
    "(A^h)ᵀ == (Aᵀ)^h",
    "a · (M @ b) == aᵀ @ M @ b",
    "a · (M @ b) == (Mᵀ @ a) · b",
    "sum(a ⊙ b) == a · b",
])
def test_diag_power_dot_identities_proved(s):
    o, notes = decide(VEC.format(s=s))
    assert o is not None and o.verdict == Verdict.PROVED, notes


@pytest.mark.parametrize("s", [
    "diag(a) @ B == B @ diag(a)",
    "diag(a + b) == diag(a) @ diag(b)",
    "A @ diag(a) @ B @ diag(b) @ M + A @ diag(b) @ B @ diag(a) @ M == 2 * A @ diag(a) @ B @ diag(b) @ M",
    "(A^h)ᵀ == A^h",
    "A^h @ B == B @ A^h",
    "a · (M @ b) == (M @ a) · b",
    "sum(a ⊙ b) == sum(a) * sum(b)",
    "diag(a)^h == diag(h * a)",
])
def test_false_identities_not_proved(s):
    o, _ = decide(VEC.format(s=s))
    assert o is None or o.verdict != Verdict.PROVED


def test_inverse_of_a_diag_with_unknown_sign_entries_declined():
    o, notes = decide(VEC.format(s="inv(diag(a)) @ diag(a) == diag(ones(n))"))
    assert not proved_by_svd(o)
    assert any("not assumed nonzero" in n for n in notes)


def test_power_by_a_real_exponent_declined():
    o, notes = decide(VEC.format(s="A^x @ A^x == A^(2 * x)"))
    assert not proved_by_svd(o)
    assert any("not implied to be an integer" in n for n in notes)


NORMS = """claim t "norms"
  let n, d : dim
  assume d > n
  let X : matrix[n, d] full_rank
  let y : vector[n]
  let u, v : vector[d]
  let k : vector[n]
  show {s}
"""


@pytest.mark.parametrize("s", [
    "norm(pinv(X) @ y + (I[d] - pinv(X) @ X) @ u) >= norm(pinv(X) @ y)",
    "norm(pinv(X) @ y)^2 <= norm(pinv(X) @ y + (I[d] - pinv(X) @ X) @ u)^2",
    "norm(pinv(X) @ X @ u) <= norm(u)",
])
def test_pythagoras_proves_norm_comparisons(s):
    o, notes = decide(NORMS.format(s=s))
    assert proved_by_svd(o), notes
    assert "Pythagoras" in o.summary


@pytest.mark.parametrize("s", [
    "norm(u + v) >= norm(u)",                       # v = −u
    "norm(pinv(X) @ X @ u) >= norm(u)",             # the projection is shorter
    "norm(u) >= norm(k)",                           # different lengths
    "norm(u) > norm(pinv(X) @ X @ u)",              # strict: equal when u is in the row space
])
def test_pythagoras_never_proves_false_or_unfit_comparisons(s):
    o, _ = decide(NORMS.format(s=s))
    assert not proved_by_svd(o)


SEQ = """claim t "iterates"
  let m, n : dim
  let G : matrix[m, n]
  let A : matrix[n, n]
  let U, S, V = svd(G)
  let NS(Y) = (3*Y - Y @ Yᵀ @ Y) / 2
  let {rec}
  show {s}
"""


@pytest.mark.parametrize("rec, s", [
    ("Gs[t+1] = NS(Gs[t]), s[t+1] = (3*s[t] - s[t].^3) / 2, Gs[0] = G, s[0] = S",
     "Gs[t] == U @ diag(s[t]) @ Vᵀ"),
    ("M[t+1] = A @ M[t], M[0] = I[n]", "M[t] == A^t"),
    ("M[t+1] = 2 * M[t] @ A, M[0] = I[n]", "M[t] == 2^t * A^t"),
])
def test_matrix_recurrences_proved_by_induction(rec, s):
    # the plain powers are also proved by an earlier strategy (recurrence-induction-matrix)
    o, notes = decide(SEQ.format(rec=rec, s=s))
    assert o is not None and o.verdict == Verdict.PROVED, notes
    if "svd" in rec or o.strategy == "svd-algebra":
        assert proved_by_svd(o)
        assert o.evidence["base_residual"] == "0" and o.evidence["step_residual"] == "0"


def test_induction_route_itself_proves_powers():
    c = checked(SEQ.format(rec="M[t+1] = 2 * M[t] @ A, M[0] = I[n]", s="M[t] == 2^t * A^t"))
    o = SvdMatrixAlgebra().attempt(Context(c, c.claim.shows[0], 0, Options()))
    assert o is not None and o.verdict == Verdict.PROVED


@pytest.mark.parametrize("rec, s", [
    ("Gs[t+1] = NS(Gs[t]), s[t+1] = (3*s[t] + s[t].^3) / 2, Gs[0] = G, s[0] = S",
     "Gs[t] == U @ diag(s[t]) @ Vᵀ"),                         # the wrong scalar map
    ("Gs[t+1] = NS(Gs[t]), s[t+1] = (3*s[t] - s[t].^3) / 2, Gs[0] = 2 * G, s[0] = S",
     "Gs[t] == U @ diag(s[t]) @ Vᵀ"),                         # the wrong start
    ("M[t+1] = A @ M[t] @ A, M[0] = I[n]", "M[t] == A^t"),
    ("M[t+1] = 2 * M[t] @ A, M[0] = I[n]", "M[t] == 2 * t * A^t"),
])
def test_wrong_closed_forms_not_proved(rec, s):
    o, _ = decide(SEQ.format(rec=rec, s=s))
    assert not proved_by_svd(o)


UNIT = """claim t "unit vectors"
  let n : dim
  let u, v, w : vector[n] unit
  let a : vector[n]
  show {s}
"""


@pytest.mark.parametrize("s", ["u · v <= 1", "-(u · v) <= u · u", "u · v + v · w <= 2 * (w · w)",
                               "1 >= (-u) · v"])
def test_unit_inner_products_bounded(s):
    o, notes = decide(UNIT.format(s=s))
    assert proved_by_svd(o), notes
    assert "Cauchy–Schwarz" in o.summary


@pytest.mark.parametrize("s", ["u · v <= 1/2", "u · v + u · w <= 1", "a · a <= 1", "u · a <= 1",
                               "u · v >= 1"])
def test_unit_bound_never_overreaches(s):
    o, _ = decide(UNIT.format(s=s))
    assert not proved_by_svd(o)


BLOCKS = """claim t "block rows"
  let n, m, k : dim
  let A, B, C : matrix[n, n]
  let W, T : matrix[n, m]
  let Q, R : matrix[n, k]
  let X2 = [I[n], A]
  show {s}
"""


@pytest.mark.parametrize("s", ["[I[n], A, A^2, A^3] == [X2, A^2 @ X2]",
                               "[A, B, W] == [[A, B], W]",
                               "C @ [A, B] == [C @ A, C @ B]"])
def test_block_rows_proved_block_by_block(s):
    o, notes = decide(BLOCKS.format(s=s))
    assert proved_by_svd(o), notes


@pytest.mark.parametrize("s, note", [("[A, B] == [B, A]", "block 1 differs"),
                                     ("C @ [A, B] == [C @ A, B @ C]", "block 2 differs"),
                                     ("[W, Q] == [R, T]", "different widths")])
def test_block_rows_never_overreach(s, note):
    o, notes = decide(BLOCKS.format(s=s))
    assert not proved_by_svd(o)
    assert any(note in n for n in notes), notes
