"""Conformance of the one vocabulary (issue #13): every law in derive.vocabulary is
checked across the engines — the numeric sampler against the symbolic moments, the
density against the sampler, the support, the inverse CDF, the quadrature window — and
each engine either implements a law or declines it explicitly.  A new law without an
entry in ``PARAMS`` fails here, so a law cannot be added half-way.

Tolerances: N = 200 000 draws from a fixed seed; a sample mean is accepted within
Z = 6 standard errors of the closed form (σ/√N, σ from the symbolic moments), a sample
variance within Z·√((μ₄ − σ⁴)/N), a frequency within Z·√(p(1 − p)/N): a false failure
has probability below 10⁻⁸ per check, and a law whose mean or variance is off by 1 %
of σ fails.
"""
from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

from derive.decide import decide_claim
from derive.engine import Options
from derive.language.functions import COST_NAMES, DISTRIBUTIONS, RESERVED, STAT_NAMES
from derive.language.load import load_text
from derive.numeric.instances import _Draws
from derive.outcome import Verdict
from derive.semantics import check_claim
from derive.timing.sizes import _SizeDraws
from derive.vocabulary import LAWS, STATISTICS, Declined
from derive.vocabulary.distributions import MEMBERS

N = 200_000
Z = 6.0

# concrete parameters per law (vectors as tensors); every law must have an entry
PARAMS: dict[str, list] = {
    "normal": [0.5, 2.0], "uniform": [-1.0, 3.0], "bernoulli": [0.3], "rademacher": [],
    "categorical": [torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)],
    "exponential": [2.0], "laplace": [1.0, 0.5], "gamma": [2.5, 1.5], "beta": [2.0, 3.0],
    "gumbel": [1.0, 0.5], "student_t": [9.0],
    **{member: [0.5, 2.0] for member in MEMBERS},   # any(mean = …, var = …)'s family
}
ENGINE_PARTS = {"symbolic": ("moment", "outcomes", "exact"),
                "numeric": ("sample", "torch_law", "inverse_cdf", "reparam", "score", "window")}


class _Tensors:
    """The little of an Evaluator the numeric sampler asks for (a vector parameter)."""

    @staticmethod
    def tensor(v):
        return v


def _draw(law, seed: int = 7) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    d = _Draws(_Tensors(), g, N, (), torch.float64, [])
    return law.sample(PARAMS[law.name], d).reshape(-1).to(torch.float64)


def _moments(law) -> list[float]:
    """E[X^k], k = 1..4, from the symbolic engine's closed form."""
    vals = [sp.nsimplify(p) for p in PARAMS[law.name]]
    return [float(law.moment(vals, k)) for k in range(1, 5)]


def _scalar_params(law) -> list[float]:
    return [float(p) for p in PARAMS[law.name]]


# the laws that draw: every law of the language but the moment-only ones (any(…), which
# stand for a family), and the members of those families, which the numeric engine draws
ALL = {**{n: law for n, law in LAWS.items() if not law.family}, **MEMBERS}
LAW_IDS = sorted(ALL)


def test_every_law_has_conformance_parameters():
    assert set(PARAMS) == set(ALL)
    assert set(DISTRIBUTIONS) == set(LAWS)


@pytest.mark.parametrize("name", LAW_IDS)
def test_each_engine_implements_or_declines(name):
    """Each engine part is a callable or None, and None is an explicit Declined."""
    law = ALL[name]
    assert law.sample is not None, "every law needs a sampler (the timing engine uses it too)"
    for engine, parts in ENGINE_PARTS.items():
        for part in parts:
            fn = getattr(law, part)
            if fn is None:
                with pytest.raises(Declined, match="not supported by the"):
                    law.need(part, engine)
            else:
                assert callable(fn) and law.need(part, engine) is fn
    assert law.example.split("(")[0] == name.split(":")[0] and law.doc.startswith(name)
    assert law.arity == (len(law.params), len(law.params))
    for p in law.params:
        assert p.domain in ("real", "positive", "nonnegative", "probability")


@pytest.mark.parametrize("name", [n for n in LAW_IDS if ALL[n].moment is not None])
def test_sampler_mean_and_variance_match_the_symbolic_moments(name):
    law = ALL[name]
    m1, m2, m3, m4 = _moments(law)
    var = m2 - m1 ** 2
    mu4 = m4 - 4 * m3 * m1 + 6 * m2 * m1 ** 2 - 3 * m1 ** 4   # central 4th moment
    x = _draw(law)
    assert abs(float(x.mean()) - m1) <= Z * math.sqrt(var / N)
    # the raw second moment (E[x²] − E[x]² pins the variance; E[x²]'s error is exact)
    assert abs(float((x * x).mean()) - m2) <= Z * math.sqrt(max(m4 - m2 ** 2, 0.0) / N) + 1e-12
    assert var > 0 and mu4 >= var ** 2 * (1 - 1e-9)


