"""Every distribution of the claim language as one object, with its meaning per engine.

A :class:`Law` states the name, the parameters with their domains (the semantic pass
proves each parameter inside its domain), the support, discreteness, an example, and
for each engine the meaning that engine needs:

* symbolic — ``moment(args, k)`` = E[X^k] in closed form (SymPy), ``outcomes(args)`` for
  a finitely-valued law, ``exact(args, w)`` = the law as an integral over a standard
  variable ``w`` (for exact expectations of piecewise functions);
* numeric — ``sample(args, draws)`` (the Monte-Carlo sampler, also used by the timing
  engine), ``torch_law(args)`` (pdf/logpdf/cdf/KL), ``inverse_cdf(args, u)`` (RQMC),
  ``reparam`` / ``score`` (gradients of expectations), ``window(args)`` (quadrature);
* equivalence — ``symmetric(args)``: the law is symmetric about 0.

A field left ``None`` means "not supported by this engine": the engine declines (an
``unsupported``/inconclusive answer with a note), it never substitutes another law.
An engine part may also raise :class:`Declined` for particular parameter values.

Nothing here runs at import time but dataclass construction: torch and sympy are
imported inside the per-engine functions, so the language layer can import this.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Optional, Protocol


class Declined(Exception):
    """This engine cannot use this law (or these parameter values): decline, never guess."""


@dataclass(frozen=True)
class Param:
    """One parameter: its name and domain.  ``domain`` is one of ``real``, ``positive``,
    ``nonnegative``, ``probability``; ``density_domain`` a stricter one inside a density
    (pdf/logpdf/cdf/KL); ``matrix``: may also be a covariance matrix (psd checks)."""

    name: str
    domain: str
    words: str = ""
    density_domain: Optional[str] = None
    density_words: str = ""
    decl: Optional[str] = None
    matrix: bool = False


class Draws(Protocol):
    """What a sampler may ask of the engine that draws: uniform and normal tensors of
    the full (batch, *shape) size from the engine's seeded generator, parameter reading,
    and a domain check that marks or rejects bad parameters."""

    full: tuple
    dtype: Any
    device: Any

    def rand(self) -> Any: ...
    def randn(self) -> Any: ...
    def randbit(self) -> Any: ...
    def num(self, v: Any) -> Any: ...
    def vector(self, v: Any) -> Any: ...
    def is_matrix(self, v: Any) -> bool: ...
    def mvn(self, mean: Any, cov: Any) -> Any: ...
    def multinomial(self, w: Any) -> Any: ...
    def require(self, ok: Any, message: str, value: Any) -> None: ...


@dataclass(frozen=True)
class Exact:
    """The law of X as ``x(w)`` for a standard variable ``w`` on ``[lo, hi]`` with
    ``density`` (None: the standard normal, integrated in closed form by gauss.py);
    ``positive`` must be provably > 0 (else decline); ``conds`` for sympy.integrate."""

    x: Any
    lo: Any
    hi: Any
    density: Any
    positive: tuple
    conds: str = "piecewise"


@dataclass(frozen=True)
class Window:
    """A continuous law for quadrature: x = to_x(t) for t on [lo, hi] (panels of
    ``width``) with density ``density(t)`` in t."""

    lo: float
    hi: float
    width: float
    to_x: Callable
    density: Callable


@dataclass(frozen=True)
class Law:
    """One distribution: its language facts and each engine's meaning (None: unsupported)."""

    name: str
    params: tuple[Param, ...]
    discrete: bool
    example: str
    doc: str
    support: Callable[[list[float]], tuple[float, float]]
    fallback: Optional[tuple[float, ...]] = None   # parameters when none can be computed
    ordered: bool = False                          # params[0] < params[1] (uniform)
    categories: bool = False                       # values 1..len(w) with weights w
    reserved: bool = True   # False: the name stays free for variables (γ → gamma, β → beta)
    keywords: bool = False  # parameters written by name only: any(mean = μ, var = v)
    family: tuple = ()      # a moment-only law: groups of laws the numeric engine checks
    # symbolic
    moment: Optional[Callable[[list, int], Any]] = None
    outcomes: Optional[Callable[[list], list]] = None
    exact: Optional[Callable[[list, Any], Exact]] = None
    # numeric
    sample: Optional[Callable[[list, Draws], Any]] = None
    torch_law: Optional[Callable[[list], Any]] = None
    index_base: int = 0
    inverse_cdf: Optional[Callable[[list, Any], Any]] = None
    reparam: Optional[Callable[[Any, tuple, Any, Any], Any]] = None
    score: Optional[Callable[[Any, tuple, Any], Any]] = None
    window: Optional[Callable[[list[float]], Window]] = None
    # equivalence
    symmetric: Callable[[tuple], bool] = lambda args: False

    @property
    def arity(self) -> tuple[int, int]:
        return len(self.params), len(self.params)

    def need(self, what: str, engine: str) -> Callable:
        """The engine part ``what``, or :class:`Declined` saying this engine lacks it."""
        part = getattr(self, what)
        if part is None:
            raise Declined(f"{self.name}: {what.replace('_', ' ')} is not supported by the "
                           f"{engine} engine")
        return part


# ------------------------------------------------------------------ helpers
def _sympy() -> Any:
    """SymPy, imported when a symbolic part is first used (not by the language layer)."""
    import sympy
    return sympy


def _torch() -> Any:
    """torch, imported when a numeric part is first used (not by the language layer)."""
    import torch
    return torch


