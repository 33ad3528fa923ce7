"""Deterministic quadrature for statistics of one scalar draw (plus finitely-valued ones).

``E``, ``Var``, ``Std`` and ``P`` of expressions whose random names are scalars — at most
one continuous draw whose law has a quadrature ``window`` (normal, uniform, exponential,
laplace; gamma and beta with densities bounded at 0) and a few finitely-valued ones
(``outcomes``: bernoulli, rademacher — enumerated; laws in derive/vocabulary) — are integrals in one variable: this strategy computes them by adaptive
Gauss–Legendre quadrature (each panel against its two halves; a panel is split until the
difference is below 1e-13 of the scale and the integrand at each half's ends stays within
its nodes' range — a jump just past the outermost nodes fools both rules alike, as
P[v < 0.309935] did; kinks and jumps are found by the splitting), with
the integrand evaluated by the same torch lowering as Monte Carlo.  No sampling, so no
heavy-tail trouble: ``E[exp(5.5 z)]`` is exp(15.125) to twelve digits, and a rare event
``P[z > 7]`` is 1.28e-12, not "no hits".  It is the numeric cross-check of the exact
symbolic expectations (derive/symbolic/gauss.py), computed independently of them.

Decision (``error`` is the summed panel differences, ×10 for safety): with a stated
tolerance τ (``within``/``rel``): verified when |D| + error ≤ τ, refuted when
|D| − error > τ.  ``a == b`` with none: verified when |D| + error ≤ 1e-9·scale (the
scale: the larger side, or the integrand's size Σ|∂D/∂mean|·∫|feature| when that is
larger — a claimed 0), refuted when |D| − error > 1e-6·max(|a|, |b|) (numbers written
with few digits are refuted: ``==`` means equal; write ``within`` or ``rel``).  ``≈``
with none: Monte Carlo's default 0.4 %.
"""
from __future__ import annotations

import itertools
from typing import Any, Optional

import numpy as np
import torch

from derive import model as m
from derive.analysis import reachable
from derive.engine import Context
from derive.numeric import common
from derive.numeric.lower import Evaluator, IllDefined, LoweringError
from derive.numeric.montecarlo import MonteCarloRun, StatEvaluator, StatSpec, features, stat_value
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.vocabulary.distributions import Declined, args_of, law_of

NODES = 8                  # Gauss–Legendre nodes per panel
REL_TOL = 1e-13            # per-panel acceptance, relative to the integral of |f|
MAX_ROUNDS = 48            # bisection depth, at most
MAX_PANELS = 4096          # active panels per round, at most (else give up: Monte Carlo)
SAFETY = 10.0              # the error estimate is multiplied by this before deciding
EQ_VERIFY, EQ_REFUTE = 1e-9, 1e-6
APPROX_REL = 0.004         # ≈ without a tolerance: Monte Carlo's default
_GL_X, _GL_W = np.polynomial.legendre.leggauss(NODES)


def plan(ctx: Context) -> Optional[tuple[list[str], Optional[str]]]:
    """(discrete names, continuous name) when the statement is a one-draw integral."""
    st = ctx.statement
    if not isinstance(st, m.Compare) or not all(op in ("==", "≈", "<", "<=", ">", ">=")
                                                for op in st.ops):
        return None
    stats = [n for n in walk(st) if isinstance(n, m.Stat)]
    if not stats or any(s.kind not in ("E", "Var", "Std", "P") for s in stats):
        return None
    if any(isinstance(n, m.Call) and n.func in ("grad", "jacobian") for n in walk(st)):
        return None
    checked = ctx.checked
    used = reachable(checked, [st], shapes=False)
    discrete, continuous = [], []
    for name in sorted(used):
        info = checked.symbols.get(name)
        if info is None:
            continue
        if info.role == "dim":
            return None
        if not info.random:
            continue
        if info.role != "scalar" or info.dist is None:
            return None
        law = law_of(info.dist)   # finitely many outcomes, or a quadrature window
        if law is not None and law.outcomes is not None:
            discrete.append(name)
        elif law is not None and law.window is not None:
            continuous.append(name)
        else:
            return None
    if len(continuous) > 1 or len(discrete) > 8 or not (discrete or continuous):
        return None
    return discrete, (continuous[0] if continuous else None)


