"""Statements that hold a conditional expectation ``E[X | Y]`` or probability ``P[A | Y]``
(a random quantity, a function of the declared draws Y): decided almost surely by drawing Y.

Method (stated in every verdict's evidence):

* The statement is about the draws it leaves free: the conditioning draws of each
  ``E[· | Y]`` and any random name outside a statistic.  ``DRAWS`` joint values y₁…y_K
  of them are drawn from their declared laws (independent draws, as declared; stratified,
  one per K-quantile band of each law in a random order, so both tails are reached); a law
  with parameters gives an expression in them (normal: μ + √v·ε with ε drawn here), so
  every parameter point the members choose sees a draw from its own law.
* At each yₖ the statement becomes an ordinary one: ``E[X | Y]`` is ``E[X at (Y = yₖ)]``
  — the other draws still random, Y held — and a free draw outside a statistic is yₖ.
  The numeric engine decides it with the false-refutation rate split by Bonferroni over
  the K values (``α / K`` each), so a refutation at any yₖ keeps the claim's rate.
* Refuted when some yₖ refutes: yₖ came from Y's law, so with probability 1 it avoids
  the null set on which an almost-sure statement may fail, and the statement fails on a
  set Y reaches.  Verified when every yₖ verifies and neither tail probe (every free
  draw at its 10⁻⁶, then at its 1 − 10⁻⁶ quantile) refutes: a probe is a chosen point,
  so a failure there only withholds verification; otherwise inconclusive.  Sampling
  cannot see a failure on a set of tiny probability beyond the probes: "verified" means
  no draw and no probe fails.
* A conditional expectation inside an outer expectation (``E[E[X | Y]²]``) is X with the
  other draws copied afresh, per occurrence (derive/numeric/fresh.py: exact when the outer
  argument is multilinear in the occurrences; other shapes are unsupported).
"""
from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Optional

import torch

from derive import model as m
from derive.engine import Context, Engine
from derive.exprtext import expr_text
from derive.numeric import common
from derive.numeric.fresh import Freshener, NotLinear, map_children
from derive.analysis import reachable
from derive.numeric.instances import draw
from derive.numeric.lower import Evaluator, LoweringError
from derive.numeric.rqmc import inverse_cdf
from derive.outcome import Outcome, Verdict
from derive.semantics import CheckedClaim, children, walk, walk_defined
from derive.vocabulary.distributions import args_of, law_of

DRAWS = 8      # joint values of the free draws at which the statement is decided
PROBES = (1e-6, 1 - 1e-6)   # quantiles of the tail probes (a veto on verification only)
NAME = "conditional-monte-carlo"
COPIES = "E[· | ·] sampled as fresh copies of the other draws"


class Declined(Exception):
    """The statement's shape is outside this strategy (the message says why)."""


def outside_stats(e: m.Expr, held: set[str]):
    """Nodes of ``e`` outside every ``E[…]``/``P[…]`` and ``E[… | …]``; the draws held by
    the outermost ``E[… | …]`` are added to ``held``."""
    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, m.Cond):
            held.update(g.id for g in node.given)
            continue
        if isinstance(node, m.Stat):
            continue
        yield node
        stack.extend(children(node))


def free_draws(statement: m.Expr, checked) -> list[str]:
    """The draws the statement leaves free: the conditioning draws of each outermost
    E[· | ·] and the random names outside statistics (each a scalar draw)."""
    names: set[str] = set()
    for node in walk(statement):
        if isinstance(node, m.Cond) and any(isinstance(n, m.Stat) for n in walk(node.arg)):
            raise Declined("a statistic inside E[· | ·]")
    for node in outside_stats(statement, names):
        if isinstance(node, m.Subst) and any(
                getattr(checked.symbols.get(k), "random", False) for k, _ in node.bindings):
            raise Declined("a substitution for a random draw around E[· | ·]")
        ident = node.id if isinstance(node, m.Name) else (
            node.func if isinstance(node, m.Call) else None)
        info = checked.symbols.get(ident) if ident is not None else None
        if info is None:
            continue
        if info.dist is not None:
            names.add(ident)
        elif any(getattr(checked.symbols.get(n), "random", False)
                 for n in reachable(checked, [node], shapes=False)):
            raise Declined(f"'{ident}' outside a statistic depends on a random draw")
    for name in names:
        if checked.symbols[name].role != "scalar":
            raise Declined(f"'{name}' is a random tensor")
    return sorted(names)


def _num(v: float) -> m.Num:
    return m.Num(Fraction(v), f"{v:.6g}", False)


def _has_parameters(dist: m.Expr, checked: CheckedClaim) -> bool:
    return any(isinstance(n, m.Name) and checked.symbols.get(n.id) is not None
               for a in args_of(dist) for n in walk(a))


def strata(g: torch.Generator) -> torch.Tensor:
    """``DRAWS`` uniforms, one in each stratum [k/K, (k+1)/K) in a random order (a Latin
    hypercube across the free draws): each is still a draw that avoids any null set with
    probability 1, and together they reach both tails."""
    order = torch.randperm(DRAWS, generator=g, device=g.device).to(torch.float64)
    jitter = torch.rand(DRAWS, generator=g, device=g.device, dtype=torch.float64)
    return ((order + jitter) / DRAWS).clamp(1e-12, 1 - 1e-12)