def _is_zero(e: Any) -> bool:
    from derive import model as m
    return (isinstance(e, m.Num) and e.value == 0 and not e.imaginary) or \
        (isinstance(e, m.Call) and e.func == "zeros")


def _is_negation(a: Any, b: Any) -> bool:
    from derive import model as m
    return isinstance(a, m.Unary) and a.op == "-" and a.operand == b


def _poly_moment(loc: Any, scale: Any, k: int, std: Callable[[int], Any]) -> Any:
    """E[(loc + scale·W)^k] from the moments ``std(j)`` = E[W^j] of a standard W."""
    import sympy as sp
    return sp.expand(sum(sp.binomial(k, j) * loc ** (k - j) * scale ** j * std(j)
                         for j in range(k + 1)))


def _sd(v: Any) -> Any:
    import torch
    return math.sqrt(v) if not isinstance(v, torch.Tensor) else v.sqrt()


def _standard_gamma(k: Any, d: Draws) -> Any:
    """Gamma(k, 1) draws by Marsaglia–Tsang (k < 1: boosted by U^(1/k)), using only the
    engine's seeded uniforms and normals so a run is reproducible."""
    import torch
    kt = torch.as_tensor(k, dtype=torch.float64, device=d.device) \
        * torch.ones(d.full, dtype=torch.float64, device=d.device)
    boost = kt < 1
    a = torch.where(boost, kt + 1, kt)
    dd = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * dd)
    out = torch.full(d.full, float("nan"), dtype=torch.float64, device=kt.device)
    todo = kt > 0   # members with a shape ≤ 0 are invalid (require() marked them): no loop
    for _ in range(200):   # acceptance ≥ 95 % per round: 200 rounds never run out
        z = d.randn().to(torch.float64)
        u = d.rand().to(torch.float64)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z * z + dd - dd * v
                        + dd * torch.log(v.clamp_min(1e-300)))
        out = torch.where(todo & ok, dd * v, out)
        todo = todo & ~ok
        if not bool(todo.any()):
            break
    u = d.rand().to(torch.float64)
    return torch.where(boost, out * u ** (1.0 / kt), out)


def _scipy_quantile(fn: Callable, params: list, u: Any, scale: Any = 1.0) -> Any:
    """A quantile SciPy computes (``gammaincinv``, ``betaincinv``) at uniforms ``u``,
    back as a float64 tensor on u's device (params: floats or tensors broadcasting with u)."""
    import numpy as np
    import torch

    def arr(v: Any) -> Any:
        return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v
    out = np.asarray(fn(*[arr(p) for p in params], arr(u)), dtype=np.float64) * arr(scale)
    return torch.from_numpy(np.ascontiguousarray(out)).to(u.device)


def _requires_grad(v: Any) -> bool:
    return bool(getattr(v, "requires_grad", False))