@pytest.mark.parametrize("name", LAW_IDS)
def test_the_support_contains_every_draw(name):
    law = ALL[name]
    x = _draw(law)
    assert bool(torch.isfinite(x).all())
    if law.categories:
        lo, hi = 1.0, float(PARAMS[name][0].shape[-1])
    else:
        lo, hi = law.support(_scalar_params(law))
    assert float(x.min()) >= lo and float(x.max()) <= hi
    if law.outcomes is not None:     # only the listed values (a two-point member's are not integers)
        values = torch.tensor([float(v) for v, _ in law.outcomes(_scalar_params(law))],
                              dtype=torch.float64)
        assert bool((x.unsqueeze(1) == values).any(1).all())
    elif law.discrete:
        assert bool((x == x.round()).all())


@pytest.mark.parametrize("name", [n for n in LAW_IDS if ALL[n].torch_law is not None])
def test_the_density_integrates_to_one_and_matches_the_sampler(name):
    """Discrete: the pmf sums to 1 over the outcomes and matches the frequencies.
    Continuous: the density integrates to 1 over the support (or over the middle
    99.98 % of the draws, plus those outside) and each decile bin of the draws has the
    probability the density gives it."""
    law = ALL[name]
    vals = [p if isinstance(p, torch.Tensor) else torch.tensor(p, dtype=torch.float64)
            for p in PARAMS[name]]
    dist = law.torch_law(vals)
    x = _draw(law)
    if law.discrete:
        support = sorted(set(x.tolist()))
        pts = torch.tensor(support, dtype=torch.float64) - law.index_base
        pmf = dist.log_prob(pts).exp().reshape(-1)
        assert float(pmf.sum()) == pytest.approx(1.0, abs=1e-12)
        for v, p in zip(support, pmf.tolist()):
            freq = float((x == v).double().mean())
            assert abs(freq - p) <= Z * math.sqrt(p * (1 - p) / N)
        return
    qs = torch.quantile(x[:100_000], torch.tensor([1e-4, *[i / 10 for i in range(1, 10)],
                                                   1 - 1e-4], dtype=torch.float64))
    lo, hi = law.support(_scalar_params(law))
    qs[0], qs[-1] = max(float(qs[0]), lo), min(float(qs[-1]), hi)

    def mass(a: float, b: float) -> float:
        t = torch.linspace(a, b, 20_001, dtype=torch.float64)
        inner = t[1:-1] if b == hi or a == lo else t       # a density may be infinite at an end
        return float(torch.trapezoid(dist.log_prob(inner).exp(), inner))

    total = sum(mass(float(a), float(b)) for a, b in zip(qs, qs[1:]))
    outside = float(((x < qs[0]) | (x > qs[-1])).double().mean())
    assert total + outside == pytest.approx(1.0, abs=2e-3)
    for a, b in zip(qs[1:-2], qs[2:-1]):
        p = mass(float(a), float(b))
        freq = float(((x > a) & (x <= b)).double().mean())
        assert abs(freq - p) <= Z * math.sqrt(p * (1 - p) / N) + 1e-4


@pytest.mark.parametrize("name", [n for n in LAW_IDS if ALL[n].inverse_cdf is not None])
def test_the_inverse_cdf_agrees_with_the_sampler(name):
    """The inverse CDF pushes uniforms to the sampler's law (RQMC and plain Monte Carlo
    draw the same thing): on an even grid of M uniforms, the fraction of images ≤ q
    matches the fraction of draws ≤ q at the draws' deciles (discrete: each value)."""
    law = ALL[name]
    x = _draw(law)
    m = 100_000
    u = (torch.arange(m, dtype=torch.float64) + 0.5) / m
    y = law.inverse_cdf(_scalar_params(law), u)
    if law.discrete:
        points = sorted(set(x.tolist()))
    else:
        points = torch.quantile(x[:100_000], torch.linspace(0.05, 0.95, 19,
                                                            dtype=torch.float64)).tolist()
    for q in points:
        p = float((y <= q).double().mean())
        assert abs(float((x <= q).double().mean()) - p) <= Z * math.sqrt(p * (1 - p) / N) + 2 / m


