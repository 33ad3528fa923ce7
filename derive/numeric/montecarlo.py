"""Monte-Carlo statements: ``E``, ``Var``, ``Std``, ``Cov``, ``P`` against a claimed value.

Method (stated in every verdict's evidence):

* Each statistic is a smooth function of sample means of per-sample *features*
  (``E[x]``: x; ``Var[x]``: x−c and (x−c)² with a shift c, i.e. the unbiased sample
  variance — the average of the paired estimator (x_a − x_b)²/2 over all pairs;
  ``Cov``: x, y, x yᵀ; ``P[A]``: the indicator of A).  The statement's difference
  D = left − right is evaluated from the feature means with autograd, and its
  standard error follows by the delta method from the feature covariance.
* Decision with a per-claim false-refutation rate α (``Options.false_refutation_rate``)
  split by Bonferroni over the parameter points, the entries, and three looks (a pilot, an
  independent final sample whose size the pilot planned, and — when that straddles the
  tolerance — one larger independent sample from the budget left; valid under this
  pre-planned stopping).  With tolerance τ (``within``, ``rel``·|claimed|, default
  ``DEFAULT_REL`` = 0.4 % of |claimed|): verified when the interval D̂ ± z·se lies inside
  [−τ, τ] at every point; refuted when at some point it lies outside by more than τ.
* Draws are float32 where a float64 pilot check agrees, accumulated in float64.
* ``grad(E[h], θ)`` is the mean of per-sample pathwise gradients: θ gets one copy per
  sample and every random name whose distribution involves θ is reparameterised
  (each law's ``reparam``: x = loc(θ) + scale(θ)·ε for normal, uniform, exponential,
  laplace, gamma's scale), so E[∇_θ h] = ∇_θ E[h]; a Bernoulli draw uses the score
  function instead (E[∇_θ h + h ∇_θ log p(x; θ)]); a law with neither is not supported.
* A statistic used inside another one's argument (``let A = Cov[W, Y] @ …`` then
  ``Cov[W − A Y, Y]``) is estimated first from an independent sample and plugged in as a
  constant everywhere it occurs; the evidence says so (``plug_in``).
* Work per statement is bounded by ``MAX_DRAWS`` random scalars and ``mc_budget`` samples —
  counts, never seconds, so the same seed gives the same verdict exactly.
* Default tolerance ``DEFAULT_REL`` = 0.4 % of |claimed| (constants 0.5 % apart are told
  apart); a claimed 0 borrows one sample's sd as its scale.  Every summary states the
  tolerance and the half-width reached.
* ``P[A] op c`` alone uses the exact Clopper–Pearson interval; ``P[…] == 0`` is never
  verified by sampling.  When the plain pilot sees under ``importance.RARE`` hits and A is
  one comparison of declared normal draws, the point is decided by importance sampling
  instead (derive/numeric/importance.py; :meth:`MonteCarloRun.importance_point`): the P
  feature is the likelihood-ratio-weighted indicator, the interval the delta method's, and
  uneven weights (hit effective sample size, the heavy-tail test) make it inconclusive.  A heavy-tailed sample (derive/numeric/intervals.py: the largest
  draw's share of Σd², the variance's effective sample size) neither verifies nor refutes.
* Evidence: ``samples`` is the size of the sample the reported estimate and interval come
  from (the decisive point's final sample); ``samples_drawn`` counts every draw (pilots,
  all points).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from statistics import NormalDist
from typing import Any, Optional

import torch

from derive import model as m
from derive.analysis import claim_seed, reachable
from derive.engine import Context, is_cost_statement
from derive.numeric import common
from derive.numeric import controls, importance, rqmc
from derive.numeric.common import DEFAULT_REL
from derive.numeric.hints import hint
from derive.numeric.instances import (Unsatisfiable, assumptions, choose_sizes,
                                      dim_names, draw_scalar, holds, make_generator,
                                      sample_environment)
from derive.numeric.intervals import TailReport, TailWatch, clopper_pearson, t_quantile
from derive.numeric.lower import Evaluator, IllDefined, LoweringError, Value, rank
from derive.outcome import Outcome, Verdict
from derive.semantics import children, walk
from derive.vocabulary.distributions import LAWS, Declined, args_of, law_of

VERIFY_RATE = 1e-3          # false-verification rate per claim (refutation uses the options' rate)
PILOT = 16_384              # samples in the pilot at each point
MIN_FINAL = 40_000          # final samples at least (precision for the constant hint)
MAX_DRAWS = 12_000_000      # random scalars per statement, at most (≲ 1 s of work on one core)
PLUGIN_REL = 0.02           # with plugged-in statistics (error outside the interval): 2 % of
                            # max(|claimed|, one sample's sd), the allowance for that error
CHUNK_DRAWS = 1 << 21       # random scalars per evaluated chunk
POINT_MENUS = ((2,), (3,), (4, 5))  # the last point prefers distinct sizes (m = n − k + 1 > 1)
LAST_POINT_SCALE = 3.0      # the last point's plain (or invertible) inputs are this much larger
INNER_SAMPLES = 150_000     # samples for a statistic used inside another (plugged in)
MARGIN = 0.7                # plan for the interval to use at most this share of the gap
LOOKS = 3                   # pilot, planned final, and one larger final if that straddles


def applies(statement: m.Expr, checked: Any = None) -> bool:
    if is_cost_statement(statement):
        return False
    if not (common.has(statement, m.Stat) or (checked is not None
                                               and common.reaches_stat(statement, checked))):
        return False
    return isinstance(statement, m.Compare) and all(
        op in ("==", "≈", "<", "<=", ">", ">=") for op in statement.ops)


# ---------------------------------------------------------------- features
@dataclass
class StatSpec:
    """One statistic: which feature columns it owns and how it maps means to a value."""

    node: m.Stat
    start: int = 0
    width: int = 0
    shape: tuple = ()
    shift: Optional[torch.Tensor] = None
    extra: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "E" if is_grad_stat(self.node) else self.node.kind


def is_grad_stat(e: Any) -> bool:
    """``grad(E[h], θ)``: the gradient of an expectation with respect to a parameter θ."""
    return (isinstance(e, m.Call) and e.func == "grad" and len(e.args) == 2
            and isinstance(e.args[0], m.Stat) and isinstance(e.args[1], m.Name))


def collect_stats(statement: m.Expr, checked: Any) -> tuple[list, list]:
    """The statistics a statement needs, through its definitions (``let S = Cov[…]``).

    Returns ``(outer, inner)``: ``outer`` are estimated jointly from the final sample (delta
    method); ``inner`` are statistics used inside another statistic's argument — constants
    for the per-sample evaluation, estimated first (deepest first) from an independent
    sample and plugged in *everywhere* they occur, so both sides see the same value.
    """
    depth: dict = {}
    order: list = []
    seen: set = set()
    stack: list = [(statement, 0)]
    while stack:
        node, d = stack.pop()
        if isinstance(node, m.Name):
            info = checked.symbols.get(node.id)
            st = getattr(info, "statement", None)
            if info is not None and info.role == "define" and isinstance(st, m.Define) \
                    and (node.id, d) not in seen:
                seen.add((node.id, d))
                stack.append((st.value, d))
            continue
        if isinstance(node, m.Stat) or is_grad_stat(node):
            if node not in depth:
                order.append(node)
            depth[node] = max(depth.get(node, 0), d)
            stat = node.args[0] if is_grad_stat(node) else node
            stack.extend((a, d + 1) for a in stat.args)
            continue
        stack.extend((c, d) for c in children(node))
    outer = [n for n in order if depth[n] == 0]
    inner = sorted((n for n in order if depth[n] > 0), key=lambda n: -depth[n])
    return outer, inner


def reparameterised(dist: m.Expr, x: torch.Tensor, ev0: Evaluator, ev1: Evaluator) -> Value:
    """``x`` (drawn with the parameters of ``ev0``) as a differentiable function of the
    parameters of ``ev1`` (x = loc + scale·ε with ε fixed, …: the law's ``reparam``), or
    None when the law has none (the caller uses the score function)."""
    law = law_of(dist)
    if law is None or law.reparam is None:
        return None
    try:
        return law.reparam(x, args_of(dist), ev0, ev1)
    except Declined as exc:  # the law has no pathwise gradient in this parameter
        raise LoweringError(str(exc)) from exc


def log_density(dist: m.Expr, x: torch.Tensor, ev1: Evaluator) -> torch.Tensor:
    """Per-sample log density (summed over the entries) of a draw ``x`` under the
    parameters of ``ev1`` — for the score-function estimator (the law's ``score``)."""
    law = law_of(dist)
    if law is None or law.score is None:
        have = ", ".join(n for n, w in LAWS.items() if w.reparam or w.score)
        raise LoweringError(f"grad of an expectation with respect to a parameter of "
                            f"'{getattr(law, 'name', dist)}' is not supported ({have} are)")
    return law.score(x, args_of(dist), ev1)


def grad_features(ev: Evaluator, spec: StatSpec) -> torch.Tensor:
    """Per-sample pathwise gradients ∇_θ h(x(θ, ε); θ) of ``grad(E[h], θ)``.

    θ gets one copy per sample (so autograd of the sum gives every sample's own
    gradient); each random name whose distribution involves θ is reparameterised, so
    E[∇_θ h] = ∇_θ E[h] (differentiation under the integral, smooth h).
    """
    node = spec.node
    stat, target = node.args[0], node.args[1].id
    if stat.kind != "E":
        raise LoweringError("grad of a statistic other than E[…] is not supported")
    checked = ev.checked
    x0 = ev.tensor(ev.lookup(target, {}))
    if x0.is_complex() or not x0.dtype.is_floating_point:
        x0 = x0.to(ev.dtype)
    n = max([v.shape[0] for v in ev.env.values() if isinstance(v, torch.Tensor)] + [1])
    leaf = x0.detach().to(ev.dtype).expand((n,) + tuple(x0.shape[1:])).clone().requires_grad_(True)
    spec.shape = tuple(x0.shape[1:])
    stats = getattr(ev, "stats", {})
    with torch.enable_grad():
        env1 = dict(ev.env)
        env1[target] = leaf
        ev1 = StatEvaluator(env1, ev.device, ev.dtype, checked, stats=stats)
        ev0 = StatEvaluator(dict(ev.env), ev.device, ev.dtype, checked, stats=stats)
        scored = []   # (dist, draw) of the names that need the score function
        for name, info in checked.symbols.items():
            if not info.random or name not in ev.env or getattr(info, "dist", None) is None:
                continue
            if target in reachable(checked, [info.dist], shapes=False):
                x = ev.tensor(ev.env[name])
                moved = reparameterised(info.dist, x, ev0, ev1)
                if moved is None:
                    scored.append((info.dist, x))
                else:
                    env1[name] = moved
        h = ev1.tensor(ev1.ev(stat.args[0]))
        h = h.reshape(h.shape[0], -1)
        if h.shape[1] != 1:
            raise LoweringError("grad(E[f], θ) needs a scalar f")
        h = h[:, 0]
        if scored:  # score function: ∇E[h] = E[∇h + h ∇ log p(x; θ)]
            logp = sum(log_density(d, x, ev1) for d, x in scored)
            h = h + h.detach() * logp.reshape(-1)
        if not h.requires_grad:
            return torch.zeros(n, max(1, int(x0.shape[1:].numel())), dtype=torch.float64,
                               device=x0.device)
        (g,) = torch.autograd.grad(h.sum(), leaf, allow_unused=True)
    if g is None:
        g = torch.zeros_like(leaf)
    return g.detach().reshape(n, -1).to(torch.float64)


def features(ev: Evaluator, spec: StatSpec) -> torch.Tensor:
    """Per-sample features (N, width) of one statistic, float64."""
    node = spec.node
    if is_grad_stat(node):
        return grad_features(ev, spec)
    if node.kind == "P":
        x = ev.tensor(ev.ev(node.args[0])).to(torch.float64)
        return x.reshape(x.shape[0], -1)[:, :1]
    x = ev.tensor(ev.ev(node.args[0]))
    xs = x.reshape(x.shape[0], -1).to(torch.float64)
    if node.kind == "E":
        spec.shape = tuple(x.shape[1:])
        return xs
    if node.kind in ("Var", "Std"):
        spec.shape = tuple(x.shape[1:])
        if spec.shift is None:
            spec.shift = xs.mean(0).detach()
        c = xs - spec.shift
        return torch.cat([c, c * c], dim=1)
    if node.kind == "Cov":
        y = ev.tensor(ev.ev(node.args[1]))
        ys = y.reshape(y.shape[0], -1).to(torch.float64)
        if xs.shape[0] != ys.shape[0]:
            n = max(xs.shape[0], ys.shape[0])
            xs, ys = xs.expand(n, xs.shape[1]), ys.expand(n, ys.shape[1])
        if spec.shift is None:
            spec.shift = torch.cat([xs.mean(0), ys.mean(0)]).detach()
        a, b = xs.shape[1], ys.shape[1]
        spec.extra = {"a": a, "b": b, "scalar": rank(x) == 0 and rank(y) == 0}
        cx, cy = xs - spec.shift[:a], ys - spec.shift[a:]
        return torch.cat([cx, cy, (cx.unsqueeze(2) * cy.unsqueeze(1)).reshape(xs.shape[0], -1)], 1)
    raise LoweringError(f"unknown statistic {node.kind}")


def stat_value(spec: StatSpec, mu: torch.Tensor, n: int) -> torch.Tensor:
    """The statistic (batch 1) from its feature means (differentiable in ``mu``)."""
    seg = mu[spec.start: spec.start + spec.width]
    kind = spec.kind
    bessel = n / max(n - 1, 1)
    if kind == "P":
        return seg[:1].reshape(1)
    if kind == "E":
        return seg.reshape((1,) + spec.shape)
    if kind in ("Var", "Std"):
        k = spec.width // 2
        var = (seg[k:] - seg[:k] ** 2) * bessel
        out = var if kind == "Var" else var.clamp_min(0).sqrt()
        return out.reshape((1,) + spec.shape)
    a, b = spec.extra["a"], spec.extra["b"]
    mx, my, mxy = seg[:a], seg[a:a + b], seg[a + b:].reshape(a, b)
    cov = (mxy - mx.unsqueeze(1) * my.unsqueeze(0)) * bessel
    return cov.reshape(1) if spec.extra["scalar"] else cov.unsqueeze(0)


def substitute(e: Any, name: str, value: int) -> Any:
    """``e`` with the bound index ``name`` replaced by the number ``value``."""
    if isinstance(e, m.Name):
        return m.Num(Fraction(value), str(value)) if e.id == name else e
    if isinstance(e, tuple):
        return tuple(substitute(x, name, value) for x in e)
    if not isinstance(e, m.Expr) or isinstance(e, (m.Num, m.Slice)):
        return e
    changes = {}
    for f in fields(e):
        v = getattr(e, f.name)
        if f.name == "pos":
            continue
        nv = substitute(v, name, value)
        if nv is not v:
            changes[f.name] = nv
    return replace(e, **changes) if changes else e


def unroll(e: Any, ev: Evaluator) -> Any:
    """Expand ``sum(i = a..b, …)`` around statistics into explicit sums (sizes known)."""
    if isinstance(e, tuple):
        return tuple(unroll(x, ev) for x in e)
    if not isinstance(e, m.Expr) or isinstance(e, (m.Num, m.Name, m.Slice)):
        return e
    if isinstance(e, m.Call) and e.func in ("sum", "prod") and len(e.args) == 1 and \
            any(isinstance(v, m.Range) for _, v in e.kwargs) and common.has(e.args[0], m.Stat):
        binders = [(k, v) for k, v in e.kwargs if isinstance(v, m.Range)]
        name, rng = binders[0]
        lo, hi = ev.e_Range(rng, {})
        rest = tuple(kv for kv in e.kwargs if kv[0] != name)
        body = e.args[0] if len(binders) == 1 else replace(e, kwargs=rest)
        terms = [unroll(substitute(body, name, i), ev) for i in range(lo, hi + 1)]
        if not terms:
            return m.Num(Fraction(0 if e.func == "sum" else 1), "0")
        out = terms[0]
        for t in terms[1:]:
            out = m.BinOp("+" if e.func == "sum" else "*", out, t)
        return out
    changes = {}
    for f in fields(e):
        if f.name == "pos":
            continue
        v = getattr(e, f.name)
        nv = unroll(v, ev)
        if nv is not v:
            changes[f.name] = nv
    return replace(e, **changes) if changes else e


class StatEvaluator(Evaluator):
    """Evaluates the statement with each statistic replaced by its estimate."""

    def __init__(self, *args, stats: dict, **kw):
        super().__init__(*args, **kw)
        self.stats = stats

    def e_Stat(self, e: m.Stat, scope) -> Value:
        if e in self.stats:
            return self.stats[e]
        raise LoweringError(f"the statistic {e.kind}[…] has no estimate here")

    def e_Call(self, e: m.Call, scope) -> Value:
        if e.func == "grad" and e in self.stats:
            return self.stats[e]
        return super().e_Call(e, scope)


# ---------------------------------------------------------------- estimates
@dataclass
class Estimate:
    """D̂ = left − right (per entry, per relation), its standard error, the claimed value."""

    n: int
    diff: torch.Tensor
    se: torch.Tensor
    left: torch.Tensor
    right: torch.Tensor
    spread: torch.Tensor      # per-sample scale (for a claimed value of 0)
    tail: Optional[TailReport] = None     # heavy-tail diagnostic of the non-indicator features
    exact: Optional[dict] = None          # Clopper–Pearson: {"k", "n", "sign"} for P[A] vs c
    rare: bool = False                    # a probability claimed 0 (never verified by sampling)
    replicates: int = 0                   # RQMC: the interval is Student t on replicate means
    importance: Optional[dict] = None     # importance sampling: proposal, hit ESS, reliable
    controls: int = 0                     # control variates subtracted (β from an earlier sample)


class Accumulator:
    """Running float64 sums of features and their outer products."""

    def __init__(self) -> None:
        self.n = 0
        self.s: Optional[torch.Tensor] = None
        self.ss: Optional[torch.Tensor] = None
        self.tails = TailWatch()
        self.points = 0          # draws behind the observations (replicates × points for RQMC)
        self.replicates = 0      # > 0: each observation is one RQMC replicate's mean
        self.importance: Optional[dict] = None   # rows are likelihood-ratio-weighted features
        self.controls = 0        # > 0: rows are features minus β·controls (derive/numeric/controls.py)

    def add(self, f: torch.Tensor) -> None:
        self.tails.add(f)
        self.add_mean(f, 1)

    def add_mean(self, f: torch.Tensor, weight: int) -> None:
        """Observations ``f`` (rows), each the mean of ``weight`` draws."""
        self.points += f.shape[0] * weight
        if self.s is None:
            self.s = f.sum(0)
            self.ss = f.T @ f
        else:
            self.s += f.sum(0)
            self.ss += f.T @ f
        self.n += f.shape[0]

    def moments(self) -> tuple[torch.Tensor, torch.Tensor]:
        mu = self.s / self.n
        cov = self.ss / self.n - torch.outer(mu, mu)
        return mu, cov * self.n / max(self.n - 1, 1)


class MonteCarloStrategy:
    """Batched sampling with a planned sample size and a stated error rate."""

    name = "monte-carlo"

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        if not applies(ctx.statement, ctx.checked):
            return None
        common.set_threads()
        device = common.device_of(ctx)
        g, seed = common.generator_for(ctx, self.name, device)
        try:
            probe_definedness(ctx, device)
            return MonteCarloRun(ctx, g, seed, device).run()
        except Unsatisfiable as exc:
            return common.outcome(Verdict.INCONCLUSIVE, f"cannot build instances: {exc}",
                                  common.evidence(ctx, seed, device, torch.float32, samples=0,
                                                  estimate=None, interval=None,
                                                  error_rate=ctx.options.false_refutation_rate,
                                                  tolerance=None, parameter_points=[],
                                                  reason=str(exc)))
        except IllDefined as exc:
            return common.ill_defined(ctx, exc, seed, device, torch.float32)
        except LoweringError as exc:
            ctx.notes.append(f"numeric: {exc}")
            return None


REJECTION_TRIES = 64  # draws of a point's scalars or instance before giving up


def _reads_only_scalars(c: m.Expr, checked) -> bool:
    """Does the condition read only sizes, indices and non-random scalars?"""
    for node in walk(c):
        if isinstance(node, m.Name):
            info = checked.symbols.get(node.id)
            if info is not None and (info.random or info.role not in ("dim", "sweep", "scalar",
                                                                      "index")):
                return False
    return True


def probe_definedness(ctx: Context, device: torch.device) -> None:
    """Raise :class:`IllDefined` when the statement reads outside its ranges at size 1.

    The parameter points start at size 2, but a ``dim`` may be 1: ``yp[2]`` of a
    ``vector[d2]`` is undefined there, as the identity engine (which draws size 1) would
    find.  A few samples at the smallest sizes show it; any other failure is left to the
    run (this generator is separate, so the run's draws do not change)."""

    checked = ctx.checked
    g = make_generator(claim_seed(ctx.options.seed, checked.claim.id, f"mc-probe:{ctx.index}"),
                       device)
    try:
        sizes = choose_sizes(checked, g, menu=(1,))
        inst = sample_environment(checked, sizes, g, device, torch.float64, batch=1, mc_batch=4)
        ev = Evaluator(inst.env, device, torch.float64, checked)
        ev.sampled = True
        for operand in ctx.statement.operands:
            ev.ev(operand)
    except IllDefined as exc:
        at = ", ".join(f"{k}={v}" for k, v in sorted(sizes.items()))
        raise IllDefined(f"{exc} at the smallest sizes ({at})") from exc
    except Exception:  # noqa: BLE001 - only an undefined read is this probe's finding
        return


@dataclass
class PointResult:
    point: dict
    verdict: Verdict
    estimate: Estimate
    z: float
    tol: torch.Tensor
    dtype: torch.dtype
    drawn: int                # samples drawn at this point (pilot and final)
    zv: float = math.inf      # the verification quantile
    interval: Optional[tuple] = None   # D's refutation-level interval (exact where it is)

    @property
    def samples(self) -> int:
        """The size of the sample the estimate and interval come from."""
        return self.estimate.n

    def summary(self) -> dict[str, Any]:
        d, se = self.estimate.diff, self.estimate.se
        return {"point": self.point, "samples": self.samples, "drawn": self.drawn,
                "left": _lst(self.estimate.left), "claimed": _lst(self.estimate.right),
                "difference": _lst(d),
                "interval": ([_lst(self.interval[0]), _lst(self.interval[1])] if self.interval
                             else [_lst(d - self.z * se), _lst(d + self.z * se)]),
                "tolerance": _lst(self.tol), "verdict": self.verdict.value,
                "dtype": str(self.dtype).replace("torch.", "")}


def _lst(t: torch.Tensor) -> Any:
    t = t.detach().reshape(-1).cpu()
    return round(float(t[0]), 8) if t.numel() == 1 else [round(float(x), 8) for x in t[:16]]


class MonteCarloRun:
    """One statement: parameter points, pilot, planned final sample, decision, hint."""

    def __init__(self, ctx: Context, g: torch.Generator, seed: int, device: torch.device):
        self.ctx, self.g, self.seed, self.device = ctx, g, seed, device
        self.statement: m.Compare = ctx.statement
        self.stats, self.inner = collect_stats(self.statement, ctx.checked)
        self.consts: dict = {}          # plugged-in values of the inner statistics
        self.fixed: Optional[dict] = None
        self.scale_fixed = 1.0
        self.per_sample = 1
        self.slots: Optional[list] = None
        self.use_rqmc = True
        self.inner_samples = 0
        self.start = time.perf_counter()
        self.draws = 0
        self.extra_points = 0       # the smallest-size point, decided last (see smallest_point)
        self.smallest_g: Optional[torch.Generator] = None
        self.used = reachable(ctx.checked, [self.statement], shapes=False)
        self.shapes: dict = {}      # the random names' per-sample shapes at the current point
        self.cv: Optional[list] = None          # declared normals as μ + L·ε: control variates
        self.beta: Optional[torch.Tensor] = None   # their coefficients, fitted at the point

    # ------------------------------------------------------------ points
    def points(self) -> list[tuple[dict, dict]]:
        """(sizes, scalar parameters) at a few points, sizes growing."""
        checked = self.ctx.checked
        free_dims = [n for n in dim_names(checked) if checked.symbols[n].role == "dim"]
        free_scalars = [k for k, v in checked.symbols.items() if v.role == "scalar" and not v.random]
        if not free_dims and not free_scalars:
            return [(choose_sizes(checked, self.g), {})]
        out = []
        for j, menu in enumerate(POINT_MENUS):
            try:
                # (not with plugged-in statistics, whose error outside the interval grows
                # with the sizes)
                sizes = choose_sizes(checked, self.g, menu=menu,
                                     distinct=(j == len(POINT_MENUS) - 1 and not self.inner))
            except Unsatisfiable:
                sizes = choose_sizes(checked, self.g)
            params = self.scalar_point(sizes, free_scalars, simple=(j == 0))
            out.append((sizes, params))
            if not free_dims and len(out) == 2:
                break
        smallest = self.smallest_point(free_dims, free_scalars)
        if smallest is not None and all(smallest[0] != s for s, _ in out):
            out.append(smallest)
            self.extra_points = 1
        return out

    def smallest_point(self, free_dims: list[str], free_scalars: list[str]
                       ) -> Optional[tuple[dict, dict]]:
        """A point at every dim's lower end (size 1, else the smallest the assumptions
        admit), when a range in the statement has a size in its bounds: Σ_{i=2}^{n−1} and
        Σ_{i=3}^{n} are empty at n = 1, where the claim may change (Var 0 against n − 2 =
        −1), and the points above start at 2.  Drawn from its own generator and decided
        last, so the other points' draws do not change."""
        from derive.numeric.instances import make_generator
        from derive.semantics import walk

        checked = self.ctx.checked
        dims = set(free_dims)
        ranged = any(isinstance(node, m.Range) and any(
            isinstance(x, m.Name) and x.id in dims for x in walk(node))
            for node in walk(self.statement))
        if not ranged:
            return None
        saved = self.g
        self.g = make_generator(claim_seed(self.ctx.options.seed, checked.claim.id,
                                           f"mc-smallest:{self.ctx.index}"), self.device)
        try:
            for menu in ((1,), (1, 2), (2,)):
                try:
                    sizes = choose_sizes(checked, self.g, menu=menu)
                    break
                except Unsatisfiable:
                    continue
            else:
                return None
            params = self.scalar_point(sizes, free_scalars, simple=True)
            try:  # evaluable there at all (probe_definedness reads the same way)
                inst = sample_environment(checked, sizes, self.g, self.device, torch.float64,
                                          batch=1, mc_batch=4, params=params)
                ev = Evaluator(inst.env, self.device, torch.float64, checked)
                ev.sampled = True
                for operand in unroll(self.statement, Evaluator(dict(sizes), self.device,
                                                                torch.float64, checked)).operands:
                    ev.ev(operand)
            except (IllDefined, LoweringError, Unsatisfiable, RuntimeError, ValueError,
                    ZeroDivisionError, IndexError, KeyError):
                return None
            return sizes, params
        finally:
            self.smallest_g, self.g = self.g, saved

    def scalar_point(self, sizes: dict, free_scalars: list[str], simple: bool) -> dict:
        """Free scalars at one point meeting the ``assume`` lines that read only sizes and
        scalars (``assume s > 0``): a point outside them tests a claim nobody made, and a
        true claim could be refuted there.  Redrawn only when the first draw fails."""
        checked = self.ctx.checked
        conds = [c for c in assumptions(checked) if _reads_only_scalars(c, checked)]
        for attempt in range(REJECTION_TRIES):
            ev = Evaluator(dict(sizes), self.device, torch.float64, checked)
            params: dict[str, Value] = {}
            for k in free_scalars:  # simple values first; general ones if they cannot comply
                v = draw_scalar(checked.symbols[k], ev, self.g, 1, simple=simple and attempt < 4)
                params[k] = float(v.reshape(-1)[0]) if isinstance(v, torch.Tensor) else v
                ev.env[k] = params[k]
            try:
                if not conds or bool(torch.as_tensor(holds(ev, conds)).all()):
                    return params
            except LoweringError:
                return params  # not checkable on scalars alone
        raise Unsatisfiable("no parameter point satisfies the assumptions")

    # ------------------------------------------------------------ sampling
    def estimate(self, sizes: dict, params: dict, n: int, dtype: torch.dtype,
                 specs: Optional[list[StatSpec]] = None, eval_dtype: Optional[torch.dtype] = None
                 ) -> tuple[Estimate, list[StatSpec]]:
        """Draw ``n`` fresh samples at one point (in chunks) and estimate D."""
        specs = specs or [StatSpec(s) for s in self.stats]
        acc = self.accumulate(sizes, params, n, dtype, specs, eval_dtype)
        return self.difference(acc, specs, params, sizes), specs

    def estimate_inner(self, sizes: dict, params: dict, dtype: torch.dtype) -> None:
        """Estimate the statistics used inside other statistics, deepest first, each level
        from its own fresh sample; they are constants for everything after."""
        self.consts = {}
        remaining = list(self.inner)
        while remaining:
            ready = [node for node in remaining
                     if all(x in self.consts for x in collect_stats(node, self.ctx.checked)[1])]
            if not ready:
                raise LoweringError("statistics nested in a cycle")
            specs = [StatSpec(node) for node in ready]
            per = max(1, getattr(self, "per_sample", 1))
            n = int(min(INNER_SAMPLES, max(PILOT, MAX_DRAWS // 8 // per)))
            acc = self.accumulate(sizes, params, n, dtype, specs, None)
            mu, _ = acc.moments()
            for spec in specs:
                self.consts[spec.node] = stat_value(spec, mu, acc.n).detach()
            self.inner_samples = max(self.inner_samples, acc.n)
            remaining = [node for node in remaining if node not in self.consts]

    def base_instance(self, sizes: dict, params: dict):
        """The point's deterministic instance, meeting every ``assume`` (they never read a
        random name): redrawn only when the first draw fails."""
        checked = self.ctx.checked
        conds = assumptions(checked)
        for _ in range(REJECTION_TRIES):
            base = sample_environment(checked, sizes, self.g, self.device, torch.float64,
                                      batch=1, mc_batch=1, params=params, only=self.used)
            if not conds:
                return base
            try:
                ok = holds(Evaluator(dict(base.env), self.device, torch.float64, checked), conds)
            except LoweringError:
                return base  # an assumption that cannot be evaluated here: as before
            if bool(torch.as_tensor(ok).all()):
                return base
        raise Unsatisfiable("no instance at this point satisfies the assumptions")

    def accumulate(self, sizes: dict, params: dict, n: int, dtype: torch.dtype,
                   specs: list[StatSpec], eval_dtype: Optional[torch.dtype] = None) -> "Accumulator":
        """Feature sums of ``n`` fresh samples at one point, drawn in chunks."""
        checked = self.ctx.checked
        if self.fixed is None:  # one deterministic instance per point, shared by every look
            base = self.base_instance(sizes, params)
            self.fixed = {k: v for k, v in base.env.items()
                          if not (checked.symbols.get(k) is not None and checked.symbols[k].random)}
            if self.scale_fixed != 1.0:
                # a bound of the wrong degree (E[B] ~ X⁶ against X⁴) shows only away from
                # unit scale; plain and invertible inputs keep their domain when scaled
                for k, v in self.fixed.items():
                    info = checked.symbols.get(k)
                    if info is not None and info.role == "tensor" and info.props <= {"invertible"} \
                            and isinstance(v, torch.Tensor) and v.dtype.is_floating_point:
                        self.fixed[k] = v * self.scale_fixed
            self.per_sample = max(1, sum(int(v.shape[1:].numel()) for k, v in base.env.items()
                                         if checked.symbols.get(k) is not None
                                         and checked.symbols[k].random and isinstance(v, torch.Tensor)))
            shapes = {k: tuple(v.shape[1:]) for k, v in base.env.items()
                      if isinstance(v, torch.Tensor) and checked.symbols.get(k) is not None
                      and checked.symbols[k].random}
            self.shapes = shapes
            self.slots = None if any(s.kind == "P" for s in specs) or not self.use_rqmc \
                else rqmc.layout(checked, self.used, shapes)
            # where RQMC does not apply, declared normals give control variates
            self.cv = None if self.slots is not None or self.inner or any(
                s.kind == "P" for s in specs) else self.gaussian(sizes, params, MAX_DRAWS)
        if self.slots is not None and n >= rqmc.REPLICATES * 64:
            try:
                return self.accumulate_rqmc(sizes, params, n, dtype, specs, eval_dtype)
            except LoweringError:
                self.slots = None   # a draw RQMC cannot map: plain Monte Carlo from here on
        if self.cv is not None:
            return self.accumulate_cv(sizes, params, n, dtype, specs, eval_dtype)
        fixed, per_sample = self.fixed, self.per_sample
        chunk = max(256, min(n, CHUNK_DRAWS // per_sample))
        acc = Accumulator()
        done = 0
        while done < n:
            size = min(chunk, n - done)
            inst = sample_environment(checked, sizes, self.g, self.device, torch.float64,
                                      batch=1, mc_batch=size, params={**params, **fixed},
                                      only=self.used,
                                      random_dtype=dtype)
            acc.add(self.chunk_features(inst.env, size, specs, dtype, eval_dtype))
            done += size
            self.draws += size * per_sample
        return acc

    def gaussian(self, sizes: dict, params: dict, max_dim: int) -> Optional[list]:
        """Every used random name as μ + L·ε (importance.Coordinate), or None when one is not
        a declared normal (or they need more than ``max_dim`` coordinates)."""
        slots = rqmc.layout(self.ctx.checked, self.used, self.shapes, max_dim)
        if not slots:
            return None
        base = {**sizes, **params, **(self.fixed or {})}
        try:
            return importance.gaussian_coordinates(
                slots, Evaluator(dict(base), self.device, torch.float64, self.ctx.checked))
        except (LoweringError, RuntimeError, ValueError):
            return None

    def accumulate_cv(self, sizes: dict, params: dict, n: int, dtype: torch.dtype,
                      specs: list[StatSpec], eval_dtype: Optional[torch.dtype]) -> "Accumulator":
        """Plain sampling through the standard coordinates ε, with control variates
        (derive/numeric/controls.py): the point's first sample fits β and is used as drawn;
        every later, independent sample subtracts β·C, whose mean is exactly 0."""
        coords = self.cv
        widths = [c.width for c in coords]
        names = {c.name for c in coords}
        chunk = max(256, min(n, CHUNK_DRAWS // self.per_sample))
        acc = Accumulator()
        fit = controls.Regression() if self.beta is None else None
        while acc.n < n:
            size = min(chunk, n - acc.n)
            inst = sample_environment(self.ctx.checked, sizes, self.g, self.device, torch.float64,
                                      batch=1, mc_batch=size, params={**params, **self.fixed},
                                      only=self.used - names, random_dtype=dtype)
            eps = torch.randn(size, sum(widths), generator=self.g, dtype=torch.float64,
                              device=self.device)
            inst.env.update({k: v.to(dtype) for k, v in importance.draws(coords, eps).items()})
            f = self.chunk_features(inst.env, size, specs, dtype, eval_dtype)
            c = controls.controls(eps, widths)
            if fit is not None:
                fit.add(f, c)
            elif self.beta.shape == (f.shape[1], c.shape[1]):
                f = f - c @ self.beta.T
                acc.controls = c.shape[1]
            acc.add(f)
            self.draws += size * self.per_sample
        if fit is not None:
            self.beta = fit.beta()
        return acc

    def accumulate_rqmc(self, sizes: dict, params: dict, n: int, dtype: torch.dtype,
                        specs: list[StatSpec], eval_dtype: Optional[torch.dtype]) -> "Accumulator":
        """Replicate means of ``REPLICATES`` independently scrambled Sobol sequences of
        ⌈n / R⌉ points each: one observation per replicate (derive/numeric/rqmc.py)."""
        checked = self.ctx.checked
        fixed, per_sample = self.fixed, self.per_sample
        randoms = {s.name for s in self.slots}
        dim = sum(s.width for s in self.slots)
        per_rep = -(-n // rqmc.REPLICATES)
        base_env = {**sizes, **params, **fixed}
        arg_ev = Evaluator(dict(base_env), self.device, torch.float64, checked)
        acc = Accumulator()
        reps = []
        for _ in range(rqmc.REPLICATES):
            seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=self.g, device=self.g.device))
            reps.append(rqmc.Replicate(dim, seed))
        # every replicate advances by the same m points per round, evaluated as one batch
        step = max(1, min(per_rep, CHUNK_DRAWS // per_sample // rqmc.REPLICATES))
        totals, done = None, 0
        while done < per_rep:
            m = min(step, per_rep - done)
            size = m * rqmc.REPLICATES
            inst = sample_environment(checked, sizes, self.g, self.device, torch.float64,
                                      batch=1, mc_batch=size, params={**params, **fixed},
                                      only=self.used - randoms, random_dtype=dtype)
            for s in self.slots:
                inst.env[s.name] = torch.zeros((size,) + tuple(s.shape), dtype=dtype,
                                               device=self.device)
            u = torch.cat([r.draw(m) for r in reps]).to(self.device)
            rqmc.fill(inst.env, self.slots, u, arg_ev)
            f = self.chunk_features(inst.env, size, specs, dtype, eval_dtype)
            acc.tails.add(f)
            part = f.reshape(rqmc.REPLICATES, m, -1).sum(1)
            totals = part if totals is None else totals + part
            done += m
            self.draws += size * per_sample
        acc.add_mean(totals / per_rep, per_rep)
        acc.replicates = rqmc.REPLICATES
        return acc

    def chunk_features(self, env: dict, size: int, specs: list[StatSpec], dtype: torch.dtype,
                       eval_dtype: Optional[torch.dtype]) -> torch.Tensor:
        """The features (size, width) of every statistic on one chunk of draws."""
        edt = eval_dtype or dtype
        env = {k: (v.to(edt) if isinstance(v, torch.Tensor) and v.dtype != edt
                   and v.dtype.is_floating_point else v) for k, v in env.items()}
        ev = StatEvaluator(env, self.device, edt, self.ctx.checked, stats=self.consts)
        cols, pos = [], 0
        for spec in specs:
            f = features(ev, spec)
            if f.shape[0] == 1 and size > 1:
                f = f.expand(size, f.shape[1])
            spec.start, spec.width = pos, f.shape[1]
            pos += f.shape[1]
            cols.append(f)
        return torch.cat(cols, dim=1)

    def difference(self, acc: Accumulator, specs: list[StatSpec], params: dict,
                   sizes: dict) -> Estimate:
        mu, cov = acc.moments()
        mu = mu.detach().clone().requires_grad_(True)
        checked = self.ctx.checked
        base = {**self.fixed, **sizes, **params}
        with torch.enable_grad():
            stats = {**self.consts, **{s.node: stat_value(s, mu, acc.points) for s in specs}}
            ev = StatEvaluator(dict(base), self.device, torch.float64, checked, stats=stats)
            vals = [ev.tensor(ev.ev(x)) for x in self.statement.operands]
            diffs, lefts, rights = [], [], []
            for op, a, b in zip(self.statement.ops, vals, vals[1:]):
                a = a.reshape(-1).to(torch.float64)
                b = b.reshape(-1).to(torch.float64)
                if a.numel() != b.numel():
                    a, b = torch.broadcast_tensors(a, b)
                sign = -1.0 if op in (">", ">=") else 1.0
                diffs.append(sign * (a - b))
                lefts.append(a)
                rights.append(b)
            d = torch.cat(diffs)
            rows = []
            for i in range(d.numel()):
                if d[i].requires_grad:
                    (gi,) = torch.autograd.grad(d[i], mu, retain_graph=True, allow_unused=True)
                    rows.append(gi if gi is not None else torch.zeros_like(mu))
                else:
                    rows.append(torch.zeros_like(mu))
        J = torch.stack(rows)
        var = ((J @ cov) * J).sum(-1).clamp_min(0) / acc.n
        spread = torch.sqrt(((J @ cov) * J).sum(-1).clamp_min(0))
        smooth = [j for s in specs if s.kind != "P" for j in range(s.start, s.start + s.width)]
        right = torch.cat(rights).detach()
        exact = None if acc.replicates or acc.importance else self.binomial(acc, specs, J)
        if exact is not None:   # the claimed constant, whichever side the probability is on
            claimed0 = abs(exact["k"] / exact["n"] - exact["sign"] * float(d.detach()[0])) < 1e-300
        else:
            claimed0 = bool((right == 0).any())
        rare = any(s.kind == "P" for s in specs) and claimed0
        if acc.replicates:   # the spread of one draw, for the tolerance of a claimed 0
            spread = spread * math.sqrt(acc.points / acc.n)
        return Estimate(acc.points, d.detach(), var.sqrt(), torch.cat(lefts).detach(), right,
                        spread, tail=acc.tails.report(None if acc.importance else smooth),
                        exact=exact, rare=rare, replicates=acc.replicates,
                        importance=acc.importance, controls=acc.controls)

    def binomial(self, acc: Accumulator, specs: list[StatSpec], J: torch.Tensor) -> Optional[dict]:
        """``P[A] op c`` alone: D = ±(p̂ − c) with an exact (Clopper–Pearson) interval."""
        st = self.statement
        if len(specs) != 1 or specs[0].kind != "P" or len(st.ops) != 1 or J.shape[0] != 1:
            return None
        if not any(x is specs[0].node or x == specs[0].node for x in st.operands):
            return None
        g = J[0]
        if not (abs(abs(float(g[specs[0].start])) - 1) < 1e-12 and float(g.abs().sum()) <= 1 + 1e-12):
            return None
        k = int(round(float(acc.s[specs[0].start])))
        return {"k": k, "n": acc.n, "sign": float(g[specs[0].start])}

    # ------------------------------------------------------------ decision
    def tolerance(self, est: Estimate) -> torch.Tensor:
        show = self.ctx.show
        if show.within is not None:
            return torch.full_like(est.right, float(show.within))
        claimed = est.right.abs()
        if show.rel is not None:
            return (float(show.rel) * claimed).clamp_min(1e-12)
        if getattr(self.ctx, "cross_checking", False):
            # re-testing a symbolic proof: the question is whether sampling contradicts it,
            # so the allowance of one bounded budget (as for plug-ins) rather than 0.4 %
            return (PLUGIN_REL * torch.maximum(claimed, est.spread)).clamp_min(1e-12)
        if est.rare and (est.exact is not None or est.importance is not None):
            return torch.zeros_like(claimed)   # P[A] == 0: any evidence of hits refutes it
        if self.inner:
            # the plug-in's own sampling error is not in the interval: a tolerance that
            # absorbs it, so that neither verdict rests on it (stated in the evidence)
            return (PLUGIN_REL * torch.maximum(claimed, est.spread)).clamp_min(1e-12)
        # default: DEFAULT_REL of |claimed|; a claimed 0 has no scale of its own, so it
        # borrows one sample's sd (never for a probability: P[…] == 0 is not verified by
        # sampling, decide() sees to that)
        # (a tensor's entries share the scale of its largest claimed entry: an entry near
        # 0 of a matrix is judged against the matrix, as an identity's entries are)
        scale = torch.maximum(claimed, claimed.max().expand_as(claimed)) if claimed.numel() > 1 \
            else claimed
        return torch.where(scale > 0, DEFAULT_REL * scale, DEFAULT_REL * est.spread
                           ).clamp_min(1e-12)

    def decide(self, est: Estimate, z: float, zv: float) -> Verdict:
        """Refuted by the z-interval (false-refutation rate); verified by the zv-interval."""
        tol = self.tolerance(est)
        ops = self.statement.ops
        d, se = est.diff, est.se
        per = d.numel() // max(len(ops), 1)
        equality = torch.tensor([op in ("==", "≈") for op in ops for _ in range(per)],
                                device=d.device)
        lo, hi = self.bounds(est, z)
        vlo, vhi = self.bounds(est, zv)
        if est.tail is not None and est.tail.heavy:
            return Verdict.INCONCLUSIVE   # the interval's validity is doubtful: neither way
        if est.importance is not None and not est.importance["reliable"]:
            return Verdict.INCONCLUSIVE   # uneven importance weights: neither way
        inside = torch.where(equality, (vlo >= -tol) & (vhi <= tol), vhi <= tol)
        outside = torch.where(equality, (lo > tol) | (hi < -tol), lo > tol)
        if not bool(torch.isfinite(d).all()):
            return Verdict.INCONCLUSIVE
        if bool(outside.any()):
            return Verdict.REFUTED
        if est.rare and self.ctx.show.within is None:
            return Verdict.INCONCLUSIVE   # no hits never show that an event is impossible
        if bool(inside.all()):
            return Verdict.VERIFIED
        return Verdict.INCONCLUSIVE

    def bounds(self, est: Estimate, z: float) -> tuple[torch.Tensor, torch.Tensor]:
        """D's interval at the normal quantile z (exact binomial for a lone probability)."""
        if est.exact is not None:
            return self.exact_bounds(est, z)
        if est.replicates and math.isfinite(z):   # Student t with R − 1 df at z's level
            z = t_quantile(2 * NormalDist().cdf(-z), est.replicates - 1)
        return est.diff - z * est.se, est.diff + z * est.se

    @staticmethod
    def exact_bounds(est: Estimate, z: float) -> tuple[torch.Tensor, torch.Tensor]:
        """D's Clopper–Pearson bounds at the two-sided level of the normal quantile z."""
        if not math.isfinite(z):
            return est.diff - math.inf, est.diff + math.inf
        level = 2 * (1 - NormalDist().cdf(z))
        plo, phi = clopper_pearson(est.exact["k"], est.exact["n"], level)
        sign = est.exact["sign"]
        c = est.exact["k"] / est.exact["n"] - sign * float(est.diff.reshape(-1)[0])
        if sign > 0:   # D = p − c
            a, b = plo - c, phi - c
        else:                        # D = c − p
            a, b = c - phi, c - plo
        return (torch.full_like(est.diff, a), torch.full_like(est.diff, b))

    def plan(self, est: Estimate, z: float, zv: float) -> int:
        """Final sample size for a decision, from the pilot's standard error."""
        tol = self.tolerance(est)
        s1 = est.se * math.sqrt(est.n)
        d = est.diff.abs()
        near = (d - 2 * est.se).clamp_min(0)        # the pilot's optimistic distance from 0
        # verification: |D| + zv·se ≤ τ with |D| about a standard error or two
        gap_v = torch.maximum(tol - near, tol / 4)
        spread = 3.0 + math.sqrt(2 * math.log(max(d.numel(), 1)))  # |D| up to 3 se, k entries
        need_v = ((zv + spread) * s1 / gap_v) ** 2
        # refutation: |D| − z·se > τ
        gap_r = (d - tol).clamp_min(1e-300)
        need_r = ((z + 1.5) * s1 / gap_r) ** 2
        # plan to verify unless the pilot clearly excludes the claim (a noisy pilot past the
        # tolerance would otherwise plan a final sample too small to verify a true claim)
        need = torch.where(d - 3 * est.se < tol, need_v, torch.minimum(need_r, need_v * 4)).max()
        if est.exact is not None and est.exact["k"] < 100:
            return int(1e12)   # a rare event: the normal plan is meaningless, use the budget
        return int(min(float(need), 1e12))

    # ------------------------------------------------------------ main
    def run(self) -> Outcome:
        opts = self.ctx.options
        alpha = opts.false_refutation_rate
        pts = self.points()
        probe = self.statement.operands
        entries = 1
        results: list[PointResult] = []
        dtype = torch.float32
        used_samples = 0
        draws_left = MAX_DRAWS
        original = self.statement
        last = len(pts) - 1 - self.extra_points   # the last of the growing points
        for j, (sizes, params) in enumerate(pts):
            left = len(pts) - j
            if j > last and self.smallest_g is not None:
                self.g = self.smallest_g
            self.statement = unroll(original, Evaluator(dict(sizes), self.device, torch.float64,
                                                        self.ctx.checked))
            self.stats, self.inner = collect_stats(self.statement, self.ctx.checked)
            self.fixed = None
            self.beta = None
            # (not with plugged-in inner statistics: their error, outside the interval,
            # grows with the inputs' scale)
            self.scale_fixed = LAST_POINT_SCALE if j == last and last > 0 \
                and not self.inner else 1.0
            self.estimate_inner(sizes, params, dtype)
            budget = max((opts.mc_budget - used_samples) // left, PILOT)
            pilot, specs = self.estimate(sizes, params, PILOT, dtype)
            if dtype == torch.float32 and not self.float32_ok(sizes, params, pilot):
                dtype = torch.float64
                pilot, specs = self.estimate(sizes, params, PILOT, dtype)
            entries = max(1, pilot.diff.numel())
            a_look = alpha / (len(pts) * entries * LOOKS)
            z = NormalDist().inv_cdf(1 - a_look / 2)
            zv = NormalDist().inv_cdf(1 - VERIFY_RATE / (len(pts) * entries * (LOOKS - 1)) / 2)
            verdict = self.decide(pilot, z, math.inf)  # the pilot may refute, never verify
            point = {**sizes, **{k: round(float(v), 6) for k, v in params.items()}}
            if j > last and not bool(torch.isfinite(pilot.diff).all()):
                continue  # undefined at the smallest sizes (a 1/(n − 1)): no evidence there
            if verdict == Verdict.REFUTED and pilot.n >= MIN_FINAL:
                used_samples += pilot.n
                results.append(PointResult(point, verdict, pilot, z, self.tolerance(pilot), dtype,
                                           pilot.n, zv, self.bounds(pilot, z)))
                continue
            rare = self.importance_point(sizes, params, pilot, verdict, (z, zv), budget, left,
                                         point)
            if rare is not None:   # a rare event of declared Gaussians: importance sampling
                used_samples += rare.drawn
                results.append(rare)
                continue
            n = max(MIN_FINAL, self.plan(pilot, z, zv))
            per_sample = self.per_sample
            draws_left = MAX_DRAWS - self.draws
            n_cap = min(budget - pilot.n, max(PILOT, draws_left // left // per_sample))
            if n > 10 * n_cap:
                # the budget cannot reach the tolerance by far: a quarter of it still
                # refutes a claim that is clearly off and names the precision reached
                n = n_cap // 4
            n = max(min(n, n_cap), PILOT)
            final, _ = self.estimate(sizes, params, n, dtype, None)
            used_samples += pilot.n + final.n
            drawn_here = pilot.n + final.n
            v2 = self.decide(final, z, zv)
            room = min(budget - drawn_here,
                       (MAX_DRAWS - self.draws) // max(left, 1) // max(self.per_sample, 1))
            need = self.third_look(final, zv)
            if v2 == Verdict.INCONCLUSIVE and verdict != Verdict.REFUTED and need <= room \
                    and not (final.tail is not None and final.tail.heavy):
                # the last pre-planned look: a fresh, larger sample from what budget is left
                # (independent of the looks before; Bonferroni over LOOKS looks) — only when
                # the budget can reach the tolerance, else the answer is already "inconclusive"
                final, _ = self.estimate(sizes, params, int(min(room, max(need, 2 * final.n))),
                                         dtype, None)
                used_samples += final.n
                drawn_here += final.n
                v2 = self.decide(final, z, zv)
            if verdict == Verdict.REFUTED or v2 == Verdict.REFUTED:
                v = Verdict.REFUTED
                best = final if v2 == Verdict.REFUTED else pilot
            else:
                v, best = v2, final
            results.append(PointResult(point, v, best, z, self.tolerance(best), dtype,
                                       drawn_here, zv, self.bounds(best, z)))
        return self.conclude(results, alpha, dtype)

    # ------------------------------------------------------------ rare events
    def importance_point(self, sizes: dict, params: dict, pilot: Estimate, pilot_verdict: Verdict,
                         quantiles: tuple[float, float], budget: int, left: int, point: dict
                         ) -> Optional[PointResult]:
        """A lone ``P[A] op c`` whose plain pilot saw under ``importance.RARE`` hits, A a
        comparison of declared normal draws: importance sampling at this point
        (derive/numeric/importance.py), or None when it does not apply.

        Looks: the plain pilot (refute only), the importance pilot (refute only) and the
        planned final sample (both) — the ``LOOKS`` the Bonferroni split allows for."""
        z, zv = quantiles
        event = self.stats[0].args[0] if len(self.stats) == 1 else None
        if pilot.exact is None or pilot.exact["k"] > importance.RARE * pilot.n or not (
                isinstance(event, m.Compare) and len(event.ops) == 1
                and event.ops[0] in ("<", "<=", ">", ">=")):
            return None
        coords = self.gaussian(sizes, params, importance.MAX_DIM)
        dim = sum(c.width for c in coords) if coords else 0
        if not coords or dim > importance.MAX_DIM:
            return None
        sign = 1.0 if event.ops[0] in (">", ">=") else -1.0

        def evaluator(eps: torch.Tensor) -> StatEvaluator:
            inst = sample_environment(self.ctx.checked, sizes, self.g, self.device, torch.float64,
                                      batch=1, mc_batch=eps.shape[0],
                                      params={**params, **self.fixed},
                                      only=self.used - {c.name for c in coords},
                                      random_dtype=torch.float64)
            inst.env.update(importance.draws(coords, eps))
            self.draws += eps.shape[0] * dim
            return StatEvaluator(inst.env, self.device, torch.float64, self.ctx.checked,
                                 stats=self.consts)

        def margin(eps: torch.Tensor) -> torch.Tensor:
            ev = evaluator(eps)
            a, b = (_per_sample(ev.tensor(ev.ev(x)), eps.shape[0]) for x in event.operands)
            return sign * (a - b)

        def indicator(eps: torch.Tensor) -> torch.Tensor:
            ev = evaluator(eps)
            return _per_sample(ev.tensor(ev.ev(event)), eps.shape[0])

        try:
            chosen = importance.propose(margin, indicator, dim, self.g)
            if chosen is None or chosen[1]["gain"] < importance.MIN_GAIN:
                return None   # the event not reached, or little gain: plain sampling decides
            proposal, info = chosen
            first = self.weighted(proposal, indicator, PILOT, info, sizes, params)
            v1 = self.decide(first, z, math.inf)
            n_cap = min(budget - pilot.n - first.n,
                        max(PILOT, (MAX_DRAWS - self.draws) // max(left, 1) // dim))
            n = max(MIN_FINAL, self.plan(first, z, zv))
            # at least a quarter of the budget: a plan from a 16 384-draw weighted pilot is
            # noisy, and one too small leaves a claim 5 % off undecided; past 10× the budget
            # (as plain sampling) the quarter still refutes a claim far off
            n = n_cap // 4 if n > 10 * n_cap else max(n_cap // 4, min(n, n_cap))
            final = self.weighted(proposal, indicator, max(n, PILOT), info, sizes, params)
        except (IllDefined, LoweringError, RuntimeError, ValueError):
            return None
        v2 = self.decide(final, z, zv)
        refuted = [e for v, e in ((pilot_verdict, pilot), (v1, first), (v2, final))
                   if v == Verdict.REFUTED]
        best = refuted[-1] if refuted else final
        verdict = Verdict.REFUTED if refuted else v2
        return PointResult(point, verdict, best, z, self.tolerance(best), torch.float64,
                           pilot.n + first.n + final.n, zv, self.bounds(best, z))

    def weighted(self, proposal: "importance.Proposal", indicator, n: int, info: dict,
                 sizes: dict, params: dict) -> Estimate:
        """The estimate from ``n`` fresh draws of the proposal: the P feature is w·1_A."""
        spec = StatSpec(self.stats[0], 0, 1)
        acc = Accumulator()
        hits = 0
        chunk = max(256, CHUNK_DRAWS // max(proposal.dim, 1))
        while acc.n < n:
            eps = proposal.sample(min(chunk, n - acc.n), self.g)
            ind = indicator(eps)
            hits += int((ind > 0).sum())
            acc.add((proposal.weights(eps) * ind).unsqueeze(1))
        ess = float(acc.s[0]) ** 2 / float(acc.ss[0, 0]) if float(acc.ss[0, 0]) > 0 else 0.0
        acc.importance = {**info, "proposal": proposal.as_dict(), "describe": proposal.describe(),
                          "hits": hits, "hit_ess": round(ess, 1),
                          "min_hit_ess": importance.MIN_HIT_ESS,
                          "reliable": ess >= importance.MIN_HIT_ESS
                          and float(acc.s[0]) / acc.n >= importance.TINY}
        est = self.difference(acc, [spec], params, sizes)
        if est.tail is not None and est.tail.heavy:
            est.importance["reliable"] = False
        return est

    def third_look(self, est: Estimate, zv: float) -> float:
        """Samples a fresh look needs so that |D| + zv·se fits the tolerance (1/√n scaling)."""
        tol = self.tolerance(est)
        gap = (tol - est.diff.abs()).clamp_min(1e-300)
        ratio = float((zv * est.se / gap).max())
        return 1.3 * est.n * ratio ** 2 if ratio < 1e6 else math.inf

    def float32_ok(self, sizes: dict, params: dict, pilot32: Estimate) -> bool:
        """float32 draws are fine when a float64 evaluation of the same size agrees closely."""
        if not bool(torch.isfinite(pilot32.diff).all()):
            return False
        g_state = self.g.get_state()
        small = 2048
        self.g.set_state(g_state)
        e32, _ = self.estimate(sizes, params, small, torch.float32)
        self.g.set_state(g_state)
        e64, _ = self.estimate(sizes, params, small, torch.float32, eval_dtype=torch.float64)
        tol = self.tolerance(e64)
        return bool(((e32.diff - e64.diff).abs() <= 0.01 * tol + 1e-6 * e64.left.abs()).all())

    def conclude(self, results: list[PointResult], alpha: float, dtype: torch.dtype) -> Outcome:
        verdicts = [r.verdict for r in results]
        if Verdict.REFUTED in verdicts:
            verdict = Verdict.REFUTED
        elif all(v == Verdict.VERIFIED for v in verdicts):
            verdict = Verdict.VERIFIED
        else:
            verdict = Verdict.INCONCLUSIVE
        decisive = next((r for r in results if r.verdict == verdict), results[0])
        drawn = sum(r.drawn for r in results)
        d, se, z = decisive.estimate.diff, decisive.estimate.se, decisive.z
        lo, hi = decisive.interval or (d - z * se, d + z * se)
        ev = common.evidence(
            self.ctx, self.seed, self.device, dtype, samples=decisive.samples, samples_drawn=drawn,
            estimate=_lst(decisive.estimate.left), interval=[_lst(lo), _lst(hi)],
            error_rate=alpha, tolerance=(f"within {float(self.ctx.show.within):g}" if self.ctx.show.within
                                         else f"rel {float(self.ctx.show.rel):g}" if self.ctx.show.rel
                                         else f"{PLUGIN_REL:g} · max(|claimed|, sd of one sample) "
                                              "(cross-check of a symbolic proof)"
                                         if getattr(self.ctx, "cross_checking", False)
                                         else f"{PLUGIN_REL:g} · max(|claimed|, sd of one sample) "
                                              "(plugged-in statistics)" if self.inner
                                         else f"{DEFAULT_REL:g} · |claimed| (a claimed 0: "
                                              f"{DEFAULT_REL:g} · sd of one sample)"),
            parameter_points=[r.summary() for r in results], claimed=_lst(decisive.estimate.right),
            interval_of="left − right", verification_rate=VERIFY_RATE,
            method=("exact Clopper–Pearson interval of the probability; " if decisive.estimate.exact
                    else "importance sampling: the mean of likelihood-ratio-weighted indicators "
                    "under a proposal fitted by cross-entropy (derive/numeric/importance.py), "
                    "delta-method normal interval, trusted only with a hit effective sample "
                    f"size ≥ {importance.MIN_HIT_ESS:g} and even weights; "
                    if decisive.estimate.importance
                    else f"control variates: {decisive.estimate.controls} known-mean moments of "
                    "the standard normal coordinates (ε, ε² − 1), coefficients fitted on the "
                    "point's independent pilot; delta method on the adjusted feature means; "
                    if decisive.estimate.controls
                    else f"randomized QMC: {decisive.estimate.replicates} independently scrambled "
                    "Sobol replicates, delta method on their means with Student-t quantiles; "
                    if decisive.estimate.replicates
                    else "delta method on feature means; ") + "refute outside the z = "
            f"{z:.2f} interval, verify inside the z = "
            f"{NormalDist().inv_cdf(1 - VERIFY_RATE / (len(results) * max(1, d.numel())) / 2):.2f} "
            f"interval of the final sample (Bonferroni over {len(results)} point(s) and entries; "
            f"refutation over {LOOKS} looks, verification over {LOOKS - 1})",
            draws=self.draws, seconds=round(time.perf_counter() - self.start, 3))
        ev["budget"] = {"max_draws": MAX_DRAWS, "mc_budget": self.ctx.options.mc_budget,
                        "note": "budgets count draws, never seconds: same seed, same verdict"}
        if self.inner:
            ev["plug_in"] = (f"{len(self.inner)} statistic(s) used inside another statistic were "
                             f"estimated first from an independent sample of {self.inner_samples} "
                             "and plugged in as constants; their sampling error (about "
                             f"{1 / math.sqrt(max(self.inner_samples, 1)):.2g} of one sample's sd) "
                             "is not in the interval")
        precision = self.precision(results)
        ev["precision"] = precision
        tails = [r.estimate.tail for r in results if r.estimate.tail is not None]
        heavy = [t for t in tails if t.heavy]
        if tails:
            ev["tail_diagnostic"] = max(tails, key=lambda t: (t.heavy, t.largest_share)).as_dict()
        text = (f"estimate {common.fmt(float(decisive.estimate.left.reshape(-1)[0]))} vs claimed "
                f"{common.fmt(float(decisive.estimate.right.reshape(-1)[0]))} at "
                f"{_point_text(decisive.point)} ({decisive.samples} samples there, {drawn} drawn in all; "
                f"tolerance {precision['tolerance_text']}, half-width reached "
                f"{precision['half_width_text']} at confidence 1 − {VERIFY_RATE:g}; "
                f"false-refutation rate {alpha:g})")
        if decisive.estimate.controls:
            text = (f"control variates ({decisive.estimate.controls} known-mean moments of the "
                    "normal draws, coefficients from an independent pilot): " + text)
        sampled = decisive.estimate.importance
        if sampled:
            ev["importance_sampling"] = {k: v for k, v in sampled.items() if k != "describe"}
            text = (f"importance sampling ({sampled['describe']}; {sampled['hits']} hits, "
                    f"effective sample size {sampled['hit_ess']:g}): " + text)
            if not sampled["reliable"] and verdict == Verdict.INCONCLUSIVE:
                return common.outcome(verdict, "importance weights too uneven, the interval is "
                                      f"unreliable (hit effective sample size {sampled['hit_ess']:g}"
                                      f" < {importance.MIN_HIT_ESS:g} or one weight dominates): "
                                      + text, ev)
        if heavy and verdict == Verdict.INCONCLUSIVE:
            t = max(heavy, key=lambda t: t.largest_share)
            return common.outcome(verdict, "heavy-tailed sample, the interval is unreliable (the "
                                  f"largest draw carries {t.largest_share:.1%} of the sum of squares, "
                                  f"variance ESS {t.variance_ess:.0f}): " + text, ev)
        if any(r.estimate.rare for r in results) and verdict == Verdict.INCONCLUSIVE:
            return common.outcome(verdict, "a probability claimed 0 is never verified by sampling "
                                  "(no hits do not make an event impossible): " + text, ev)
        if verdict == Verdict.REFUTED:
            refuting = [r for r in results if r.verdict == Verdict.REFUTED]
            smallest = min(refuting, key=lambda r: sum(v for v in r.point.values()
                                                       if isinstance(v, (int, float))))
            ev["shrunk"] = {"point": smallest.point}
            h = hint(self.ctx, results)
            if h:
                ev["hint"] = h
                text += f"; {h['message']}"
            return common.outcome(verdict, "refuted: " + text, ev)
        if verdict == Verdict.VERIFIED:
            return common.outcome(verdict, "within tolerance: " + text, ev)
        if precision["worst_ratio"] > 1:
            return common.outcome(verdict, "the sample budget cannot reach the tolerance (precision "
                                  f"reached {precision['half_width_text']}): " + text, ev)
        return common.outcome(verdict, "interval straddles the tolerance: " + text, ev)

    def precision(self, results: list[PointResult]) -> dict[str, Any]:
        """The verification-level half-width reached against the tolerance, worst point."""
        worst, rel_hw, rel_tol, abs_hw, abs_tol = -1.0, 0.0, 0.0, 0.0, 0.0
        for r in results:
            est = r.estimate
            lo, hi = self.bounds(est, r.zv)
            hw = ((hi - lo) / 2).reshape(-1)
            tol = r.tol.reshape(-1)
            ratio = hw / tol.clamp_min(1e-300)
            j = int(torch.argmax(ratio))
            if float(ratio[j]) > worst:
                worst = float(ratio[j])
                c = abs(float(est.right.reshape(-1)[j]))
                abs_hw, abs_tol = float(hw[j]), float(tol[j])
                rel_hw = abs_hw / c if c > 0 else math.nan
                rel_tol = abs_tol / c if c > 0 else math.nan
        def text(a: float, rel: float) -> str:
            return f"±{rel:.2%}" if math.isfinite(rel) else f"±{a:.3g}"
        return {"half_width": _r6(abs_hw), "tolerance": _r6(abs_tol), "worst_ratio": _r6(worst),
                "half_width_text": text(abs_hw, rel_hw), "tolerance_text": text(abs_tol, rel_tol),
                "confidence": 1 - VERIFY_RATE}


def _r6(x: float) -> float:
    return float(f"{x:.6g}") if math.isfinite(x) else x


def _per_sample(t: torch.Tensor, n: int) -> torch.Tensor:
    """One float64 value per sample (the first entry; a constant is broadcast)."""
    t = t.to(torch.float64).reshape(t.shape[0] if t.dim() else 1, -1)[:, 0]
    return t.expand(n) if t.numel() == 1 else t


def _point_text(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "the only point"