def standard_draws(dist: m.Expr, u: torch.Tensor) -> list[m.Expr]:
    """Draws of a law whose parameters are names, as expressions in them: the uniforms
    ``u`` mapped through a standard inverse CDF, shifted and scaled by the parameters
    wherever the claim's members put them (normal μ + √v·ε, uniform a + (b − a)·u,
    exponential e/λ, laplace μ + b·ℓ, bernoulli (1 if u < p else 0))."""
    law, args = law_of(dist), args_of(dist)
    name = getattr(law, "name", "")

    def build(k: int) -> m.Expr:
        uk = float(u[k])
        if name == "normal":
            eps = float(torch.special.ndtri(u[k]))
            return m.BinOp("+", args[0], m.BinOp("*", m.Call("sqrt", (args[1],), ()), _num(eps)))
        if name == "uniform":
            return m.BinOp("+", args[0], m.BinOp("*", m.BinOp("-", args[1], args[0]), _num(uk)))
        if name == "exponential":
            return m.BinOp("/", _num(-math.log1p(-uk)), args[0])
        if name == "laplace":
            ell = -math.copysign(1.0, uk - 0.5) * math.log1p(-2 * abs(uk - 0.5))
            return m.BinOp("+", args[0], m.BinOp("*", args[1], _num(ell)))
        if name == "bernoulli":
            return m.Call("where", (m.Compare(("<",), (_num(uk), args[0])),
                                    _num(1.0), _num(0.0)), ())
        raise Declined(f"a conditioning draw from {name or 'this law'} with parameters")

    return [build(k) for k in range(len(u))]


def inline_conditionals(e: m.Expr, checked: CheckedClaim) -> m.Expr:
    """``e`` with each definition that holds E[· | ·] written out in place (``let m =
    E[x | y]`` then ``m == 2 y``), so the conditional mean is seen where it is used."""
    def holds(name: str) -> bool:
        info = checked.symbols.get(name)
        st = getattr(info, "statement", None)
        return info is not None and info.role == "define" and isinstance(st, m.Define) \
            and len(st.names) == 1 and any(isinstance(n, m.Cond)
                                           for n in walk_defined(st.value, checked.symbols))

    def go(node: m.Expr, depth: int) -> m.Expr:
        if isinstance(node, m.Name) and holds(node.id):
            if depth > 32:
                raise Declined("definitions nested too deeply")
            return go(checked.symbols[node.id].statement.value, depth + 1)
        return map_children(node, lambda c: go(c, depth))

    return go(e, 0)


def _bind(arg: m.Expr, binds: dict[str, m.Expr], checked: CheckedClaim, pos: m.Pos) -> m.Expr:
    """``arg`` with the draws ``binds`` held: the values written in place when ``arg`` names
    them only directly (no definition, function, binder or inner E[· | ·] between), so
    every strategy reads it (quadrature included); else ``arg at (y = value)``."""
    direct = True
    for node in walk(arg):
        if isinstance(node, (m.Cond, m.Comprehension, m.Subst)) or (
                isinstance(node, m.Call) and node.kwargs):
            direct = False
        ident = node.id if isinstance(node, m.Name) else (
            node.func if isinstance(node, m.Call) else None)
        info = checked.symbols.get(ident) if ident is not None else None
        if info is not None and info.role in ("define", "funcdef", "sequence") and \
                reachable(checked, [node], shapes=False) & set(binds):
            direct = False
    if not direct:
        return m.Subst(arg, tuple(binds.items()), pos)

    def put(e: m.Expr) -> m.Expr:
        if isinstance(e, m.Name) and e.id in binds:
            return binds[e.id]
        return map_children(e, put)

    return put(arg)


def at_values(statement: m.Expr, nums: dict[str, m.Expr], checked: CheckedClaim) -> m.Expr:
    """The statement with the free draws held at ``nums``: ``E[X | Y]`` becomes
    ``E[X at (Y = y)]`` and a free draw outside statistics becomes its value."""

    def go(e: m.Expr) -> m.Expr:
        if isinstance(e, m.Cond):
            binds = {g.id: nums[g.id] for g in e.given}
            return m.Stat(e.kind, (_bind(e.arg, binds, checked, e.pos),), e.pos)
        if isinstance(e, m.Stat):
            return e
        if isinstance(e, m.Name) and e.id in nums:
            return nums[e.id]
        return map_children(e, go)

    return go(statement)


def fresh_copies(statement: m.Expr, checked: CheckedClaim) -> tuple[m.Expr, CheckedClaim]:
    """E[· | ·] inside outer expectations as fresh copies (derive/numeric/fresh.py)."""
    fresh = Freshener(checked)
    out = fresh.statement(statement)
    return out, fresh.claim()