@pytest.mark.parametrize("name", [n for n in LAW_IDS if ALL[n].window is not None])
def test_the_quadrature_window_holds_the_law(name):
    """∫ density = 1 and ∫ x · density = E[x] over the window (Gauss–Legendre per panel)."""
    law = ALL[name]
    win = law.window(_scalar_params(law))
    gx, gw = (torch.tensor(a, dtype=torch.float64) for a in __import__("numpy")
              .polynomial.legendre.leggauss(16))
    edges = torch.linspace(win.lo, win.hi, 4 * round((win.hi - win.lo) / win.width) + 1,
                           dtype=torch.float64)
    a, b = edges[:-1].unsqueeze(1), edges[1:].unsqueeze(1)
    t = (a + b) / 2 + (b - a) / 2 * gx
    w = (b - a) / 2 * gw * win.density(t)
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-8)
    mean = _moments(law)[0] if law.moment is not None else float(_draw(law).mean())
    assert float((w * win.to_x(t)).sum()) == pytest.approx(mean, rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("name", [n for n in LAW_IDS if ALL[n].outcomes is not None])
def test_finite_outcomes_match_the_sampler(name):
    law = ALL[name]
    x = _draw(law)
    outs = law.outcomes(_scalar_params(law))
    assert sum(float(p) for _, p in outs) == pytest.approx(1.0)
    for v, p in outs:
        p = float(p)
        assert abs(float((x == v).double().mean()) - p) <= Z * math.sqrt(p * (1 - p) / N)


@pytest.mark.parametrize("name", LAW_IDS)
def test_a_law_called_symmetric_draws_symmetrically(name):
    """The equivalence engine negates draws of a law whose ``symmetric`` holds: on the
    law's example, such a sampler's x and −x have the same deciles' frequencies."""
    from derive.vocabulary.distributions import args_of
    law = ALL[name]
    text = f"claim t\n  let n : dim\n  let x : real ~ {law.example}\n  show E[x] == E[x]\n"
    (claim,) = load_text(text).claims
    dist = next(st.dist for st in claim.statements if getattr(st, "dist", None) is not None)
    assert law.symmetric(args_of(dist)) == (name in ("normal", "rademacher", "laplace", "student_t"))
    if not law.symmetric(args_of(dist)):
        return
    params = [float(a.value) for a in args_of(dist)]     # the example's numbers
    d = _Draws(_Tensors(), torch.Generator().manual_seed(7), N, (), torch.float64, [])
    x = law.sample(params, d).reshape(-1)
    for q in torch.quantile(x[:100_000].abs(), torch.linspace(0.1, 0.9, 9,
                                                              dtype=torch.float64)).tolist():
        p = float((x >= q).double().mean())
        assert abs(float((x <= -q).double().mean()) - p) <= Z * math.sqrt(2 * p / N) + 1e-12


@pytest.mark.parametrize("name", [n for n in LAW_IDS if not ALL[n].categories])
def test_the_timing_engine_draws_with_the_same_sampler(name):
    """timing/sizes.py has no sampler of its own: same seed, same law, same numbers."""
    law = ALL[name]
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = law.sample(_scalar_params(law), _Draws(_Tensors(), g1, 64, (), torch.float64, []))
    b = law.sample(_scalar_params(law), _SizeDraws((64,), g2))
    assert torch.equal(a.reshape(-1).double(), b.reshape(-1).double())


def test_a_law_without_a_sampler_is_refused_by_timing_not_drawn_as_a_normal(monkeypatch):
    """timing/sizes.py used to draw any unknown law as a normal; now a law that lacks a
    sampler is a SizeError (the timing engine cannot measure), never a substitute."""
    from dataclasses import replace

    from derive.timing import sizes
    (claim,) = load_text("claim t\n  let n : dim\n  let A : matrix[n, n] ~ gamma(2, 1)\n"
                         "  show E[A[1, 1]] == 2\n").claims
    checked, diags = check_claim(claim)
    assert checked is not None, [d.message for d in diags]
    info = checked.symbols["A"]
    x = sizes._sample_tensor(info, (3, 3), torch.Generator().manual_seed(0), {"n": 3}, checked)
    assert bool((x > 0).all())                      # gamma draws, not normal ones
    monkeypatch.setitem(LAWS, "gamma", replace(LAWS["gamma"], sample=None))
    with pytest.raises(sizes.SizeError, match="not supported by the timing engine"):
        sizes._sample_tensor(info, (3, 3), torch.Generator().manual_seed(0), {"n": 3}, checked)


# ------------------------------------------------------------------ statistic names
def test_statistic_names_are_written_once():
    """Every statistic parses as a statistic, is reserved, and formats as one (spaces
    inside its brackets, unlike an index x[t+1])."""
    from derive import model as m
    from derive.fmt import format_claims
    from derive.language.transform import COST_OPS, STAT_OPS

    assert STAT_OPS == STAT_NAMES == set(STATISTICS) and COST_OPS == COST_NAMES
    for s in STATISTICS:
        assert s in RESERVED
        inner = {"Cov": "x+1, x", "P": "x+1 > 0"}.get(s, "x+1")
        text = f"claim t\n  let x : real ~ normal(0, 1)\n  show {s}[{inner}] == {s}[{inner}]\n"
        (claim,) = load_text(text).claims
        st = claim.shows[0].statement
        assert isinstance(st.operands[0], m.Stat) and st.operands[0].kind == s
        assert format_claims(text).count(f"{s}[x + 1") == 2


# ------------------------------------------------------------------ end to end
def _verdict(text: str) -> Verdict:
    (claim,) = load_text(text).claims
    checked, diags = check_claim(claim)
    assert checked is not None, [d.message for d in diags]
    return decide_claim(checked, Options(seed=0))[0]


@pytest.mark.parametrize("law,show,expected", [
    ("laplace(0, 1)", "E[x^2] == 2", {Verdict.PROVED, Verdict.VERIFIED}),
    ("laplace(0, 1)", "E[x^2] == 1", {Verdict.REFUTED}),
    ("laplace(2, 3)", "Var[x] == 18", {Verdict.PROVED, Verdict.VERIFIED}),
    ("gamma(3, 2)", "E[x] == 6", {Verdict.PROVED, Verdict.VERIFIED}),
    ("gamma(3, 2)", "Var[x] == 12", {Verdict.PROVED, Verdict.VERIFIED}),
    ("gamma(3, 2)", "Var[x] == 6", {Verdict.REFUTED}),
    ("beta(2, 3)", "E[x] == 2/5", {Verdict.PROVED, Verdict.VERIFIED}),
    ("gamma(2, 1)", "E[sqrt(x)] ≈ 1.329340388 rel 0.01", {Verdict.VERIFIED}),
    ("gamma(2, 1)", "E[sqrt(x)] ≈ 1.5 rel 0.01", {Verdict.REFUTED}),
])
def test_claims_about_the_new_laws(law, show, expected):
    text = f"claim t\n  let x : real ~ {law}\n  show {show}\n"
    assert _verdict(text) in expected


def test_a_parameter_outside_its_domain_is_an_error():
    (claim,) = load_text("claim t\n  let x : real ~ gamma(2, -1)\n  show E[x] == -2\n").claims
    checked, diags = check_claim(claim)
    assert checked is None and "scale of gamma" in diags[0].message
    (claim,) = load_text("claim t\n  let b : real\n  let x : real ~ laplace(0, b)\n"
                         "  show E[x] == 0\n").claims
    checked, diags = check_claim(claim)
    assert checked is None and "let b : real > 0" in (diags[0].hint or "")


def test_gamma_and_beta_stay_free_as_variable_names():
    """γ and β (spelled gamma, beta) are a normalisation's scale and shift."""
    text = ("claim t\n  let γ, β : real\n  let x : real ~ gamma(2, 1)\n"
            "  show γ * E[x] + β == 2 * γ + β\n")
    assert _verdict(text) == Verdict.PROVED


def test_a_law_an_engine_lacks_is_declined_not_substituted():
    """categorical has no inverse CDF: RQMC lays out no coordinates (plain Monte Carlo);
    a grad through gamma's shape is not supported, so no verdict comes from it."""
    from derive.numeric import rqmc
    text = "claim t\n  let i : integer ~ categorical([0.5, 0.5])\n  show E[i] == 3/2\n"
    (claim,) = load_text(text).claims
    checked, _ = check_claim(claim)
    assert rqmc.layout(checked, {"i"}, {"i": ()}) is None
    for law in ("laplace(0, 1)", "gamma(2, 1)", "beta(2, 3)"):
        text = f"claim t\n  let x : real ~ {law}\n  show E[x] == 2\n"
        (claim,) = load_text(text).claims
        checked, _ = check_claim(claim)
        assert rqmc.layout(checked, {"x"}, {"x": ()}) is not None     # these have one
    text = ("claim t\n  let k : real > 0\n  let x : real ~ gamma(k, 1)\n"
            "  show grad(E[sqrt(x)], k) ≈ 100 rel 0.01\n")
    assert _verdict(text) in {Verdict.INCONCLUSIVE, Verdict.UNSUPPORTED}


def test_the_vocabulary_imports_neither_torch_nor_sympy():
    """The language layer imports the vocabulary; the engines' parts import lazily."""
    import subprocess
    import sys
    code = ("import sys, derive.vocabulary, derive.language.functions\n"
            "print('torch' in sys.modules, 'sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]
