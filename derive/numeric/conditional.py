"""Statements that hold a conditional expectation ``E[X | Y]`` or probability ``P[A | Y]``
(a random quantity, a function of the declared draws Y): decided almost surely by drawing Y.

Method (stated in every verdict's evidence):

* The statement is about the draws it leaves free: the conditioning draws of each
  ``E[· | Y]`` and any random name outside a statistic.  ``DRAWS`` joint values y₁…y_K
  of them are drawn from their declared laws (independent draws, as declared); a law
  with parameters gives an expression in them (normal: μ + √v·ε with ε drawn here), so
  every parameter point the members choose sees a draw from its own law.
* At each yₖ the statement becomes an ordinary one: ``E[X | Y]`` is ``E[X at (Y = yₖ)]``
  — the other draws still random, Y held — and a free draw outside a statistic is yₖ.
  The numeric engine decides it with the false-refutation rate split by Bonferroni over
  the K values (``α / K`` each), so a refutation at any yₖ keeps the claim's rate.
* Refuted when some yₖ refutes: yₖ came from Y's law, so with probability 1 it avoids
  the null set on which an almost-sure statement may fail, and the statement fails on a
  set Y reaches.  Verified when every yₖ verifies; otherwise inconclusive.
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
from derive.numeric.instances import draw, used_names
from derive.numeric.lower import Evaluator, LoweringError
from derive.outcome import Outcome, Verdict
from derive.semantics import CheckedClaim, children, walk, walk_defined
from derive.vocabulary.distributions import args_of, law_of

DRAWS = 6      # joint values of the free draws at which the statement is decided
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
    """The draws the statement leaves free: conditioning draws and random names outside
    statistics (each a scalar draw whose law has constant parameters)."""
    names: set[str] = set()
    for node in walk(statement):
        if isinstance(node, m.Cond) and any(isinstance(n, m.Stat) for n in walk(node.arg)):
            raise Declined("a statistic inside E[· | ·]")
    for node in outside_stats(statement, names):
        ident = node.id if isinstance(node, m.Name) else (
            node.func if isinstance(node, m.Call) else None)
        info = checked.symbols.get(ident) if ident is not None else None
        if info is None:
            continue
        if info.dist is not None:
            names.add(ident)
        elif any(getattr(checked.symbols.get(n), "random", False)
                 for n in used_names(checked, node)):
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


def standard_draws(dist: m.Expr, g: torch.Generator) -> list[m.Expr]:
    """``DRAWS`` draws of a law whose parameters are names, as expressions in them: a
    standard variate drawn here, shifted and scaled by the parameters wherever the claim's
    members put them (normal μ + √v·ε, uniform a + (b − a)·u, exponential e/λ, laplace
    μ + b·ℓ, bernoulli (1 if u < p else 0))."""
    law, args = law_of(dist), args_of(dist)
    u = torch.rand(DRAWS, generator=g, device=g.device, dtype=torch.float64)
    name = getattr(law, "name", "")

    def build(k: int) -> m.Expr:
        if name == "normal":
            eps = float(torch.special.ndtri(u[k].clamp(1e-300, 1 - 1e-16)))
            return m.BinOp("+", args[0], m.BinOp("*", m.Call("sqrt", (args[1],), ()), _num(eps)))
        if name == "uniform":
            return m.BinOp("+", args[0], m.BinOp("*", m.BinOp("-", args[1], args[0]),
                                                 _num(float(u[k]))))
        if name == "exponential":
            return m.BinOp("/", _num(-math.log1p(-float(u[k]))), args[0])
        if name == "laplace":
            half = float(u[k]) - 0.5
            ell = -math.copysign(1.0, half) * math.log1p(-2 * abs(half))
            return m.BinOp("+", args[0], m.BinOp("*", args[1], _num(ell)))
        if name == "bernoulli":
            return m.Call("where", (m.Compare(("<",), (_num(float(u[k])), args[0])),
                                    _num(1.0), _num(0.0)), ())
        raise Declined(f"a conditioning draw from {name or 'this law'} with parameters")

    return [build(k) for k in range(DRAWS)]


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


def at_values(statement: m.Expr, nums: dict[str, m.Expr]) -> m.Expr:
    """The statement with the free draws held at ``nums``: ``E[X | Y]`` becomes
    ``E[X at (Y = y)]`` and a free draw outside statistics becomes its value."""

    def go(e: m.Expr) -> m.Expr:
        if isinstance(e, m.Cond):
            binds = tuple((g.id, nums[g.id]) for g in e.given)
            return m.Stat(e.kind, (m.Subst(e.arg, binds, e.pos),), e.pos)
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
        try:
            statement = inline_conditionals(ctx.statement, ctx.checked)
            names = free_draws(statement, ctx.checked)
        except Declined as exc:
            return common.outcome(Verdict.UNSUPPORTED, f"{NAME}: {exc}", {"reason": str(exc)})
        device = common.device_of(ctx)
        g, seed = common.generator_for(ctx, NAME, device)
        try:
            points = self.draw_points(ctx, names, g, device)
        except LoweringError as exc:
            ctx.notes.append(f"numeric: {exc}")
            return None
        except Declined as exc:
            return common.outcome(Verdict.UNSUPPORTED, f"{NAME}: {exc}", {"reason": str(exc)})
        rate = ctx.options.false_refutation_rate / len(points)
        options = replace(ctx.options, false_refutation_rate=rate)
        results = []
        for values in points:
            try:
                member, checked = fresh_copies(at_values(statement, values), ctx.checked)
            except NotLinear as exc:
                return common.outcome(Verdict.UNSUPPORTED, f"{NAME}: {exc}", {"reason": str(exc)})
            sub = Context(checked, replace(ctx.show, statement=member), ctx.index, options)
            sub.cross_checking = getattr(ctx, "cross_checking", False)
            out = self.members.decide(sub)
            if out is None:
                ctx.notes.extend(sub.notes)
                return None
            shown = {k: f"{float(v.value):.6g}" if isinstance(v, m.Num) else expr_text(v)
                     for k, v in values.items()}
            results.append({"at": shown, "verdict": out.verdict.value, "summary": out.summary})
            if out.verdict == Verdict.REFUTED:
                where = f"fails at {_show(shown)} (drawn from the declared laws): " if names \
                    else f"{COPIES}: "
                return self.combine(Verdict.REFUTED, where + out.summary, results, seed, rate, out)
            if out.verdict != Verdict.VERIFIED:
                return self.combine(Verdict.INCONCLUSIVE, f"undecided at {_show(shown)}: "
                                    f"{out.summary}", results, seed, rate, out)
        summary = (f"holds at each of {len(points)} draws of {', '.join(names)} (each decided "
                   f"with rate α/{len(points)})" if names else f"{COPIES}: {results[0]['summary']}")
        return self.combine(Verdict.VERIFIED, summary, results, seed, rate, None)

    @staticmethod
    def draw_points(ctx: Context, names: list[str], g: torch.Generator,
                    device: torch.device) -> list[dict[str, m.Expr]]:
        """``DRAWS`` joint values of the free draws (independent, each from its law)."""
        if not names:
            return [{}]
        ev = Evaluator({}, device, torch.float64, ctx.checked)
        columns = {}
        for n in names:
            dist = ctx.checked.symbols[n].dist
            if _has_parameters(dist, ctx.checked):
                columns[n] = standard_draws(dist, g)
            else:
                col = draw(dist, (), ev, g, DRAWS, torch.float64)
                columns[n] = [_num(float(v)) for v in col]
        return [{n: col[k] for n, col in columns.items()} for k in range(DRAWS)]

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