class QuadratureStrategy:
    """One-variable statistics by adaptive quadrature (see module doc)."""

    name = "quadrature"

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        shape = plan(ctx)
        if shape is None:
            return None
        device = torch.device("cpu")
        g, seed = common.generator_for(ctx, self.name, device)
        try:
            runner = MonteCarloRun(ctx, g, seed, device)
            pts = runner.points()
            rows = [self.at_point(ctx, runner, sizes, params, *shape) for sizes, params in pts]
        except IllDefined as exc:
            return common.ill_defined(ctx, exc, seed, device, torch.float64)
        except (LoweringError, _GiveUp) as exc:
            ctx.notes.append(f"quadrature: {exc}")
            return None
        return conclude(ctx, rows, seed, device)

    # ------------------------------------------------------------ one point
    def at_point(self, ctx: Context, runner, sizes: dict, params: dict, discrete: list[str],
                 cont: Optional[str]) -> dict[str, Any]:
        checked = ctx.checked
        env0 = {**sizes, **params}
        ev0 = Evaluator(dict(env0), torch.device("cpu"), torch.float64, checked)
        supports = [self.support(checked.symbols[n].dist, ev0) for n in discrete]
        combos = list(itertools.product(*supports)) or [()]
        specs = [StatSpec(s) for s in runner.stats]
        if runner.inner:
            raise _GiveUp("statistics nested inside statistics")

        def integrand(x: Optional[torch.Tensor], absolute: bool = False) -> torch.Tensor:
            """Σ over discrete outcomes of p · features (p · |features| when ``absolute``),
            at continuous points x (N,)."""
            n = 1 if x is None else x.shape[0]
            total = None
            for combo in combos:
                env = dict(env0)
                weight = 1.0
                for name, (value, p) in zip(discrete, combo):
                    env[name] = torch.full((n,), value, dtype=torch.float64)
                    weight *= p
                if x is not None:
                    env[cont] = x
                ev = StatEvaluator(env, torch.device("cpu"), torch.float64, checked, stats={})
                cols = []
                pos = 0
                for spec in specs:
                    f = features(ev, spec)
                    if f.shape[0] == 1 and n > 1:
                        f = f.expand(n, f.shape[1])
                    spec.start, spec.width = pos, f.shape[1]
                    pos += f.shape[1]
                    cols.append(f)
                f = torch.cat(cols, 1) * weight
                f = f.abs() if absolute else f
                total = f if total is None else total + f
            return total

        if cont is None:
            mu, err, evals = integrand(None)[0], torch.zeros(1, dtype=torch.float64), len(combos)
            size = integrand(None, absolute=True)[0]
        else:
            mu, err, evals, size = self.integrate(checked.symbols[cont].dist, ev0, integrand)
        mu = mu.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            stats = {s.node: stat_value(s, mu, 10 ** 18) for s in specs}
            ev = StatEvaluator(dict(env0), torch.device("cpu"), torch.float64, checked, stats=stats)
            vals = [ev.tensor(ev.ev(x)) for x in ctx.statement.operands]
            diffs, lefts, rights = [], [], []
            for op, a, b in zip(ctx.statement.ops, vals, vals[1:]):
                a, b = a.reshape(-1).to(torch.float64), b.reshape(-1).to(torch.float64)
                sign = -1.0 if op in (">", ">=") else 1.0
                diffs.append(sign * (a - b))
                lefts.append(a)
                rights.append(b)
            d = torch.cat(diffs)
            errs, spans = [], []
            for i in range(d.numel()):
                gi = None
                if d[i].requires_grad:
                    (gi,) = torch.autograd.grad(d[i], mu, retain_graph=True, allow_unused=True)
                errs.append(float((gi.abs() * err).sum()) if gi is not None else 0.0)
                spans.append(float((gi.abs() * size).sum()) if gi is not None else 0.0)
        point = {**sizes, **{k: round(float(v), 6) for k, v in params.items()}}
        return {"point": point, "diff": d.detach(), "left": torch.cat(lefts).detach(),
                "right": torch.cat(rights).detach(), "error": torch.tensor(errs) * SAFETY,
                "size": torch.tensor(spans, dtype=torch.float64),
                "evaluations": evals}

    @staticmethod
    def support(dist: m.Expr, ev: Evaluator) -> list[tuple[float, float]]:
        vals = [float(ev.tensor(ev.ev(a)).reshape(-1)[0]) for a in args_of(dist)]
        return [(float(v), float(p)) for v, p in law_of(dist).outcomes(vals)]

    def integrate(self, dist: m.Expr, ev: Evaluator, integrand) -> tuple:
        """∫ features · density by adaptive Gauss–Legendre in the law's standard variable."""
        args = [float(ev.tensor(ev.ev(a)).reshape(-1)[0]) for a in args_of(dist)]
        try:
            win = law_of(dist).window(args)
        except Declined as exc:
            raise _GiveUp(str(exc)) from exc
        lo, hi, width, to_x, density = win.lo, win.hi, win.width, win.to_x, win.density

        gx = torch.tensor(_GL_X, dtype=torch.float64)
        gw = torch.tensor(_GL_W, dtype=torch.float64)

        def rule(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """GL8 on [a, b] per panel: (integral of f·ρ, integral of |f|·ρ), (P, width)."""
            half = (b - a) / 2
            t = (a + b).unsqueeze(1) / 2 + half.unsqueeze(1) * gx.unsqueeze(0)   # (P, 8)
            f = integrand(to_x(t.reshape(-1)))                                   # (P·8, W)
            if not bool(torch.isfinite(f).all()):
                raise _GiveUp("the integrand is not finite on the integration window")
            wts = (gw.unsqueeze(0) * half.unsqueeze(1) * density(t)).reshape(-1, 1)
            prod = (f * wts).reshape(t.shape[0], NODES, -1)
            absprod = (f.abs() * wts).reshape(t.shape[0], NODES, -1)
            nodes = f.reshape(t.shape[0], NODES, -1)
            return prod.sum(1), absprod.sum(1), (nodes.amin(1), nodes.amax(1))

        def jumps(a: torch.Tensor, mid: torch.Tensor, b: torch.Tensor, left, right) -> torch.Tensor:
            """Panels where the integrand at a half's ends leaves its nodes' range by more
            than that range: a jump between the outermost node and the end, which no
            comparison of the two rules sees (both miss it alike)."""
            fe = integrand(to_x(torch.cat([a, mid, b]))).reshape(3, a.numel(), -1)

            def outside(v: torch.Tensor, rng) -> torch.Tensor:
                lo, hi = rng
                r = hi - lo + 1e-12 * (lo.abs() + hi.abs()) + 1e-300
                bad = (v < lo - r) | (v > hi + r)
                return (bad & torch.isfinite(v)).any(1)

            return outside(fe[0], left) | outside(fe[1], left) | outside(fe[1], right) | \
                outside(fe[2], right)

        edges = torch.arange(lo, hi + width / 2, width, dtype=torch.float64)
        a, b = edges[:-1], edges[1:]
        total = None
        err = None
        scale = None
        evals = 0
        for _ in range(MAX_ROUNDS):
            mid = (a + b) / 2
            q1, abs1, _ = rule(a, b)
            q2l, absl, rng_l = rule(a, mid)
            q2r, absr, rng_r = rule(mid, b)
            evals += (3 * NODES + 3) * a.numel()
            q2 = q2l + q2r
            if scale is None:
                scale = (absl + absr).sum(0).clamp_min(1e-300)   # ≈ ∫ |features| · density
            diff = (q1 - q2).abs()
            ok = (diff <= REL_TOL * scale).all(1) & ~jumps(a, mid, b, rng_l, rng_r)
            acc_q, acc_e = q2[ok].sum(0), diff[ok].sum(0)
            total = acc_q if total is None else total + acc_q
            err = acc_e if err is None else err + acc_e
            if bool(ok.all()):
                return total, err, evals, scale
            a, b = torch.cat([a[~ok], mid[~ok]]), torch.cat([mid[~ok], b[~ok]])
            if a.numel() > MAX_PANELS:
                raise _GiveUp("the integrand needs too many panels")
        raise _GiveUp("adaptive quadrature did not converge")


class _GiveUp(Exception):
    """The quadrature cannot certify this integral: Monte Carlo decides instead."""


def conclude(ctx: Context, rows: list[dict], seed: int, device: torch.device) -> Outcome:
    show = ctx.show
    ops = ctx.statement.ops
    verdicts = []
    for r in rows:
        d, err, right, left = r["diff"], r["error"], r["right"], r["left"]
        scale = torch.maximum(left.abs(), right.abs())
        # verifying ==, a claimed 0 borrows the integrand's size (Σ |∂D/∂mean|·∫|feature|):
        # E[z] == 0 is −1e-17 ± 1e-15 after rounding, never within 1e-9 of |0|
        size = torch.maximum(scale, r["size"])
        per = d.numel() // max(len(ops), 1)
        vs = []
        for i in range(d.numel()):
            op = ops[min(i // max(per, 1), len(ops) - 1)]
            di, ei, si = float(d[i]), float(err[i]), float(scale[i])
            if op in ("==", "≈"):
                if show.within is not None:
                    tv = tr = float(show.within)
                elif show.rel is not None:
                    tv = tr = float(show.rel) * abs(float(right[i]))
                elif op == "≈":
                    tv = tr = APPROX_REL * abs(float(right[i]))
                else:
                    tv, tr = EQ_VERIFY * float(size[i]), EQ_REFUTE * si
                vs.append(Verdict.VERIFIED if abs(di) + ei <= tv else
                          Verdict.REFUTED if abs(di) - ei > tr else Verdict.INCONCLUSIVE)
            else:
                strict = op in ("<", ">")
                hi, lo = di + ei, di - ei
                ok = hi < 0 if strict else hi <= 0
                bad = lo >= 0 if strict else lo > 0
                vs.append(Verdict.VERIFIED if ok else Verdict.REFUTED if bad else Verdict.INCONCLUSIVE)
        r["verdict"] = (Verdict.REFUTED if Verdict.REFUTED in vs else
                        Verdict.VERIFIED if all(v == Verdict.VERIFIED for v in vs) else
                        Verdict.INCONCLUSIVE)
        verdicts.append(r["verdict"])
    verdict = (Verdict.REFUTED if Verdict.REFUTED in verdicts else
               Verdict.VERIFIED if all(v == Verdict.VERIFIED for v in verdicts) else
               Verdict.INCONCLUSIVE)
    decisive = next((r for r in rows if r["verdict"] == verdict), rows[0])

    def lst(t: torch.Tensor) -> Any:
        t = t.reshape(-1)
        return float(t[0]) if t.numel() == 1 else [float(x) for x in t[:16]]

    tol = (f"within {float(show.within):g}" if show.within is not None else
           f"rel {float(show.rel):g}" if show.rel is not None else
           f"rel {APPROX_REL:g} (≈)" if "≈" in ops else
           f"== : verify |D| ≤ {EQ_VERIFY:g}·scale, refute |D| > {EQ_REFUTE:g}·scale (plus the error)")
    d, e = decisive["diff"], decisive["error"]
    ev = common.evidence(
        ctx, seed, device, torch.float64, samples=0, estimate=lst(decisive["left"]),
        interval=[lst(d - e), lst(d + e)], error_rate=None, tolerance=tol,
        parameter_points=[{"point": r["point"], "left": lst(r["left"]), "claimed": lst(r["right"]),
                           "difference": lst(r["diff"]), "error": lst(r["error"]),
                           "evaluations": r["evaluations"], "verdict": r["verdict"].value}
                          for r in rows],
        claimed=lst(decisive["right"]), interval_of="left − right",
        method="adaptive Gauss–Legendre quadrature over the one continuous draw (8 nodes per "
               "panel against its halves, split until within 1e-13 of the scale), finitely-"
               f"valued draws enumerated; error estimate ×{SAFETY:g}; no sampling")
    at = ", ".join(f"{k}={v}" for k, v in decisive["point"].items()) or "the only point"
    text = (f"value {common.fmt(lst(decisive['left']) if d.numel() == 1 else float(decisive['left'][0]))}"
            f" vs claimed {common.fmt(float(decisive['right'].reshape(-1)[0]))} at {at} by "
            f"quadrature (difference {float(d.reshape(-1)[0]):.3g} ± {float(e.reshape(-1)[0]):.1g}; "
            f"tolerance {tol})")
    prefix = {Verdict.VERIFIED: "within tolerance: ", Verdict.REFUTED: "refuted: ",
              Verdict.INCONCLUSIVE: "undecided at quadrature precision: "}[verdict]
    return common.outcome(verdict, prefix + text, ev)