# ------------------------------------------------------------------ normal
def _normal_moment(args: list, k: int) -> Any:
    import sympy as sp
    mu, var = args
    return sp.expand(sum(sp.binomial(k, 2 * j) * mu ** (k - 2 * j) * var ** j
                         * sp.factorial2(2 * j - 1) for j in range(k // 2 + 1)))


def _normal_exact(args: list, w: Any) -> Exact:
    import sympy as sp
    mu, var = args
    return Exact(mu + sp.sqrt(var) * w, -sp.oo, sp.oo, None, (sp.sqrt(var),))


def _normal_sample(args: list, d: Draws) -> Any:
    mu, var = d.num(args[0]), args[1]
    if d.is_matrix(var):
        return d.mvn(mu, var)
    v = d.num(var)
    d.require(v >= 0, "normal(μ, v) needs a variance v ≥ 0", v)
    sd, z = _sd(v), d.randn()
    if isinstance(sd, float) and sd == 1.0 and isinstance(mu, float) and mu == 0.0:
        return z
    return z * sd + mu


def _normal_torch(vals: list) -> Any:
    import torch
    D = torch.distributions
    mu, var = vals
    if var.dim() - 1 == 2:
        return D.MultivariateNormal(mu, covariance_matrix=var)
    return D.Normal(mu, var.sqrt())


def _normal_icdf(args: list, u: Any) -> Any:
    import torch
    mu, var = args
    return math.sqrt(2.0) * torch.erfinv(2 * u - 1) * _sd(var) + mu


def _normal_reparam(x: Any, args: tuple, ev0: Any, ev1: Any) -> Any:
    import torch
    mu0, mu1 = ev0.ev(args[0]), ev1.ev(args[0])
    v0, v1 = ev0.ev(args[1]), ev1.ev(args[1])
    if isinstance(v1, torch.Tensor) and v1.dim() - 1 == 2:  # a covariance matrix (batched)
        if v1.requires_grad:
            raise Declined("grad with respect to a covariance matrix is not supported")
        return ev1.binop("+", x, ev1.binop("-", mu1, mu0))
    sd0 = torch.sqrt(ev0.tensor(v0).to(x.dtype))
    sd1 = torch.sqrt(ev1.tensor(v1).to(x.dtype))
    eps = ev0.binop("/", ev0.binop("-", x, mu0), sd0)
    return ev1.binop("+", mu1, ev1.binop("*", sd1, eps))


def _normal_window(args: list[float]) -> Window:
    import torch
    mu, var = args
    if not var > 0:
        raise Declined("normal with variance 0")
    sd = math.sqrt(var)
    return Window(-38.0, 38.0, 0.5, lambda t: mu + sd * t,
                  lambda t: torch.exp(-t * t / 2) / math.sqrt(2 * math.pi))


NORMAL = Law(
    "normal",
    (Param("μ", "real"),
     Param("v", "nonnegative", "the variance of normal(μ, v) must be ≥ 0", "positive",
           "the variance of normal(μ, v) in a density must be > 0", "real > 0", matrix=True)),
    discrete=False, example="normal(0, 1)", fallback=(0.0, 1.0),
    doc="normal(μ, v): mean μ, variance v (not the standard deviation); v may be a "
        "covariance matrix", support=lambda p: (-math.inf, math.inf),
    moment=_normal_moment, exact=_normal_exact, sample=_normal_sample, torch_law=_normal_torch,
    inverse_cdf=_normal_icdf, reparam=_normal_reparam, window=_normal_window,
    symmetric=lambda args: bool(args) and _is_zero(args[0]))


# ------------------------------------------------------------------ uniform
def _uniform_exact(args: list, w: Any) -> Exact:
    a, b = args
    return Exact(w, a, b, 1 / (b - a), (b - a,))


def _uniform_sample(args: list, d: Draws) -> Any:
    a, b = d.num(args[0]), d.num(args[1])
    d.require(b - a >= 0, "uniform(a, b) needs a ≤ b", b - a)
    return a + (b - a) * d.rand()


def _uniform_reparam(x: Any, args: tuple, ev0: Any, ev1: Any) -> Any:
    a0, b0 = ev0.ev(args[0]), ev0.ev(args[1])
    a1, b1 = ev1.ev(args[0]), ev1.ev(args[1])
    u = ev0.binop("/", ev0.binop("-", x, a0), ev0.binop("-", b0, a0))
    return ev1.binop("+", a1, ev1.binop("*", ev1.binop("-", b1, a1), u))


def _uniform_window(args: list[float]) -> Window:
    import torch
    a, b = args
    return Window(0.0, 1.0, 0.125, lambda t: a + (b - a) * t, torch.ones_like)


UNIFORM = Law(
    "uniform", (Param("a", "real"), Param("b", "real")), discrete=False,
    example="uniform(0, 1)", fallback=(0.0, 1.0), ordered=True,
    doc="uniform(a, b): uniform on [a, b], a < b", support=lambda p: (p[0], p[1]),
    moment=lambda args, k: _sympy().cancel(
        (args[1] ** (k + 1) - args[0] ** (k + 1)) / ((k + 1) * (args[1] - args[0]))),
    exact=_uniform_exact, sample=_uniform_sample,
    torch_law=lambda v: _torch().distributions.Uniform(v[0], v[1]),
    inverse_cdf=lambda p, u: p[0] + (p[1] - p[0]) * u, reparam=_uniform_reparam,
    window=_uniform_window,
    symmetric=lambda args: len(args) == 2 and _is_negation(args[0], args[1]))


# ------------------------------------------------------------------ bernoulli, rademacher
def _bernoulli_sample(args: list, d: Draws) -> Any:
    import torch
    p = d.num(args[0])
    d.require((p >= 0) & (p <= 1) if isinstance(p, torch.Tensor) else 0 <= p <= 1,
              "bernoulli(p) needs 0 ≤ p ≤ 1", p)
    z = d.rand()
    return (z < p).to(z.dtype)


def _bernoulli_score(x: Any, args: tuple, ev1: Any) -> Any:
    import torch
    p = ev1.ev(args[0])
    one = ev1.binop("*", x, torch.log(ev1.tensor(p)))
    zero = ev1.binop("*", 1 - x, torch.log(1 - ev1.tensor(p)))
    lp = ev1.tensor(ev1.binop("+", one, zero))
    return lp.reshape(lp.shape[0], -1).sum(-1)


BERNOULLI = Law(
    "bernoulli", (Param("p", "probability", "the parameter of bernoulli(p) must lie in [0, 1]",
                        decl="real in [0, 1]"),),
    discrete=True, example="bernoulli(1/2)", fallback=(0.5,),
    doc="bernoulli(p): 1 with probability p, else 0", support=lambda p: (0.0, 1.0),
    moment=lambda args, k: args[0], outcomes=lambda a: [(0, 1 - a[0]), (1, a[0])],
    sample=_bernoulli_sample,
    torch_law=lambda v: _torch().distributions.Bernoulli(probs=v[0]),
    inverse_cdf=lambda p, u: (u < p[0]).to(u.dtype), score=_bernoulli_score)


def _rademacher_sample(args: list, d: Draws) -> Any:
    return d.randbit() * 2 - 1


def _rademacher_icdf(args: list, u: Any) -> Any:
    import torch
    return torch.where(u < 0.5, -1.0, 1.0).to(u.dtype)


RADEMACHER = Law(
    "rademacher", (), discrete=True, example="rademacher", fallback=(),
    doc="rademacher: ±1 with probability 1/2 each (written without parentheses)",
    support=lambda p: (-1.0, 1.0),
    moment=lambda args, k: _sympy().Integer(1 if k % 2 == 0 else 0),
    outcomes=lambda a: [(-1, Fraction(1, 2)), (1, Fraction(1, 2))],
    sample=_rademacher_sample, inverse_cdf=_rademacher_icdf,
    symmetric=lambda args: True)


# ------------------------------------------------------------------ categorical
def _categorical_sample(args: list, d: Draws) -> Any:
    w = d.vector(args[0])
    d.require(bool((w >= 0).all()) and float(w.sum()) > 0,
              "categorical(w) needs weights w ≥ 0 that are not all 0", w)
    return d.multinomial(w / w.sum()) + 1


CATEGORICAL = Law(
    "categorical", (Param("w", "nonnegative", "the weights of categorical(w) must be ≥ 0"),),
    discrete=True, example="categorical(ones(n) / n)", categories=True,
    doc="categorical(w): the value i ∈ 1..len(w) with probability w[i] / Σ w",
    support=lambda p: (1.0, math.inf), sample=_categorical_sample,
    torch_law=lambda v: _torch().distributions.Categorical(probs=v[0]),
    index_base=1)


# ------------------------------------------------------------------ exponential
def _exponential_exact(args: list, w: Any) -> Exact:
    import sympy as sp
    rate = args[0]
    return Exact(w, sp.Integer(0), sp.oo, rate * sp.exp(-rate * w), (rate,), "none")


def _exponential_sample(args: list, d: Draws) -> Any:
    import torch
    rate = d.num(args[0])
    d.require(rate > 0, "exponential(λ) needs a rate λ > 0", rate)
    return -torch.log1p(-d.rand()) / rate


def _exponential_window(args: list[float]) -> Window:
    import torch
    rate = args[0]
    if not rate > 0:
        raise Declined("exponential rate not positive")
    return Window(0.0, 740.0, 0.5, lambda t: t / rate, lambda t: torch.exp(-t))


EXPONENTIAL = Law(
    "exponential", (Param("λ", "positive", "the rate of exponential(λ) must be > 0",
                          decl="real > 0"),),
    discrete=False, example="exponential(2)", fallback=(1.0,),
    doc="exponential(λ): rate λ > 0, mean 1/λ", support=lambda p: (0.0, math.inf),
    moment=lambda args, k: _sympy().factorial(k) / args[0] ** k,
    exact=_exponential_exact, sample=_exponential_sample,
    torch_law=lambda v: _torch().distributions.Exponential(v[0]),
    inverse_cdf=lambda p, u: -_torch().log1p(-u) / p[0],
    reparam=lambda x, args, ev0, ev1: ev1.binop(
        "/", ev1.binop("*", x, ev0.ev(args[0])), ev1.ev(args[0])),
    window=_exponential_window)


# ------------------------------------------------------------------ laplace
def _laplace_moment(args: list, k: int) -> Any:
    import sympy as sp
    mu, b = args
    return _poly_moment(mu, b, k, lambda j: sp.factorial(j) if j % 2 == 0 else sp.Integer(0))


def _laplace_sample(args: list, d: Draws) -> Any:
    mu, b = d.num(args[0]), d.num(args[1])
    d.require(b > 0, "laplace(μ, b) needs a scale b > 0", b)
    # the difference of two exponentials: finite for every uniform the generator gives
    # (the quantile at u = 0 would be −∞, and float32 draws hit 0 once in 2^24)
    import torch
    e1, e2 = -torch.log1p(-d.rand()), -torch.log1p(-d.rand())
    return mu + b * (e1 - e2)


def _laplace_icdf(args: list, u: Any) -> Any:
    import torch
    mu, b = args
    s = u - 0.5
    # −sign(s)·log(1 − 2|s|): the standard Laplace quantile (log1p keeps the centre exact)
    return mu - b * torch.sign(s) * torch.log1p(-2 * s.abs())


def _laplace_reparam(x: Any, args: tuple, ev0: Any, ev1: Any) -> Any:
    mu0, mu1 = ev0.ev(args[0]), ev1.ev(args[0])
    b0, b1 = ev0.ev(args[1]), ev1.ev(args[1])
    eps = ev0.binop("/", ev0.binop("-", x, mu0), b0)
    return ev1.binop("+", mu1, ev1.binop("*", b1, eps))


def _laplace_window(args: list[float]) -> Window:
    import torch
    mu, b = args
    if not b > 0:
        raise Declined("laplace scale not positive")
    return Window(-740.0, 740.0, 0.5, lambda t: mu + b * t, lambda t: torch.exp(-t.abs()) / 2)


LAPLACE = Law(
    "laplace", (Param("μ", "real"),
                Param("b", "positive", "the scale of laplace(μ, b) must be > 0",
                      decl="real > 0")),
    discrete=False, example="laplace(0, 1)", fallback=(0.0, 1.0),
    doc="laplace(μ, b): density exp(−|x − μ|/b) / (2b); mean μ, variance 2b²",
    support=lambda p: (-math.inf, math.inf),
    moment=_laplace_moment, sample=_laplace_sample,
    torch_law=lambda v: _torch().distributions.Laplace(v[0], v[1]),
    inverse_cdf=_laplace_icdf, reparam=_laplace_reparam, window=_laplace_window,
    symmetric=lambda args: bool(args) and _is_zero(args[0]))


# ------------------------------------------------------------------ gamma
def _gamma_moment(args: list, k: int) -> Any:
    import sympy as sp
    shape, scale = args
    return sp.expand(sp.Mul(*[(shape + r) * scale for r in range(k)]))


def _gamma_sample(args: list, d: Draws) -> Any:
    k, theta = d.num(args[0]), d.num(args[1])
    d.require(k > 0, "gamma(k, θ) needs a shape k > 0", k)
    d.require(theta > 0, "gamma(k, θ) needs a scale θ > 0", theta)
    g = _standard_gamma(k, d)
    return (g * theta).to(d.dtype)


def _gamma_icdf(args: list, u: Any) -> Any:
    from scipy.special import gammaincinv
    return _scipy_quantile(gammaincinv, [args[0]], u, args[1])


def _gamma_reparam(x: Any, args: tuple, ev0: Any, ev1: Any) -> Any:
    if _requires_grad(ev1.ev(args[0])):
        raise Declined("grad of an expectation with respect to the shape of gamma(k, θ) "
                            "is not supported (its scale θ is)")
    return ev1.binop("/", ev1.binop("*", x, ev1.ev(args[1])), ev0.ev(args[1]))


def _gamma_window(args: list[float]) -> Window:
    import torch
    k, theta = args
    if not (k >= 1 and theta > 0):
        raise Declined("gamma with shape < 1 has an unbounded density: no quadrature")
    lg = math.lgamma(k)

    def density(t: Any) -> Any:
        return torch.exp((k - 1) * torch.log(t.clamp_min(1e-300)) - t - lg)
    return Window(0.0, 740.0 + 4.0 * k, 0.5, lambda t: theta * t, density)


GAMMA = Law(
    "gamma", (Param("k", "positive", "the shape of gamma(k, θ) must be > 0", decl="real > 0"),
              Param("θ", "positive", "the scale of gamma(k, θ) must be > 0", decl="real > 0")),
    discrete=False, example="gamma(2, 1)", fallback=(2.0, 1.0), reserved=False,
    doc="gamma(k, θ): shape k, scale θ (not rate); mean kθ, variance kθ²",
    support=lambda p: (0.0, math.inf),
    moment=_gamma_moment, sample=_gamma_sample, inverse_cdf=_gamma_icdf,
    torch_law=lambda v: _torch().distributions.Gamma(v[0], 1 / v[1]),
    reparam=_gamma_reparam, window=_gamma_window)


# ------------------------------------------------------------------ beta
def _beta_moment(args: list, k: int) -> Any:
    import sympy as sp
    a, b = args
    return sp.Mul(*[(a + r) / (a + b + r) for r in range(k)])


def _beta_sample(args: list, d: Draws) -> Any:
    a, b = d.num(args[0]), d.num(args[1])
    d.require(a > 0, "beta(a, b) needs a > 0", a)
    d.require(b > 0, "beta(a, b) needs b > 0", b)
    x, y = _standard_gamma(a, d), _standard_gamma(b, d)
    return (x / (x + y)).to(d.dtype)


def _beta_icdf(args: list, u: Any) -> Any:
    from scipy.special import betaincinv
    return _scipy_quantile(betaincinv, [args[0], args[1]], u)


def _beta_window(args: list[float]) -> Window:
    import torch
    a, b = args
    if not (a >= 1 and b >= 1):
        raise Declined("beta with a parameter < 1 has an unbounded density: no quadrature")
    lb = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def density(t: Any) -> Any:
        t = t.clamp(1e-300, 1 - 1e-16)
        return torch.exp((a - 1) * torch.log(t) + (b - 1) * torch.log1p(-t) - lb)
    return Window(0.0, 1.0, 0.125, lambda t: t, density)


BETA = Law(
    "beta", (Param("a", "positive", "the parameter a of beta(a, b) must be > 0",
                   decl="real > 0"),
             Param("b", "positive", "the parameter b of beta(a, b) must be > 0",
                   decl="real > 0")),
    discrete=False, example="beta(2, 3)", fallback=(2.0, 2.0), reserved=False,
    doc="beta(a, b): density ∝ x^(a−1)(1 − x)^(b−1) on [0, 1]; mean a/(a + b)",
    support=lambda p: (0.0, 1.0),
    moment=_beta_moment, sample=_beta_sample, inverse_cdf=_beta_icdf,
    torch_law=lambda v: _torch().distributions.Beta(v[0], v[1]),
    window=_beta_window)


# ------------------------------------------------------------------ gumbel
def _gumbel_std_moment(j: int) -> Any:
    """E[G^j] of the standard Gumbel from its cumulants κ₁ = γ, κₙ = (n − 1)!·ζ(n):
    mⱼ = Σₖ C(j − 1, k − 1)·κₖ·mⱼ₋ₖ."""
    import sympy as sp
    kappa = [None, sp.EulerGamma] + [sp.factorial(n - 1) * sp.zeta(n) for n in range(2, j + 1)]
    moments = [sp.Integer(1)]
    for n in range(1, j + 1):
        moments.append(sp.expand(sum(sp.binomial(n - 1, k - 1) * kappa[k] * moments[n - k]
                                     for k in range(1, n + 1))))
    return moments[j]


def _gumbel_sample(args: list, d: Draws) -> Any:
    import torch
    mu, beta = d.num(args[0]), d.num(args[1])
    d.require(beta > 0, "gumbel(μ, β) needs a scale β > 0", beta)
    # μ − β·log E with E ~ Exp(1); E = 0 (a uniform of exactly 0) is moved to the
    # smallest normal float, so every draw is finite
    e = -torch.log1p(-d.rand())
    return mu - beta * torch.log(e.clamp_min(torch.finfo(e.dtype).tiny))


def _gumbel_window(args: list[float]) -> Window:
    import torch
    mu, beta = args
    if not beta > 0:
        raise Declined("gumbel scale not positive")
    # density exp(−(t + e^(−t))): below −8 it is under e^(−2900), above 740 under e^(−740)
    return Window(-8.0, 740.0, 0.5, lambda t: mu + beta * t,
                  lambda t: torch.exp(-(t + torch.exp(-t))))


GUMBEL = Law(
    "gumbel", (Param("μ", "real"),
               Param("β", "positive", "the scale of gumbel(μ, β) must be > 0", decl="real > 0")),
    discrete=False, example="gumbel(0, 1)", fallback=(0.0, 1.0),
    doc="gumbel(μ, β): cdf exp(−exp(−(x − μ)/β)), the law of a maximum; mean μ + βγ "
        "(γ = euler), variance π²β²/6",
    support=lambda p: (-math.inf, math.inf),
    moment=lambda args, k: _poly_moment(args[0], args[1], k, _gumbel_std_moment),
    sample=_gumbel_sample,
    torch_law=lambda v: _torch().distributions.Gumbel(v[0], v[1]),
    inverse_cdf=lambda p, u: p[0] - p[1] * _torch().log(-_torch().log(u)),
    reparam=_laplace_reparam, window=_gumbel_window)


# ------------------------------------------------------------------ student_t
def _student_t_sample(args: list, d: Draws) -> Any:
    nu = d.num(args[0])
    d.require(nu > 0, "student_t(ν) needs ν > 0 degrees of freedom", nu)
    return _t_draw(nu, nu, d).to(d.dtype)


def _student_t_torch(vals: list) -> Any:
    """torch's StudentT, with a cdf from SciPy's stdtr whose derivative in x is the
    density; a derivative in ν is declined (SciPy gives none, and 0 would be wrong)."""
    import torch

    class _Cdf(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, df: Any) -> Any:
            from scipy.special import stdtr
            ctx.save_for_backward(x, df)
            out = stdtr(df.detach().cpu().numpy(), x.detach().cpu().numpy())
            return torch.as_tensor(out, dtype=x.dtype, device=x.device)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            x, df = ctx.saved_tensors
            return grad * torch.distributions.StudentT(df).log_prob(x).exp(), None

    class StudentT(torch.distributions.StudentT):
        def cdf(self, value: Any) -> Any:
            if _requires_grad(self.df):
                raise Declined("student_t: the derivative of its cdf in ν is not supported")
            df, x = torch.broadcast_tensors(self.df, torch.as_tensor(value, dtype=self.df.dtype))
            return _Cdf.apply(x, df.detach())
    return StudentT(vals[0])


STUDENT_T = Law(
    "student_t", (Param("ν", "positive", "the degrees of freedom of student_t(ν) must be > 0",
                        decl="real > 0"),),
    discrete=False, example="student_t(5)", fallback=(5.0,),
    doc="student_t(ν): Student's t with ν degrees of freedom (location 0, scale 1: write "
        "μ + σ·x for others); mean 0 for ν > 1, variance ν/(ν − 2) for ν > 2; E[X^k] does "
        "not exist for k ≥ ν",
    support=lambda p: (-math.inf, math.inf),
    moment=lambda args, k: _t_moment(args[0], k), sample=_student_t_sample,
    torch_law=_student_t_torch,
    inverse_cdf=lambda p, u: _t_quantile(p[0], u),
    symmetric=lambda args: True)


# ------------------------------------------------------------------ any: two moments only
@dataclass(frozen=True)
class Standard:
    """A law W with mean 0 and variance 1; its member of the ``any`` family draws μ + √v·W.
    ``moment(j)`` = E[W^j] (SymPy; :class:`Declined` where infinite), ``window`` in W's own
    standard variable, ``outcomes`` the finitely many values of W with their probabilities."""

    name: str
    words: str
    draw: Callable[[Draws], Any]
    quantile: Callable[[Any], Any]
    moment: Callable[[int], Any]
    lo: float = -math.inf
    hi: float = math.inf
    window: Optional[Window] = None
    outcomes: Optional[tuple] = None


def _root(v: Any) -> Any:
    """√v for a float, a tensor or a SymPy expression."""
    import sympy as sp
    return sp.sqrt(v) if isinstance(v, sp.Basic) else _sd(v)


def _even(f: Callable[[int], Any]) -> Callable[[int], Any]:
    """E[W^j] of a law symmetric about 0: ``f(j)`` for even j, 0 for odd j."""
    return lambda j: f(j) if j % 2 == 0 else _sympy().Integer(0)


def _skewed_draw(d: Draws) -> Any:
    import torch
    u = d.rand()
    return torch.where(u < 0.2, 2.0, -0.5).to(u.dtype)


STUDENT_NU = 9   # polynomial tails, yet E[X⁸] exists: a sample variance of X² is reliable


def _skewed_moment(j: int) -> Any:
    """E[W^j] of W = 2 with probability 1/5, −1/2 with 4/5."""
    import sympy as sp
    return sp.Rational(1, 5) * 2 ** j + sp.Rational(4, 5) * sp.Rational(-1, 2) ** j


def _t_draw(nu: Any, scale2: Any, d: Draws) -> Any:
    """Z·√(scale2/G) with G ~ χ²_ν = 2·Gamma(ν/2), in float64: Student's t with ν degrees
    of freedom times √(scale2/ν) (scale2 = ν: the standard t; ν − 2: variance 1)."""
    import torch
    z = d.randn().to(torch.float64)
    g = 2 * _standard_gamma(nu / 2, d)
    return z * torch.sqrt(scale2 / g.clamp_min(1e-300))


def _t_quantile(nu: Any, u: Any, scale: float = 1.0) -> Any:
    """The quantile of Student's t with ν degrees of freedom (SciPy's stdtrit), times scale."""
    from scipy.special import stdtrit
    return _scipy_quantile(stdtrit, [nu], u, scale)


def _t_moment(nu: Any, j: int) -> Any:
    """E[T^j] of the standard Student t with ν degrees of freedom: 0 for odd j < ν,
    ν^(j/2)·(j − 1)!! / ∏ᵢ₌₁^(j/2) (ν − 2i) for even j < ν; from order ν on the moment
    does not exist (:class:`Declined`), and a ν SymPy cannot compare with j declines too."""
    import sympy as sp
    if isinstance(nu, Fraction):
        nu = sp.Rational(nu.numerator, nu.denominator)
    elif isinstance(nu, (int, float)) and not isinstance(nu, bool):
        nu = sp.Integer(nu) if isinstance(nu, int) else sp.Float(nu)
    if not isinstance(nu, sp.Basic) or not (nu.is_number and nu.is_real):
        raise Declined(f"student_t(ν): E[X^{j}] exists only for ν > {j}; ν is not a number")
    if not bool(nu > j):
        raise Declined(f"student_t(ν = {nu}) has no moment of order {j} (only orders < ν)")
    if j % 2:
        return sp.Integer(0)
    half = j // 2
    return (sp.factorial2(j - 1) * nu ** half
            / sp.Mul(*[nu - 2 * i for i in range(1, half + 1)]))


def _student_draw(d: Draws) -> Any:
    """Student's t with ν degrees of freedom, scaled to variance 1: Z·√((ν − 2)/G) with
    G ~ χ²_ν = 2·Gamma(ν/2)."""
    return _t_draw(STUDENT_NU, STUDENT_NU - 2, d).to(d.dtype)


def _student_quantile(u: Any) -> Any:
    return _t_quantile(float(STUDENT_NU), u, math.sqrt((STUDENT_NU - 2) / STUDENT_NU))


def _student_moment(j: int) -> Any:
    """E[W^j] = (j − 1)!!·(ν − 2)^(j/2) / ∏ᵢ (ν − 2i), even j < ν (none from ν on)."""
    import sympy as sp
    if j >= STUDENT_NU:
        raise Declined(f"student-t (ν = {STUDENT_NU}) has no moment of order {STUDENT_NU} or more")
    return _t_moment(STUDENT_NU, j) * sp.Rational(STUDENT_NU - 2, STUDENT_NU) ** sp.Rational(j, 2)


def _laplace_quantile(u: Any) -> Any:
    import torch
    s = u - 0.5
    return -torch.sign(s) * torch.log1p(-2 * s.abs()) / math.sqrt(2)


def _standards() -> tuple[Standard, ...]:
    """The six standardised members (SymPy and torch are imported when a part runs)."""
    return (
        Standard("normal", "the normal", lambda d: d.randn(),
                 lambda u: math.sqrt(2.0) * _torch().erfinv(2 * u - 1),
                 _even(lambda j: _sympy().factorial2(j - 1)),
                 window=Window(-38.0, 38.0, 0.5, lambda t: t,
                               lambda t: _torch().exp(-t * t / 2) / math.sqrt(2 * math.pi))),
        Standard("uniform", "the uniform law on μ ± √(3v)",
                 lambda d: math.sqrt(3.0) * (2 * d.rand() - 1),
                 lambda u: math.sqrt(3.0) * (2 * u - 1),
                 _even(lambda j: _sympy().Integer(3) ** _sympy().Rational(j, 2) / (j + 1)),
                 -math.sqrt(3.0), math.sqrt(3.0),
                 window=Window(0.0, 1.0, 0.125, lambda t: math.sqrt(3.0) * (2 * t - 1),
                               lambda t: _torch().ones_like(t))),
        Standard("two-point", "the two-point law μ ± √v, 1/2 each",
                 lambda d: d.randbit() * 2 - 1,
                 lambda u: _torch().where(u < 0.5, -1.0, 1.0).to(u.dtype),
                 _even(lambda j: _sympy().Integer(1)), -1.0, 1.0,
                 outcomes=((-1, Fraction(1, 2)), (1, Fraction(1, 2)))),
        Standard("skewed-two-point", "the skewed two-point law: μ + 2√v with probability "
                 "0.2, μ − √v/2 with 0.8", _skewed_draw,
                 lambda u: _torch().where(u < 0.8, -0.5, 2.0).to(u.dtype),
                 _skewed_moment,
                 -0.5, 2.0, outcomes=((Fraction(-1, 2), Fraction(4, 5)), (2, Fraction(1, 5)))),
        Standard("laplace", "the laplace law with scale √(v/2)",
                 lambda d: (_torch().log1p(-d.rand()) - _torch().log1p(-d.rand())) / math.sqrt(2),
                 _laplace_quantile,
                 _even(lambda j: _sympy().factorial(j) / _sympy().sqrt(2) ** j),
                 window=Window(-740.0, 740.0, 0.5, lambda t: t / math.sqrt(2),
                               lambda t: _torch().exp(-t.abs()) / 2)),
        Standard("student-t", f"Student's t with ν = {STUDENT_NU}, scaled to variance v",
                 _student_draw, _student_quantile, _student_moment),
    )


NUDGE = 1e-11   # how far a finitely-valued member's atoms move (relative to |μ| + √v)


def _place(mu: Any, sd: Any, w: Any, nudge: int) -> Any:
    """μ + √v·w, the atoms moved by ``nudge``·NUDGE (outward and up, or inward and down).

    An atom of a two-point member can sit exactly on a boundary of the claim (Cantelli's
    bound is attained at μ + 2σ): its side is then decided by rounding.  A finitely-valued
    member is therefore checked twice, nudged each way; a verdict that changes between
    the two is a tie, not a decision.  The shift (≤ 1e-11 of |μ| + √v) moves the moments
    far less than any tolerance, and far more than rounding."""
    if not nudge:
        return mu + sd * w
    return mu + sd * (w * (1 + nudge * NUDGE)) + nudge * NUDGE * (abs(mu) + sd) / 3


def _member(std: Standard, nudge: int = 0) -> Law:
    """The member of the ``any`` family drawing μ + √v·W (atoms nudged by ``nudge``, see
    :func:`_place`); its parameters are (μ, v)."""
    def sample(args: list, d: Draws) -> Any:
        mu, v = d.num(args[0]), d.num(args[1])
        d.require(v >= 0, "any(mean = μ, var = v) needs a variance v ≥ 0", v)
        return _place(mu, _sd(v), std.draw(d), nudge)

    def window(args: list[float]) -> Window:
        mu, v = args
        if not v > 0:
            raise Declined("any(…) with variance 0")
        sd, w = math.sqrt(v), std.window
        return Window(w.lo, w.hi, w.width, lambda t: mu + sd * w.to_x(t), w.density)

    def outcomes(args: list) -> list:
        mu, v = args
        return [(_place(mu, _root(v), w, nudge), p) for w, p in std.outcomes]

    def moment(args: list, k: int) -> Any:
        mu, sd = args[0], _root(args[1])
        loc = _place(mu, sd, 0, nudge)
        return _poly_moment(loc, _place(mu, sd, 1, nudge) - loc, k, std.moment)

    def support(p: list[float]) -> tuple[float, float]:
        sd = math.sqrt(p[1])
        return (_place(p[0], sd, std.lo, nudge) if std.lo > -math.inf else -math.inf,
                _place(p[0], sd, std.hi, nudge) if std.hi < math.inf else math.inf)

    tag = {0: "", 1: "+", -1: "-"}[nudge]   # + : atoms nudged outward, - : inward
    return Law(
        f"any:{std.name}{tag}", ANY_PARAMS, discrete=std.outcomes is not None,
        example="any(mean = 0, var = 1)", doc=f"any:{std.name}{tag}: {std.words}",
        support=support, fallback=(0.0, 1.0), reserved=False, moment=moment,
        outcomes=outcomes if std.outcomes is not None else None, sample=sample,
        inverse_cdf=lambda p, u: _place(p[0], _sd(p[1]), std.quantile(u), nudge),
        reparam=_normal_reparam, window=window if std.window is not None else None)


def _any_moment(args: list, k: int) -> Any:
    if k > 2:
        raise Declined(f"any(mean = …, var = …) fixes only the first two moments, not E[X^{k}]")
    mu, v = args
    return mu if k == 1 else v + mu ** 2


ANY_PARAMS = (Param("mean", "real"),
              Param("var", "nonnegative", "the variance of any(mean = μ, var = v) must be ≥ 0",
                    decl="real >= 0"))
# the family, one group per standard law: a finitely-valued one nudged each way (a tie at an
# atom shows as a disagreement inside its group), a continuous one as it is
FAMILY: tuple[tuple[Law, ...], ...] = tuple(
    tuple(_member(s, n) for n in ((1, -1) if s.outcomes is not None else (0,)))
    for s in _standards())

ANY = Law(
    "any", ANY_PARAMS, discrete=False, example="any(mean = 0, var = 1)", fallback=(0.0, 1.0),
    doc="any(mean = μ, var = v): every law with mean μ and variance v (a claim about it must "
        "hold for each); only those two moments and independence are known",
    support=lambda p: (-math.inf, math.inf), keywords=True, family=FAMILY,
    moment=_any_moment)


LAWS: dict[str, Law] = {law.name: law for law in (
    NORMAL, UNIFORM, BERNOULLI, RADEMACHER, CATEGORICAL, EXPONENTIAL, LAPLACE, GAMMA, BETA,
    GUMBEL, STUDENT_T, ANY)}
MEMBERS: dict[str, Law] = {law.name: law for group in FAMILY for law in group}  # not spellable


def law_of(dist: Any) -> Optional[Law]:
    """The law a distribution expression (``normal(0, 1)``, ``rademacher``) names."""
    from derive import model as m
    name = dist.id if isinstance(dist, m.Name) else getattr(dist, "func", None)
    if not isinstance(name, str):
        return None
    return LAWS.get(name) or MEMBERS.get(name)


def args_of(dist: Any) -> tuple:
    """The parameter expressions of a distribution expression, in the law's order (none for
    a bare name; a keyword law's by name, ``None`` where one is missing)."""
    law = law_of(dist)
    if law is not None and law.keywords:
        given = dict(getattr(dist, "kwargs", ()))
        return tuple(given.get(p.name) for p in law.params)
    return tuple(getattr(dist, "args", ()))
