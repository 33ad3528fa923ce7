"""Entries, index sums, block products, sizes, Kronecker products and matrix recurrences:
each proof route proves the true member of a class and never proves its mutation (the
wrong block order, an off-by-one range, a transposed entry, floor vs ceil, the
coefficient on the wrong side, i = j vs i ≠ j)."""
from __future__ import annotations

import pytest
import sympy as sp

from derive.engine import Context, Options
from derive.language.load import load_text
from derive.limits import time_limit
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.symbolic import ENGINE
from derive.symbolic.kron_split import split_kron
from derive.symbolic.sum_shift import merged_products, shift_sums, unroll_literal


def decide(text: str):
    """The symbolic engine's outcome for the claim's only statement (None: declined)."""
    loaded = load_text(text)
    assert not loaded.broken, [d.message for d in loaded.diagnostics]
    (claim,) = loaded.claims
    checked, diags = check_claim(claim)
    assert checked is not None, [d.message for d in diags]
    with time_limit(30):
        return ENGINE.decide(Context(checked, claim.shows[0], 0, Options(seed=0)))


def proved_by(text: str):
    o = decide(text)
    return o.strategy if o is not None and o.verdict == Verdict.PROVED else None


def claim(decls: str, show: str) -> str:
    return "claim c\n" + "".join(f"  {d.strip()}\n" for d in decls.split(";")) + f"  show {show}\n"


SQ = "let n : dim; let A : matrix[n, n]; let i, j : 1..n"
SYM = "let n : dim; let A : matrix[n, n] symmetric; let v : vector[n]; let i, j : 1..n"


@pytest.mark.parametrize("decls, show, strategy", [
    (SQ, "(A^3)[i, j] == sum(a = 1..n, sum(b = 1..n, A[i, a] * A[a, b] * A[b, j]))", "indexed-sums"),
    (SYM, "(A @ v)[j] == sum(l = 1..n, A[l, j] * v[l])", "indexed-sums"),
    ("let n : dim; let A : matrix[n, n]; let G[t+1] = A @ G[t], G[0] = I[n]",
     "G[t] == A^t", "recurrence-induction-matrix"),
    ("let n : dim; let A, B : matrix[n, n]; let G[t+1] = A @ G[t] @ A, G[0] = B",
     "G[t] == A^t @ B @ A^t", "recurrence-induction-matrix"),
    ("let m, p, q, c : dim; let A : matrix[m, p]; let B : matrix[m, q]; let r : matrix[p, c];"
     " let s : matrix[q, c]", "[A, B] @ [r; s] == A @ r + B @ s", "indexed-sums"),
    ("let n, p : dim; let A, C : matrix[n, n]; let B, D : matrix[p, p]",
     "(A ⊗ B) @ (C ⊗ D) == (A @ C) ⊗ (B @ D)", "indexed-sums"),
    ("let n, p : dim; let A : matrix[n, n]; let B : matrix[p, p]",
     "trace(A ⊗ B) == trace(A) * trace(B)", "indexed-sums"),
    ("let n : dim; assume n >= 2; let k : 1..n - 1; let x : vector[n]",
     "norm(x)^2 == norm(x[1..k])^2 + norm(x[k + 1..n])^2", "indexed-sums"),
    ("let Wd, H, K, S : dim; assume K <= Wd; assume K <= H; let X : matrix[Wd, H]",
     "numel(maxpool(X, K, stride = S)) == (floor((Wd - K)/S) + 1) * (floor((H - K)/S) + 1)",
     "scalar-identity"),
    ("let n : dim; let A : matrix[n, n]; let B : vector[n]; let u : vector[3];"
     " let x[t+1] = A @ x[t] + B * u[t+1], x[0] = zeros(n)",
     "x[2] == A @ B * u[1] + B * u[2]", "recurrence-unrolled"),
    ("let L, d, n : dim; let W : tensor[L, d, d]; let X0 : matrix[d, n];"
     " let Xs[s+1] = Xs[s] + tanh(W[s + 1] @ Xs[s]), Xs[0] = X0",
     "Xs[L] == X0 + sum(l = 0..L - 1, tanh(W[l + 1] @ Xs[l]))", "recurrence-telescoping"),
])
def test_true_members_are_proved(decls, show, strategy):
    assert proved_by(claim(decls, show)) == strategy


