"""``argmin(η, f) == r`` and ``argmax``.

Proof, minimax objectives (max / abs of pieces affine in η): at r, find the active
pieces; a convex combination λ of an active piece with negative slope and one with
positive slope has zero slope, so for every η, f(η) ≥ Σλⱼhⱼ(η) = Σλⱼhⱼ(r) = f(r) —
r is the (unique) minimiser.  Proof, smooth objectives: f'(r) = 0 and f'' > 0
everywhere (strict convexity).  Refutation: at seeded rational parameters, a point
η in the domain with f(η) < f(r) exactly, or r outside η's domain.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.symbolic.common import (defined_at, holds_at, is_equality, is_exact_zero, proved, refuted,
                                    rng_for, sample_points, show, sign_of, simplify_zero,
                                    special_points)
from derive.symbolic.lower import Lowering, Unsupported, lowering

NAME = "argmin-argmax"
STEPS = [sp.Rational(1, 1000), sp.Rational(1, 100), sp.Rational(1, 10), sp.Rational(1, 2), 1, 3]


class ArgOpt:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        call, other = st.operands
        if not _is_argopt(call):
            call, other = other, call
        if not _is_argopt(call) or _is_argopt(other):
            return None
        low = lowering(ctx.checked)
        var = call.args[0].id
        eta = low.symbols.get(var) or sp.Symbol(var, real=True)
        try:
            f = low.scalar(call.args[1], {var: eta})
            r = low.scalar(other)
        except Unsupported as exc:
            ctx.notes.append(f"{NAME}: {exc}")
            return None
        if call.func == "argmax":
            f = -f
        word = "minimiser" if call.func == "argmin" else "maximiser"
        bad = self.counterexample(ctx, low, f, r, eta)
        if bad is not None:
            return bad
        if not self._in_domain(low, eta, r):
            return None
        cert = minimax_certificate(f, r, eta, low)
        if cert is not None:
            cert = {"route": "minimax: a convex combination of the active affine pieces has zero "
                             "slope, so no point beats r", **cert,
                    "side_conditions": [_feasible_note(eta)]}
            return proved(f"{r} is the unique {word}: a convex combination of the active pieces "
                          f"has zero slope in {eta}", NAME, certificate=cert)
        return self.smooth(f, r, eta, low, word)

    def _in_domain(self, low: Lowering, eta: sp.Symbol, r: sp.Expr) -> bool:
        """r meets every declared condition on η (bounds, both interval ends, each
        assume, integrality) for all admissible parameters: the stationarity and
        minimax certificates are global, so a feasible r is then optimal on the set."""
        if eta.is_integer and r.is_integer is not True:
            return False
        if eta.is_positive and sign_of(r, low) != 1:
            return False
        if eta.is_nonnegative and sign_of(r, low) not in (0, 1):
            return False
        if eta.is_nonzero and sign_of(r, low) not in (1, -1):
            return False
        for c in low.conditions:
            if eta not in getattr(c, "free_symbols", set()):
                continue
            if not _holds_for_all(c.subs(eta, r), low):
                return False
        return True

    def smooth(self, f, r, eta, low, word, logged: bool = False) -> Optional[Outcome]:
        if f.has(sp.Max, sp.Min, sp.Abs, sp.Piecewise, sp.sign):
            return None
        if not logged:
            # a positive objective has the optimisers of its logarithm (log is strictly
            # increasing): a density or a likelihood is strictly log-concave, not concave
            for sign in (1, -1):
                objective = sign * f
                if sign_of(objective, low) != 1:
                    continue
                g = sp.expand(sp.expand_log(sp.log(objective), force=True))
                if g.has(sp.I) or not simplify_zero(sp.exp(g) - objective):
                    continue
                out = self.smooth(sign * g, r, eta, low, word, logged=True)
                if out is not None:
                    out.evidence.setdefault("certificate", {}).setdefault(
                        "side_conditions", []).append(
                        {"condition": "the objective is positive",
                         "discharged": "so it has the optimisers of its logarithm"})
                    out.summary = f"of the logarithm of the (positive) objective: {out.summary}"
                    return out
        d1 = sp.diff(f, eta)
        if not simplify_zero(d1.subs(eta, r)):
            return None
        d2 = sp.diff(f, eta, 2)
        curv = sign_of(d2, low)
        if curv == 1:
            return proved(f"f'({r}) = 0 and f'' = {sp.factor(d2)} > 0 everywhere: the unique {word}",
                          NAME, first_derivative=str(d1), second_derivative=str(sp.factor(d2)),
                          certificate={"route": "stationary point of a strictly convex objective "
                                                "(f' = 0 at r, f'' > 0 on the sign domain of the "
                                                "variable)",
                                       "side_conditions": [_feasible_note(eta),
                                                           {"condition": f"f'' = {sp.factor(d2)} > 0",
                                                            "discharged": "sign decided under the "
                                                            "declarations"}]})
        return None

    def counterexample(self, ctx, low, f, r, eta) -> Optional[Outcome]:
        params = sorted((s for s in (f.free_symbols | r.free_symbols) - {eta} if s.is_Symbol),
                        key=lambda s: s.name)
        if any(isinstance(a, (sp.Indexed,)) for a in sp.preorder_traversal(f)):
            return None
        feasible = [c for c in low.conditions if eta in getattr(c, "free_symbols", set())]
        points = special_points(low, params, [f, r], rng_for(ctx, NAME + "/special"), 8) + \
            sample_points(low, params, rng_for(ctx, NAME), 6)
        for point in points:
            got = defined_at([r], point)
            if got is None:
                continue
            rp = got[0]
            fr = f.subs(point)
            got = defined_at([fr], {eta: rp})
            if got is None:
                continue
            base = got[0]
            dom = low.domain_set(eta).subs(point)
            if dom.contains(rp) is sp.false:
                return refuted(f"{_at(point)}{rp} lies outside the domain of {eta}", NAME,
                               counterexample=show(point), claimed=str(rp))
            for h in STEPS:
                for cand in (rp - h * (1 + abs(rp)), rp + h * (1 + abs(rp))):
                    if dom.contains(cand) is not sp.true:
                        continue
                    if not holds_at(feasible, {**point, eta: cand}):
                        continue  # an assume on η (η ≤ c) excludes it: no counterexample
                    got = defined_at([fr], {eta: cand})
                    if got is None:
                        continue
                    val = got[0]
                    gap = sp.nsimplify(base - val) if val.is_Float else base - val
                    if is_exact_zero(gap) is False and (gap > 0) is sp.true:
                        return refuted(
                            f"{_at(point)}the objective is smaller at {eta} = {cand} "
                            f"({val}) than at the claimed {rp} ({base})", NAME,
                            counterexample={**show(point), str(eta): str(cand)},
                            claimed=str(rp), objective_at_claim=str(base), objective_there=str(val))
        return None


def _feasible_note(eta: sp.Symbol) -> dict:
    return {"condition": f"the claimed optimiser is feasible for {eta}",
            "discharged": "every declared bound, interval end and assume on it holds there "
                          "(signs decided for all parameters)"}


def _holds_for_all(cond: sp.Basic, low: Lowering) -> bool:
    """A relation decided true for every admissible value (signs decided), else False."""
    if cond is sp.true:
        return True
    if not isinstance(cond, sp.Rel):
        return False
    s = sign_of(cond.lhs - cond.rhs, low)
    if s is None:
        return False
    return {"==": s == 0, "!=": s != 0, "<": s < 0, "<=": s <= 0, ">": s > 0,
            ">=": s >= 0}.get(cond.rel_op, False)


def _is_argopt(e: m.Expr) -> bool:
    return isinstance(e, m.Call) and e.func in ("argmin", "argmax") and len(e.args) == 2 \
        and isinstance(e.args[0], m.Name)


def branches(f: sp.Expr) -> Optional[list]:
    """f as a max of pieces: Max flattens, |a| = max(a, −a); None for anything else."""
    if isinstance(f, sp.Max):
        out = []
        for a in f.args:
            b = branches(a)
            if b is None:
                return None
            out.extend(b)
        return out
    if isinstance(f, sp.Abs):
        return [f.args[0], -f.args[0]]
    if f.has(sp.Max, sp.Min, sp.Abs):
        return None
    return [f]


def minimax_certificate(f, r, eta, low) -> Optional[dict]:
    """Zero-slope convex combination of active affine pieces at r (see module doc)."""
    pieces = branches(f)
    if pieces is None or len(pieces) < 2:
        return None
    pieces = [sp.expand(p) for p in pieces]
    if any(sp.diff(p, eta, 2) != 0 for p in pieces):
        return None
    values = [sp.cancel(p.subs(eta, r)) for p in pieces]
    top = None
    for j, vj in enumerate(values):
        if all(sign_of(vj - vk, low) in (0, 1) for k, vk in enumerate(values) if k != j):
            top = j
            break
    if top is None:
        return None
    active = [j for j, vj in enumerate(values) if sign_of(values[top] - vj, low) == 0]
    slopes = {j: sp.diff(pieces[j], eta) for j in active}
    signs = {j: sign_of(slopes[j], low) for j in active}
    neg = [j for j in active if signs[j] == -1]
    pos = [j for j in active if signs[j] == 1]
    if not neg or not pos:
        return None
    a, b = neg[0], pos[0]
    sa, sb = slopes[a], slopes[b]
    lam_a, lam_b = sp.cancel(sb / (sb - sa)), sp.cancel(-sa / (sb - sa))
    return {"pieces": [str(pieces[a]), str(pieces[b])], "weights": [str(lam_a), str(lam_b)],
            "value_at_claim": str(sp.factor(values[top])),
            "combined_slope": str(sp.simplify(lam_a * sa + lam_b * sb))}


def _at(point: dict) -> str:
    """'at a = 1, b = 2, ' before a sentence, or nothing when there are no parameters."""
    return f"at {_fmt(point)}, " if point else ""


def _fmt(point: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in sorted(point.items(), key=lambda kv: str(kv[0])))