class ConditionalStrategy:
    """Almost-sure statements about E[X | Y]: decided at draws of Y (module doc)."""

    name = NAME

    def __init__(self, members: Engine) -> None:
        self.members = members   # the other strategies: they decide each drawn member

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        if not any(isinstance(n, m.Cond) for n in walk_defined(ctx.statement, ctx.checked.symbols)):
            return None
        device = common.device_of(ctx)
        g, seed = common.generator_for(ctx, NAME, device)
        try:
            statement = inline_conditionals(ctx.statement, ctx.checked)
            names = free_draws(statement, ctx.checked)
            points = self.draw_points(ctx, names, g, device, None)
            probes = self.draw_points(ctx, names, g, device, PROBES) if names else []
        except (Declined, NotLinear) as exc:
            return common.outcome(Verdict.UNSUPPORTED, f"{NAME}: {exc}", {"reason": str(exc)})
        except LoweringError as exc:
            ctx.notes.append(f"numeric: {exc}")
            return None
        rate = ctx.options.false_refutation_rate / len(points)
        results: list[dict] = []
        try:
            for values in points:
                out = self.member(ctx, statement, values, rate, results)
                if out is None:
                    return None
                if out.verdict == Verdict.REFUTED:
                    where = f"fails at {_show(results[-1]['at'])} (drawn from the declared " \
                            f"laws): " if names else f"{COPIES}: "
                    return self.combine(Verdict.REFUTED, where + out.summary, results, seed, rate, out)
                if out.verdict != Verdict.VERIFIED:
                    return self.combine(Verdict.INCONCLUSIVE, f"undecided at "
                                        f"{_show(results[-1]['at'])}: {out.summary}", results,
                                        seed, rate, out)
            for values in probes:   # a failing tail probe vetoes verification, never refutes
                out = self.member(ctx, statement, values, rate, results)
                if out is not None and out.verdict in (Verdict.REFUTED, Verdict.ERROR):
                    return self.combine(Verdict.INCONCLUSIVE, f"the draws agree, but it fails at "
                                        f"the tail probe {_show(results[-1]['at'])} (a chosen "
                                        f"point, not a draw, so no refutation): {out.summary}",
                                        results, seed, rate, out)
        except NotLinear as exc:
            return common.outcome(Verdict.UNSUPPORTED, f"{NAME}: {exc}", {"reason": str(exc)})
        if not names:
            return self.combine(Verdict.VERIFIED, f"{COPIES}: {results[0]['summary']}", results,
                                seed, rate, None)
        return self.combine(Verdict.VERIFIED, f"holds at each of {len(points)} stratified draws "
                            f"of {', '.join(names)} (each decided with rate α/{len(points)}) and "
                            f"fails at neither tail probe (quantiles {PROBES[0]:g}, {PROBES[1]:g})",
                            results, seed, rate, None)

    def member(self, ctx: Context, statement: m.Expr, values: dict, rate: float,
               results: list) -> Optional[Outcome]:
        """The statement at one joint value of its free draws, decided by the others."""
        member, checked = fresh_copies(at_values(statement, values, ctx.checked), ctx.checked)
        options = replace(ctx.options, false_refutation_rate=rate)
        sub = Context(checked, replace(ctx.show, statement=member), ctx.index, options)
        sub.cross_checking = getattr(ctx, "cross_checking", False)
        out = self.members.decide(sub)
        shown = {k: f"{float(v.value):.6g}" if isinstance(v, m.Num) else expr_text(v)
                 for k, v in values.items()}
        results.append({"at": shown, "verdict": None if out is None else out.verdict.value,
                        "summary": None if out is None else out.summary})
        if out is None:
            ctx.notes.extend(sub.notes)
        return out

    @staticmethod
    def draw_points(ctx: Context, names: list[str], g: torch.Generator, device: torch.device,
                    quantiles: Optional[tuple]) -> list[dict[str, m.Expr]]:
        """``DRAWS`` joint values of the free draws (independent, each from its law), or
        with ``quantiles`` the points where every free draw sits at that quantile."""
        if not names:
            return [{}]
        ev = Evaluator({}, device, torch.float64, ctx.checked)
        columns = {}
        for n in names:
            dist = ctx.checked.symbols[n].dist
            u = strata(g) if quantiles is None else torch.tensor(quantiles, dtype=torch.float64)
            if _has_parameters(dist, ctx.checked):
                columns[n] = standard_draws(dist, u)
                continue
            try:
                col = inverse_cdf(dist, u, ev, torch.float64)
            except LoweringError:   # no inverse CDF: plain draws, no probes
                if quantiles is not None:
                    return []
                col = draw(dist, (), ev, g, DRAWS, torch.float64)
            columns[n] = [_num(float(v)) for v in col]
        return [{n: col[k] for n, col in columns.items()} for k in range(len(u))]

    @staticmethod
    def combine(verdict: Verdict, summary: str, results: list, seed: int, rate: float,
                decisive: Optional[Outcome]) -> Outcome:
        ev = {"method": "the statement decided at draws of its free draws (conditioning "
                        "draws held, the others averaged), Bonferroni over the draws",
              "seed": seed, "error_rate_each": rate, "members": results}
        if decisive is not None:
            ev["decisive"] = decisive.as_dict()
        return common.outcome(verdict, summary, ev)


def _show(values: dict[str, str]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in values.items())
