"""``E[X | Y]`` inside an outer expectation, unbiased: each occurrence becomes X itself with
every draw other than Y replaced by an independent fresh copy.

Why it is exact: given all the claim's draws, the copies of distinct occurrences are
independent, and the copy of the occurrence ``E[X | Y]`` has conditional mean E[X | Y].  So
for an outer argument that is *multilinear* in the occurrences (sums, differences,
products of parts, division by a part free of them, integer powers — expanded into
products of separately copied factors, ``E[X | Y]²`` = E[X′ X″ | …]), the outer mean of
the copied argument equals the outer mean of the original.  An outer ``Var[Z]`` is
``E[Z²] − E[Z]²`` (each mean copied so; ``Std`` its root).  Any other position (a
nonlinear function, Cov/P around it) is refused: a plug-in there is biased.
"""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from derive import model as m
from derive.analysis import reachable
from derive.semantics import CheckedClaim, walk

MAX_POWER = 4   # E[X | Y]^k expands into k copies at most


class NotLinear(Exception):
    """An occurrence of E[· | ·] where the outer statistic is not multilinear in it."""


def has_cond(e: m.Expr) -> bool:
    return any(isinstance(n, m.Cond) for n in walk(e))


class Freshener:
    """Rewrites the statistics of one statement and declares the copies it needs."""

    def __init__(self, checked: CheckedClaim) -> None:
        self.checked = checked
        self.taken = set(checked.symbols)
        self.copies: list[tuple[str, str]] = []   # (copy, original draw)

    # ------------------------------------------------------------ statement
    def statement(self, e: m.Expr) -> m.Expr:
        """Every statistic holding E[· | ·]: an outer ``E`` with its occurrences copied."""
        if isinstance(e, m.Stat):
            if not any(has_cond(a) for a in e.args):
                return e
            if e.kind in ("Var", "Std"):   # Var Z = E[Z Z′] − E[Z]², each mean unbiased
                z = e.args[0]
                two = m.Num(Fraction(2), "2", False, e.pos)
                square = m.Stat("E", (self.linear(m.BinOp("^", z, two, e.pos)),), e.pos)
                mean = m.Stat("E", (self.linear(z),), e.pos)
                var = m.BinOp("-", square, m.BinOp("^", mean, two, e.pos), e.pos)
                return var if e.kind == "Var" else m.Call("sqrt", (var,), (), e.pos)
            if e.kind != "E":
                raise NotLinear(f"E[· | ·] inside {e.kind}[…] (only outer E, Var and Std are "
                                f"estimated without bias)")
            return replace(e, args=(self.linear(e.args[0]),))
        if isinstance(e, m.Cond):
            raise NotLinear("E[· | ·] outside a statistic")
        return map_children(e, self.statement)

    # ------------------------------------------------------------ occurrences
    def linear(self, e: m.Expr) -> m.Expr:
        if not has_cond(e):
            return e
        if isinstance(e, m.Cond):
            if e.kind != "E":
                raise NotLinear("P[· | ·] inside a statistic")
            return self.occurrence(e)
        if isinstance(e, m.Unary) and e.op == "-":
            return replace(e, operand=self.linear(e.operand))
        if isinstance(e, m.BinOp):
            if e.op in ("+", "-", "*"):
                return replace(e, left=self.linear(e.left), right=self.linear(e.right))
            if e.op == "/" and not has_cond(e.right):
                return replace(e, left=self.linear(e.left))
            k = _small_power(e)
            if k is not None:
                out = self.linear(e.left)
                for _ in range(k - 1):
                    out = m.BinOp("*", out, self.linear(e.left), e.pos)
                return out
        if isinstance(e, m.Subst) and not any(has_cond(v) for _, v in e.bindings):
            return replace(e, expr=self.linear(e.expr))
        raise NotLinear("E[· | ·] inside a nonlinear function of an outer expectation "
                        "(a plug-in estimate there is biased)")

    def occurrence(self, c: m.Cond) -> m.Expr:
        """X with its draws other than the conditioning ones copied afresh."""
        inner = self.linear(c.arg)
        held = {g.id for g in c.given}
        draws = sorted(n for n in reachable(self.checked, [c.arg], shapes=False)
                       if n not in held and getattr(self.checked.symbols.get(n), "dist", None)
                       is not None)
        if not draws:
            return inner
        return m.Subst(inner, tuple((w, m.Name(self.copy(w), "")) for w in draws), c.pos)

    def copy(self, draw: str) -> str:
        k = 1
        while f"{draw}_c{k}" in self.taken:
            k += 1
        name = f"{draw}_c{k}"
        self.taken.add(name)
        self.copies.append((name, draw))
        return name

    # ------------------------------------------------------------ claim
    def claim(self) -> CheckedClaim:
        """The checked claim with each copy declared as its original draw is."""
        if not self.copies:
            return self.checked
        symbols = dict(self.checked.symbols)
        group = max((i.group or 0 for i in symbols.values()), default=0)
        decls = []
        for name, original in self.copies:
            info = symbols[original]
            group += 1
            decl = replace(info.statement, names=(m.Name(name, name),))
            decls.append(decl)
            symbols[name] = replace(info, name=name, text=name, statement=decl, group=group)
        statements = list(self.checked.claim.statements)
        first_show = next((i for i, s in enumerate(statements) if isinstance(s, m.Show)),
                          len(statements))
        statements[first_show:first_show] = decls
        claim = replace(self.checked.claim, statements=tuple(statements))
        return replace(self.checked, claim=claim, symbols=symbols)


def _small_power(e: m.BinOp) -> int | None:
    """k for ``base ^ k`` with k a small positive integer literal."""
    if e.op != "^" or not isinstance(e.right, m.Num) or e.right.imaginary:
        return None
    k = e.right.value
    if k.denominator != 1 or not 1 <= k <= MAX_POWER:
        return None
    return int(k)


def map_children(e: m.Expr, f) -> m.Expr:
    """``e`` with ``f`` applied to each direct sub-expression (tuples included)."""
    changes = {}
    for key, value in vars(e).items():
        if isinstance(value, m.Expr):
            changes[key] = f(value)
        elif isinstance(value, tuple):
            changes[key] = tuple(f(x) if isinstance(x, m.Expr) else
                                 tuple(f(y) if isinstance(y, m.Expr) else y for y in x)
                                 if isinstance(x, tuple) else x for x in value)
    return replace(e, **changes) if changes else e
