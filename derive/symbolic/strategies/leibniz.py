"""``grad(E[F], θ) == E[G]`` for a scalar parameter θ: the score-function and pathwise
(reparameterisation) gradient identities, for any declared smooth function inside F.

Differentiating under the integral (Leibniz), with draws X of densities p_θ whose support
does not move with θ:

    ∂θ E[F(θ, X)] = E[∂θ F(θ, X) + F(θ, X) · Σ_X ∂θ log p_θ(X)].

The claim is proved when G equals that integrand identically — as a function of the
draws and of the declared functions (``let f : real -> real smooth`` is an arbitrary
function symbol).  The hypotheses, stated in the evidence, are the textbook ones: the
functions are differentiable and the integrands are dominated, so the derivative passes
under E.  Proof only: a nonzero difference declines (the numeric engine decides).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk_defined
from derive.symbolic import densities
from derive.symbolic.common import proved, sides_with, simplify_zero
from derive.symbolic.lower import Lowering, Unsupported, lowering
from derive.symbolic.strategies.convex_argmin import ArgminAlgebra
from derive.vocabulary.distributions import args_of, law_of

NAME = "leibniz"


class _FunctionLowering(Lowering):
    """The scalar lowering with declared functions as arbitrary SymPy functions and
    ``expr at (v = a)`` read as: evaluate with v free, then put a in."""

    def _call(self, e: m.Call, env: dict) -> sp.Expr:
        info = self.info(e.func)
        if info is not None and info.role == "function" and e.args and not e.kwargs and \
                all(self.is_scalar(a, env) for a in e.args):
            return sp.Function(e.func)(*[self.scalar(a, env) for a in e.args])
        return super()._call(e, env)

    def scalar(self, e: m.Expr, env: Optional[dict] = None) -> sp.Expr:
        if isinstance(e, m.Subst):
            env = dict(env or {})
            free = {name: sp.Dummy(name, real=True) for name, _ in e.bindings}
            values = {free[name]: self.scalar(v, env) for name, v in e.bindings}
            return self.scalar(e.expr, {**env, **free}).subs(values, simultaneous=True)
        return super().scalar(e, env)


class _VectorAlgebra(ArgminAlgebra):
    """The calculus algebra with vector normal log-densities, and each declared function
    (``let f : vector[k] -> real``) an opaque call with arbitrary partial gradients."""

    def lower(self, e: m.Expr) -> sp.Expr:
        info = self.low.info(getattr(e, "func", "") or "")
        if isinstance(e, m.Call) and info is not None and info.role == "function" \
                and e.args and not e.kwargs:
            self.reads[e.func] = set()   # a declared function reads its arguments only
            shapes = tuple(self._shape_of(a) for a in e.args)
            args = tuple(sp.expand(self.reduce(self.lower(a))) for a in e.args)
            return self.call_symbol(e.func, args, shapes)
        return super().lower(e)


class Leibniz:
    name = NAME

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        sides = sides_with(ctx.statement, _grad_of_mean)
        if sides is None:
            return None
        a, b = sides
        if not (isinstance(b, m.Stat) and b.kind == "E" and len(b.args) == 1):
            return None
        theta = a.args[1].id
        info = ctx.checked.symbols.get(theta)
        if info is None or info.random:
            return None
        vector = info.role == "tensor" and len(info.vtype.shape) == 1 and not info.props
        if info.role != "scalar" and not vector:
            return None
        tensors = any(getattr(ctx.checked.symbols.get(n.id), "role", None) == "tensor"
                      for e in (a, b) for n in walk_defined(e, ctx.checked.symbols)
                      if isinstance(n, m.Name))
        try:
            if vector or tensors:
                return self._decide_vector(ctx, a.args[0].args[0], b.args[0], theta)
            return self._decide(ctx, _FunctionLowering(ctx.checked), a.args[0].args[0],
                                b.args[0], theta)
        except (Unsupported, densities.NoClosedForm) as exc:
            ctx.notes.append(f"{NAME}: {exc}"[:300])
            return None

    def _decide(self, ctx: Context, low: _FunctionLowering, f_expr: m.Expr, g_expr: m.Expr,
                theta: str) -> Optional[Outcome]:
        th = low.symbols[theta]
        f, g = low.scalar(f_expr), low.scalar(g_expr)
        draws = sorted({n.id for e in (f_expr, g_expr) for n in walk_defined(e, ctx.checked.symbols)
                        if isinstance(n, m.Name) and getattr(ctx.checked.symbols.get(n.id),
                                                             "random", False)
                        and ctx.checked.symbols[n.id].role == "scalar"})
        if not draws:
            return None
        score, used = sp.Integer(0), []
        for name in draws:
            dist = ctx.checked.symbols[name].dist
            law = law_of(dist)
            params = [low.scalar(p) for p in args_of(dist)]
            if law is None or not any(p.has(th) for p in params):
                continue   # the law does not move with θ: the pathwise part covers it
            make = densities.LOG_DENSITY.get(law.name)
            if make is None:
                ctx.notes.append(f"{NAME}: {law.name} has no symbolic density")
                return None
            logp, _, support = make(params, low.symbols[name])
            if any(c.has(th) for c in support):
                ctx.notes.append(f"{NAME}: the support of {name} moves with {theta}")
                return None
            score += sp.diff(logp, th)
            used.append(f"∂{theta} log p({name}) = {sp.sstr(sp.simplify(sp.diff(logp, th)))}")
        integrand = sp.diff(f, th) + f * score
        if not simplify_zero(sp.expand(g - integrand)):
            ctx.notes.append(f"{NAME}: the claimed integrand is not ∂θF + F·score "
                             f"(difference {sp.sstr(sp.simplify(g - integrand))})"[:300])
            return None
        return _proof(theta, used, sp.diff(f, th) != 0)

    def _decide_vector(self, ctx: Context, f_expr: m.Expr, g_expr: m.Expr, theta: str
                       ) -> Optional[Outcome]:
        """θ a vector: the same identity in the free algebra (matcalc's matrix differential,
        the normal log-density of a vector draw), declared functions as opaque calls."""
        alg = _VectorAlgebra(lowering(ctx.checked))
        draws = sorted({n.id for e in (f_expr, g_expr) for n in walk_defined(e, ctx.checked.symbols)
                        if isinstance(n, m.Name) and getattr(ctx.checked.symbols.get(n.id),
                                                             "random", False)})
        score, used = sp.Integer(0), []
        for name in draws:
            dist = ctx.checked.symbols[name].dist
            if not any(isinstance(n, m.Name) and n.id == theta for p in args_of(dist)
                       if p is not None for n in walk_defined(p, ctx.checked.symbols)):
                continue
            if getattr(law_of(dist), "name", None) != "normal":
                ctx.notes.append(f"{NAME}: a vector score only for normal draws")
                return None
            logp = m.Call("logpdf", (dist, m.Name(name)))
            part = alg.gradient(logp, theta) if theta not in alg.low.symbols else \
                _scalar_derivative(alg, alg.reduce(alg.lower(logp)), theta)
            score += part
            used.append(f"∇{theta} log p({name})")
        f = alg.reduce(alg.lower(f_expr))
        direct = alg.gradient(f_expr, theta) if theta not in alg.low.symbols else \
            _scalar_derivative(alg, f, theta)
        integrand = direct + f * score
        residual = alg.coefficients(alg.reduce(alg.lower(g_expr)) - integrand)
        if any(v != 0 for v in residual.values()):
            ctx.notes.append(f"{NAME}: the claimed integrand is not ∇θF + F·score")
            return None
        return _proof(theta, used, direct != 0)


def _scalar_derivative(alg: _VectorAlgebra, x: sp.Expr, theta: str) -> sp.Expr:
    """∂x/∂θ for a scalar θ of a 1×1 value of the algebra: θ's explicit occurrences, and
    through each opaque call f(E): Σᵢ tr(∂ᵢf(E)ᵀ ∂Eᵢ/∂θ).  Every other atom must be
    constant in θ."""
    th = alg.low.symbols[theta]
    for s in x.free_symbols:
        for a in alg.words.get(s, ()):
            deps = alg._depends(a)
            if deps is None or theta in deps:
                raise Unsupported(f"{a.name} may depend on '{theta}'")
    out = sp.diff(x, th)
    for s in x.free_symbols & set(alg.calls):
        func, args, shapes = alg.calls[s]
        chain = sp.Integer(0)
        for i, (arg, shape) in enumerate(zip(args, shapes)):
            darg = sp.expand(sp.diff(arg, th))
            if darg != 0:
                g = alg.grad_atom(func, args, i, shape)
                chain += alg.trace(alg.transpose[g] * darg, shape[1])
        out += sp.diff(x, s) * chain
    return alg.reduce(out)


def _proof(theta: str, used: list, pathwise: bool) -> Outcome:
    route = ("pathwise + score function" if used and pathwise else
             "score function" if used else "pathwise (reparameterisation)")
    return proved(f"{route}: the claimed integrand is ∂{theta}F + F·Σ∂{theta} log p "
                  f"identically, so both sides are ∂{theta} E[F] by differentiation under "
                  f"E", NAME, residual="0", general=True, scores=used or None,
                  certificate={"route": f"Leibniz rule ({route}) and a pointwise identity "
                                        f"of the integrands",
                               "hypotheses": ["the declared functions are differentiable and "
                                              "the integrands dominated (the derivative "
                                              "passes under E)"],
                               "side_conditions": [f"the supports of the draws do not "
                                                   f"depend on {theta}"]})


def _grad_of_mean(e: m.Expr) -> bool:
    return isinstance(e, m.Call) and e.func == "grad" and len(e.args) == 2 and not e.kwargs \
        and isinstance(e.args[1], m.Name) and isinstance(e.args[0], m.Stat) \
        and e.args[0].kind == "E" and len(e.args[0].args) == 1