@pytest.mark.parametrize("decls, show", [
    (SQ, "(A^3)[i, j] == sum(a = 1..n, sum(b = 1..n, A[a, i] * A[a, b] * A[b, j]))"),
    ("let n : dim; let A : matrix[n, n]; let v : vector[n]; let j : 1..n",
     "(A @ v)[j] == sum(l = 1..n, A[l, j] * v[l])"),            # A not symmetric
    (SQ, "(A^2)[i, j] == sum(l = 1..n - 1, A[i, l] * A[l, j])"),  # off by one
    ("let n : dim; let A, B : matrix[n, n]; let G[t+1] = A @ G[t], G[0] = B",
     "G[t] == B @ A^t"),                                          # coefficient on the wrong side
    ("let n : dim; let A : matrix[n, n]; let G[t+1] = A @ G[t], G[0] = I[n]", "G[t] == A^(t + 1)"),
    ("let m, p, c : dim; let A, B : matrix[m, p]; let r, s : matrix[p, c]",
     "[A, B] @ [s; r] == A @ r + B @ s"),                         # block order
    ("let n : dim; let A, B : matrix[n, n]", "(A ⊗ B)ᵀ == Bᵀ ⊗ Aᵀ"),
    ("let Wd, H, K, S : dim; assume K <= Wd; assume K <= H; let X : matrix[Wd, H]",
     "numel(maxpool(X, K, stride = S)) == (ceil((Wd - K)/S) + 1) * (ceil((H - K)/S) + 1)"),
    ("let n : dim; let γ, β : real; let x : vector[n]; let i, j : 1..n;"
     " let y = γ * (x - mean(x)) + β", "grad(y[j], x)[i] == -γ / n"),  # i = j not excluded
    ("let n : dim; let A : matrix[n, n]; let B : vector[n]; let u : vector[3];"
     " let x[t+1] = A @ x[t] + B * u[t+1], x[0] = zeros(n)", "x[2] == B * u[1] + A @ B * u[2]"),
    ("let L, d, n : dim; let W : tensor[L, d, d]; let X0 : matrix[d, n];"
     " let Xs[s+1] = Xs[s] + tanh(W[s + 1] @ Xs[s]), Xs[0] = X0",
     "Xs[L] == X0 + sum(l = 0..L - 2, tanh(W[l + 1] @ Xs[l]))"),   # one update short
    ("let L, d, n : dim; let W : tensor[L, d, d]; let X0 : matrix[d, n];"
     " let Xs[s+1] = Xs[s] + tanh(W[s + 1] @ Xs[s]), Xs[0] = X0",
     "Xs[L] == X0 + sum(l = 0..L - 1, tanh(W[l + 1] @ Xs[l + 1]))"),  # reads the next state
])
def test_mutations_are_never_proved(decls, show):
    o = decide(claim(decls, show))
    assert o is None or o.verdict != Verdict.PROVED


def test_assumed_distinct_indices_settle_the_delta():
    base = ("let n : dim; let γ, β : real; let x : vector[n]; let i, j : 1..n; {a};"
            " let y = γ * (x - mean(x)) + β")
    assert proved_by(claim(base.format(a="assume i != j"), "grad(y[j], x)[i] == -γ / n"))
    assert proved_by(claim(base.format(a="assume i == j"), "grad(y[j], x)[i] == γ * (1 - 1/n)"))


def test_matrix_recurrence_evidence_states_its_side_conditions():
    o = decide(claim("let n : dim; let A : matrix[n, n]; let G[t+1] = A @ G[t], G[0] = I[n]",
                     "G[t] == A^t"))
    assert any("non-negative integers" in c for c in o.evidence["side_conditions"])


def test_kron_split_reparametrises_a_sum_over_a_product_range():
    k = sp.Symbol("k", integer=True)
    n, p = sp.symbols("n p", integer=True, positive=True)
    x = sp.IndexedBase("x")
    total = sp.Sum(x[sp.ceiling(k / p)] * x[k - (sp.ceiling(k / p) - 1) * p], (k, 1, n * p))
    split, _ = split_kron(total, {})
    assert not split.has(sp.ceiling)
    assert [lim[2] for lim in split.limits] == [p, n]
    # a range that p does not divide is left alone
    assert split_kron(total.subs(n * p, n + p), {})[0].has(sp.ceiling)


def test_shifted_and_literal_sums_normalise():
    i = sp.Symbol("i", integer=True)
    n, k = sp.symbols("n k", integer=True, positive=True)
    x = sp.IndexedBase("x")
    shifted = shift_sums(sp.Sum(x[i - 1], (i, 2, n + 1)))
    assert shifted == sp.Sum(x[i], (i, 1, n))
    split = shift_sums(sp.Sum(x[i + k], (i, 1, n)))
    assert sp.expand(split - (sp.Sum(x[i], (i, 1, n + k)) - sp.Sum(x[i], (i, 1, k)))) == 0
    assert unroll_literal(sp.Sum(x[i], (i, 1, 3))) == x[1] + x[2] + x[3]
    assert unroll_literal(sp.Sum(x[i], (i, 1, n))) == sp.Sum(x[i], (i, 1, n))
    merged = merged_products(sp.Sum(x[i], (i, 1, n)) * sp.Sum(x[i], (i, 1, k)))
    assert isinstance(merged, sp.Sum) and len(merged.limits) == 2


def test_renaming_sums_never_captures_an_inner_index():
    """alpha_normal renames a sum's indices; a sum left inside exp(…) that binds the same
    name must keep its own (else y[b, a] would become y[a, a])."""
    from derive.symbolic.strategies.indexed import alpha_normal
    a, b, c = sp.symbols("a b c", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    x, y, z = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("z")
    s = sp.Sum(x[a] * sp.exp(sp.Sum(y[b, a], (b, 1, n))) * sp.Sum(z[c], (c, 1, n)), (a, 1, n))

    def clashes(e, bound=frozenset()):
        if isinstance(e, (sp.Sum, sp.Product)):  # SymPy may write exp(Σ) as Π exp
            own = {v for v, _, _ in e.limits}
            return bool(own & bound) or clashes(e.function, bound | own)
        return any(clashes(arg, bound) for arg in e.args)
    assert not clashes(alpha_normal(s))
    outer = alpha_normal(s)
    (inner,) = [t for t in sp.preorder_traversal(outer)
                if isinstance(t, (sp.Sum, sp.Product)) and t is not outer]
    (y_entry,) = inner.function.atoms(sp.Indexed)
    assert y_entry.indices[0] != y_entry.indices[1]


ACC = ("let N, D : dim; let X : matrix[N, D]; let i : 1..N;"
       " let s[t+1] = {step}, s[0] = zeros(D)")


def test_running_sum_at_a_symbolic_step():
    assert proved_by(claim(ACC.format(step="s[t] + X[t+1, :]"),
                           "s[i] == sum(j = 1..i, X[j, :])")) == "indexed-sums"
    for step, show in [("s[t] + X[t+1, :]", "s[i] == sum(j = 1..i - 1, X[j, :])"),
                       ("2 * s[t] + X[t+1, :]", "s[i] == sum(j = 1..i, X[j, :])")]:
        o = decide(claim(ACC.format(step=step), show))
        assert o is None or o.verdict != Verdict.PROVED


def test_sequences_and_user_functions_are_typed_by_their_values():
    from derive.analysis import type_of
    from derive import model as m
    text = claim("let n, d : dim; let W : tensor[2, n, d]; let x : vector[d];"
                 " let f(k) = W[k] @ x; let g(v) = v .^ 2; let s[t+1] = s[t] + x, s[0] = x",
                 "f(1) == g(f(2))")
    (c,) = load_text(text).claims
    checked, _ = check_claim(c)
    lhs, rhs = c.shows[0].statement.operands
    assert str(type_of(checked, lhs).shape) == "(n,)"
    assert str(type_of(checked, rhs).shape) == "(n,)"
    term = m.Index(m.Name("s", "s"), (m.Name("t", "t"),))
    assert str(type_of(checked, term).shape) == "(d,)"
