"""Expectations of products of random vectors and matrices of symbolic size (the Matrix
Cookbook's §8.2 rules, derived rather than tabulated).

Every declared random vector or matrix X (a scalar draw is a 1×1 one) is lowered as
``μ + X°``: its mean (a matrix expression, or c·𝟙 for a scalar mean c) plus a zero-mean
part X° whose second moments are
E[X°_ij X°_kl] = K_ik C_jl — iid entries with variance s² give K = s²·I, C = I; a vector
drawn from normal(μ, Σ) gives K = Σ, C = 1.  Distinct declared draws are independent.
``E[·]`` expands its argument into words (products of non-commuting symbols) times traces
of words (1×1 products and ``trace``s, which are commuting scalars), then averages over
one draw at a time (its parts are independent of everything else in the product):

- no occurrence: unchanged; one occurrence: 0 (a zero-mean factor independent of the rest);
- two occurrences: the pairing rule, from E[Z_ij Z_kl] = K_ik C_jl by index bookkeeping:
  E[L Z M Zᵀ R] = tr(C M)·L K R, E[L Zᵀ M Z R] = tr(K M)·L C R, E[L Z M Z R] = L K Mᵀ C R,
  E[L Zᵀ M Zᵀ R] = L C Mᵀ K R, E[tr(Z M)·L Z R] = L K Mᵀ C R, E[tr(Z M)·L Zᵀ R] = L C M K R,
  E[tr(Z M) tr(Z N)] = tr(K Nᵀ C M) (K and C are symmetric);
- an odd number of occurrences of a Gaussian part: 0 (Z and −Z have one law);
- four or six occurrences of a Gaussian part: Isserlis' theorem — the sum over the
  pairings, each pair an independent copy that pairs by the rules above;
- anything else (eight or more Gaussian occurrences; three or more of a non-Gaussian
  draw, whose higher moments are not used): declined.

Only the first two moments of a non-Gaussian draw enter (uniform, bernoulli, any(mean=,
var=)), so those second-moment rules stay exact.  Traces of words become canonical
cyclic scalar symbols (tr(AB) = tr(BA) = tr(BᵀAᵀ)); tr(I[n]) = n; 𝟙ᵀ𝟙 = n for the
all-ones vector.  ``Var[v]`` (entrywise) is eᵢᵀ E[(v − Ev)(v − Ev)ᵀ] eᵢ for a basis
vector eᵢ (eᵢᵀeᵢ = 1): when the result does not depend on eᵢ it is c·ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional

import sympy as sp

from derive import model as m
from derive.semantics import walk
from derive.symbolic.lower import Lowering, Unsupported, size_expr
from derive.symbolic.moments import raw_moment
from derive.symbolic.strategies.matrix_algebra import Algebra, _word
from derive.vocabulary.distributions import args_of, law_of

MAX_TERMS = 4000      # products tracked while averaging one expectation
ISSERLIS = (4, 6)     # Gaussian occurrence counts expanded by Isserlis' theorem (3, 15 pairings)
UNIT = ("𝕖", "𝕗")     # basis-vector atoms of Var (rows, columns): eᵀe = 1


@dataclass
class Draw:
    """One declared random tensor: mean + zero-mean part with E[Z_ij Z_kl] = K_ik C_jl."""

    name: str
    z: sp.Symbol
    zt: sp.Symbol
    rows: sp.Expr
    cols: sp.Expr
    mean: sp.Expr
    K: sp.Expr
    C: sp.Expr
    gaussian: bool
    moments: str  # how the second moments were read off the declaration (evidence)


@dataclass
class Term:
    """coeff · Π tr(trace words) · main word (a trace word is (word, its square size))."""

    coeff: sp.Expr
    main: tuple
    traces: tuple = field(default=())


class RandomAlgebra(Algebra):
    """The free algebra of matrix_algebra.Algebra plus random draws and E/Var/Cov."""

    def __init__(self, low: Lowering):
        super().__init__(low)
        self.draws: dict[str, Draw] = {}
        self.centred: dict[sp.Symbol, tuple[Draw, bool]] = {}  # Z / Zᵀ → (draw, transposed)
        self.random_scalars: dict[sp.Symbol, tuple[tuple, sp.Expr]] = {}  # ⟪…⟫ → (word, size)
        self.special: dict[tuple, sp.Expr] = {}  # (aᵀ, a) → its value: 𝟙ᵀ𝟙 = n, eᵀe = 1
        self.used: list[str] = []  # the rules applied (evidence)
        self.copies: dict[str, Draw] = {}  # independent copies for Isserlis' theorem

    def note(self, rule: str) -> None:
        if rule not in self.used:
            self.used.append(rule)

    # ------------------------------------------------------------ lowering
    def lower(self, e: m.Expr) -> sp.Expr:
        if isinstance(e, m.Name):
            info = self.low.info(e.id)
            if info is not None and info.random and info.role != "define":
                if info.role not in ("tensor", "scalar"):
                    raise Unsupported(f"{e.id} is a random {info.role}")
                d = self.draw(e.id)
                # a scalar draw: its zero-mean part is a 1×1 word, a commuting random scalar
                return d.mean + (self._scalar_symbol([d.z]) if info.role == "scalar" else d.z)
            return super().lower(e)
        if isinstance(e, m.Cond):
            raise Unsupported("a conditional statistic")
        if isinstance(e, m.Stat):
            return self.statistic(e)
        if isinstance(e, m.BinOp):
            return self._binop(e)
        if isinstance(e, m.Call):
            return self._call(e)
        return super().lower(e)

    def _binop(self, e: m.BinOp) -> sp.Expr:
        if e.op == "·":
            return self.reduce(self.transposed(self.lower(e.left)) * self.lower(e.right))
        k = e.right.value if e.op == "^" and isinstance(e.right, m.Num) else None
        if k is not None and k.denominator == 1 and k > 2 and k % 2 == 0 and \
                isinstance(e.left, m.Call) and e.left.func in ("norm", "rms"):
            return self.lower(m.BinOp("^", e.left, m.Num(Fraction(2), "2"))) ** int(k // 2)
        if k == 2 and isinstance(e.left, m.Call) and not e.left.kwargs:
            f, args = e.left.func, e.left.args
            if f == "rms" and len(args) == 1:  # rms(v)² = Σ v² / numel(v)
                return self.square_sum(args[0]) / self.low.scalar(m.Call("numel", args))
            if f == "norm" and len(args) == 2 and isinstance(args[1], m.Name) and \
                    args[1].id == "fro" and self.low.info("fro") is None:
                return self.square_sum(args[0])  # ‖M‖²_F = tr(MᵀM)
        return super().lower(e)

    def _call(self, e: m.Call) -> sp.Expr:
        f, args = e.func, e.args
        if self._plain_scalar(e):
            return self.low.scalar(e)  # sqrt(d1), exp(c): a constant scalar
        if e.kwargs:
            return super().lower(e)
        if f == "numel" and len(args) == 1:
            return self.low.scalar(e)  # the product of the checked shape (no draw is read)
        if f == "trace" and len(args) == 1:
            return self.trace(self.lower(args[0]), self.low.vtype(args[0]).shape[0])
        if f == "ones" and args:
            shape = tuple(size_expr(n) for n in self.low.vtype(e).shape)
            return self.ones_matrix(*shape) if len(shape) == 2 else self.ones(shape[0])
        if f == "sum" and len(args) == 1:
            a = args[0]
            if isinstance(a, m.BinOp) and a.op == "⊙":  # Σ A ⊙ B = tr(AᵀB)
                t = self.low.vtype(a.left)
                return self.trace(self.transposed(self.lower(a.left)) * self.lower(a.right),
                                  t.shape[1] if len(t.shape) == 2 else sp.Integer(1))
            t = self.low.vtype(a)
            if len(t.shape) == 1:
                return self.reduce(self.transposed(self.ones(t.shape[0])) * self.lower(a))
            if len(t.shape) == 2:
                return self.reduce(self.transposed(self.ones(t.shape[0])) * self.lower(a)
                                   * self.ones(t.shape[1]))
        if f == "inv" and len(args) == 1 and isinstance(args[0], m.Name):
            info = self.low.info(args[0].id)
            if info is not None and info.role == "define" and len(info.statement.names) == 1:
                return self.compound_inverse(self.reduce(self.lower(info.statement.value)))
        return super().lower(e)

    def _plain_scalar(self, e: m.Expr) -> bool:
        """A scalar built from declared scalars and sizes only (no tensor, draw or statistic)."""
        if not self.low.vtype(e).is_scalar:
            return False
        for node in walk(e):
            if isinstance(node, (m.Stat, m.Cond)):
                return False
            if isinstance(node, m.Name):
                info = self.low.info(node.id)
                if info is None or info.random or info.role not in ("dim", "scalar", "sweep"):
                    return False
        return True

    def opaque(self, e: m.Expr) -> sp.Symbol:
        for node in walk(e):
            if isinstance(node, m.Name):
                info = self.low.info(node.id)
                if info is not None and info.random:
                    raise Unsupported("a random value inside a function the algebra cannot "
                                      "look into")
        return super().opaque(e)

    def compound_inverse(self, e: sp.Expr) -> sp.Symbol:
        if self.random_left(e):
            raise Unsupported("the inverse of a random matrix")  # E[inv(W)] ≠ inv(E[W])
        return super().compound_inverse(e)

    def square_sum(self, a: m.Expr) -> sp.Expr:
        """Σ of the squared entries of a vector or matrix: tr(AᵀA)."""
        t = self.low.vtype(a)
        if t.is_scalar or len(t.shape) not in (1, 2):
            raise Unsupported("a norm of a scalar or a higher tensor")
        x = self.lower(a)
        return self.trace(self.transposed(x) * x, t.shape[1] if len(t.shape) == 2 else sp.Integer(1))

    # ------------------------------------------------------------ special atoms
    def ones(self, n: sp.Expr) -> sp.Symbol:
        one = self.atom(f"𝟙[{n}]", (n, sp.Integer(1)))
        self.special[(self.transpose[one], one)] = n
        return one

    def ones_matrix(self, r: sp.Expr, c: sp.Expr) -> sp.Expr:
        if c == 1:
            return self.ones(r)
        return self.ones(r) * self.transpose[self.ones(c)]

    def unit(self, kind: str, n: sp.Expr) -> sp.Symbol:
        e = self.atom(f"{kind}[{n}]", (n, sp.Integer(1)))
        self.special[(self.transpose[e], e)] = sp.Integer(1)
        return e

    def _scalar_symbol(self, sub: list) -> sp.Expr:
        if len(sub) == 2 and tuple(sub) in self.special:
            return self.special[tuple(sub)]
        if not any(a in self.centred for a in sub):
            return super()._scalar_symbol(sub)
        names = ["·".join(a.name for a in sub),
                 "·".join(self.transpose[a].name for a in reversed(sub))]
        key = min(names)
        sym = sp.Symbol(f"⟪{key}⟫")
        self.random_scalars.setdefault(sym, (tuple(sub), sp.Integer(1)))
        return sym

    # ------------------------------------------------------------ draws
    def draw(self, name: str) -> Draw:
        if name in self.draws:
            return self.draws[name]
        info = self.low.info(name)
        shape = tuple(size_expr(n) for n in info.vtype.shape)
        if len(shape) > 2:
            raise Unsupported("a random tensor of rank above 2")
        rows, cols = (shape + (sp.Integer(1), sp.Integer(1)))[:2]
        dist = info.dist
        law = law_of(dist)
        if law is None:
            raise Unsupported(f"{name} has no known distribution")
        params = [a for a in args_of(dist) if a is not None]
        for p in params:
            for node in walk(p):
                if isinstance(node, m.Name) and getattr(self.low.info(node.id), "random", False):
                    raise Unsupported(f"a parameter of {name}'s law is random")
        z = self.atom(f"{name}°", (rows, cols))
        if law.name == "normal" and len(params) == 2:
            mean = self._parameter(params[0])
            K, moments = self._covariance(params[1], rows, cols, name)
            gaussian = True
        else:
            mu = raw_moment(dist, 1, self.low)
            K = sp.simplify(raw_moment(dist, 2, self.low) - mu ** 2)
            mean, gaussian = mu, False
            moments = f"iid entries of {law.name}: mean {mu}, variance {K}"
        if mean.is_commutative:
            mean = mean * self.ones_matrix(rows, cols) if mean != 0 and shape else mean
        elif any(self._shape(w) != (rows, cols) for _, w in self._terms(mean)):
            raise Unsupported(f"the mean of {name} is not of its shape")
        d = Draw(name, z, self.transpose[z], rows, cols, mean, K, sp.Integer(1), gaussian, moments)
        self.draws[name] = d
        self.centred[z], self.centred[d.zt] = (d, False), (d, True)
        return d

    def _parameter(self, p: m.Expr) -> sp.Expr:
        x = self.reduce(self.lower(p))
        terms = self._terms(x)
        if any(w for _, w in terms) and any(not w for _, w in terms):
            raise Unsupported("a law parameter mixing a scalar and a matrix")
        if any(c.free_symbols & set(self.random_scalars) for c, _ in terms) or \
                any(a in self.centred for _, w in terms for a in w):
            raise Unsupported("a random law parameter")
        return x

    def _covariance(self, p: m.Expr, rows, cols, name: str) -> tuple[sp.Expr, str]:
        v = self._parameter(p)
        if v.is_commutative:
            return v, f"iid normal entries with variance {v}"
        if cols != 1:
            raise Unsupported("a matrix-valued variance for a matrix draw")
        if any(self._shape(w) != (rows, rows) for _, w in self._terms(v)):
            raise Unsupported("a covariance of the wrong shape")
        if any(c != 0 for c in self.coefficients(v - self.transposed(v)).values()):
            raise Unsupported(f"the covariance of {name} is not symmetric in the algebra")
        return v, f"normal with covariance {v}"

    # ------------------------------------------------------------ traces
    def trace(self, x: sp.Expr, n: sp.Expr) -> sp.Expr:
        """tr(x) for an n×n expression x (linear; an empty word is the identity: n)."""
        out = sp.Integer(0)
        for c, w in self._terms(self.reduce(x)):
            out += c * (n if not w else self.trace_word(tuple(w), n))
        return out

    def trace_word(self, word: tuple, n: sp.Expr) -> sp.Expr:
        w = list(word)
        while True:
            w = self._cancel(w)
            if len(w) >= 2 and self.inverse.get(w[-1]) == w[0]:
                w = w[1:-1]
                continue
            break
        if not w:
            return n
        for i in range(len(w)):  # a size-1 cut: the rotated word is a 1×1 product
            if self.shapes[w[i]][1] == 1:
                rest, scalars = self._scalars(w[i + 1:] + w[:i + 1])
                if not rest:
                    return sp.Mul(*scalars)
        rotations = [w[i:] + w[:i] for i in range(len(w))]
        t = [self.transpose[a] for a in reversed(w)]
        rotations += [t[i:] + t[:i] for i in range(len(t))]
        best = min(rotations, key=lambda r: "·".join(a.name for a in r))
        key = "·".join(a.name for a in best)
        if any(a in self.centred for a in best):
            sym = sp.Symbol(f"⟪tr {key}⟫")
            self.random_scalars.setdefault(sym, (tuple(best), n))
            return sym
        return sp.Symbol(f"tr⟨{key}⟩")

    # ------------------------------------------------------------ statistics
    def statistic(self, e: m.Stat) -> sp.Expr:
        if e.kind == "E" and len(e.args) == 1:
            return self.expectation(self.lower(e.args[0]))
        if e.kind == "Var" and len(e.args) == 1:
            return self.variance(e.args[0])
        if e.kind == "Cov" and len(e.args) == 2:
            ta, tb = (self.low.vtype(a) for a in e.args)
            if len(ta.shape) > 1 or len(tb.shape) > 1 or ta.is_scalar != tb.is_scalar:
                raise Unsupported("Cov of matrices, or of a vector and a scalar")
            a, b = (self.centre(self.lower(x)) for x in e.args)
            self.note("Cov[a, b] = E[(a − E a)(b − E b)ᵀ]")
            return self.expectation(a * self.transposed(b))
        raise Unsupported(f"{e.kind}[…] of random tensors")

    def centre(self, x: sp.Expr) -> sp.Expr:
        return self.reduce(x - self.expectation(x))

    def variance(self, a: m.Expr) -> sp.Expr:
        t = self.low.vtype(a)
        y = self.centre(self.lower(a))
        if t.is_scalar:
            return self.expectation(y * y)
        if len(t.shape) not in (1, 2):
            raise Unsupported("Var of a higher tensor")
        e = self.unit(UNIT[0], t.shape[0])
        if len(t.shape) == 1:
            v = self.expectation(self.transpose[e] * y * self.transposed(y) * e)
        else:
            f = self.unit(UNIT[1], t.shape[1])
            v = self.expectation(self.transpose[e] * y * f * self.transpose[f]
                                 * self.transposed(y) * e)
        v = self.reduce(v)
        if not v.is_commutative or any(u in s.name for s in v.free_symbols for u in UNIT):
            raise Unsupported("Var[…] whose entries differ (its covariance is not c·I)")
        self.note("Var[v]ᵢ = eᵢᵀ E[(v − E v)(v − E v)ᵀ] eᵢ with eᵢᵀeᵢ = 1, the same for every i")
        return v * self.ones_matrix(*(tuple(t.shape) if len(t.shape) == 2 else (t.shape[0], 1)))

    def expectation(self, x: sp.Expr) -> sp.Expr:
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(self.reduce(x))):
            c, nc = term.args_cnc()
            pending = [self._term(c, _word(nc))]
            for d in self.draws.values():
                pending = [r for t in pending for r in self._average(t, d)]
                if len(pending) > MAX_TERMS:
                    raise Unsupported("too many products to average")
            for t in pending:
                value = t.coeff * sp.Mul(*t.main)
                for w, n in t.traces:
                    value *= self.trace_word(w, n)
                out += value
        return self.reduce(out)

    def _term(self, factors: list, word: list) -> Term:
        coeff, traces = sp.Integer(1), []
        randoms = set(self.random_scalars)
        for f in factors:
            base, k = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.Integer(1))
            if base in randoms and k.is_Integer and k > 0:
                traces.extend([self.random_scalars[base]] * int(k))
            elif f.free_symbols & randoms:
                raise Unsupported("a random scalar inside a function or a denominator")
            else:
                self._check_constant(f)
                coeff *= f
        return Term(coeff, tuple(word), tuple(traces))

    def _check_constant(self, f: sp.Expr) -> None:
        for s in f.atoms(sp.Symbol, sp.Indexed):
            name = s.base.label.name if isinstance(s, sp.Indexed) else s.name
            info = self.low.info(name)
            if info is not None and info.random:
                raise Unsupported(f"the random {name} in a form the algebra does not track")

    # ------------------------------------------------------------ averaging one draw
    def _average(self, t: Term, d: Draw) -> list[Term]:
        occ = [(-1, i, a == d.zt) for i, a in enumerate(t.main) if a in (d.z, d.zt)]
        for k, (w, _) in enumerate(t.traces):
            occ += [(k, i, a == d.zt) for i, a in enumerate(w) if a in (d.z, d.zt)]
        if not occ:
            return [t]
        if len(occ) == 1:
            self.note(f"E[… {d.name}° …] = 0: one zero-mean factor, independent of the rest")
            return []
        if len(occ) % 2 and d.gaussian:
            self.note(f"an odd number of {d.name}° factors averages to 0 ({d.name}° and −{d.name}° "
                      f"have one Gaussian law)")
            return []
        if len(occ) in ISSERLIS and d.gaussian:
            return self._isserlis(t, d, occ)
        if len(occ) != 2:
            raise Unsupported(f"{d.name} occurs {len(occ)} times in one product ("
                              + ("more than Isserlis' theorem is expanded for)" if d.gaussian
                                 else "only its first two moments are used)"))
        (k1, i1, t1), (k2, i2, t2) = occ
        traces = list(t.traces)
        if k1 == k2 == -1:
            return self._combine(t.coeff, traces, self._pair_word(t.main, i1, i2, t1, t2, d))
        if k1 == k2:
            w, _ = traces.pop(k1)
            rot = w[i1:] + w[:i1]
            size = d.cols if t1 else d.rows
            out = []
            for c, main, extra in self._pair_word(rot, 0, i2 - i1, t1, t2, d):
                tr = [(main, size)] if main else []
                out.append(Term(t.coeff * c * (1 if main else size), t.main,
                                tuple(traces + extra + tr)))
            return out
        if k1 == -1:
            m_ = self._normalised(traces.pop(k2), i2, t2)
            L, R = sp.Mul(*t.main[:i1]), sp.Mul(*t.main[i1 + 1:])
            if t1:
                self.note("E[tr(Z M)·L Zᵀ R] = L C M K R")
                body = L * d.C * m_ * d.K * R
            else:
                self.note("E[tr(Z M)·L Z R] = L K Mᵀ C R")
                body = L * d.K * self.transposed(m_) * d.C * R
            return self._combine(t.coeff, traces, [(c, tuple(w), []) for c, w in self._terms(body)])
        first, second = sorted([(k1, i1, t1), (k2, i2, t2)], reverse=True)
        n_ = self._normalised(traces.pop(first[0]), first[1], first[2])
        m_ = self._normalised(traces.pop(second[0]), second[1], second[2])
        self.note("E[tr(Z M)·tr(Z N)] = tr(K Nᵀ C M)")
        value = self.trace(d.K * self.transposed(n_) * d.C * m_, d.rows)
        return self._combine(t.coeff, traces, self._split_random(value, t.main))

    def _isserlis(self, t: Term, d: Draw, occ: list) -> list[Term]:
        """E over 2k occurrences of one zero-mean Gaussian part: Isserlis' theorem, the sum
        over the pairings, each pair an independent copy of the part (E[z₁z₂z₃z₄] =
        E[z₁z₂]E[z₃z₄] + E[z₁z₃]E[z₂z₄] + E[z₁z₄]E[z₂z₃] entrywise, and every word is linear
        in each occurrence), so each copy occurs twice and pairs by the rules."""
        self.note(f"Isserlis' theorem: {len(occ)} occurrences of the Gaussian {d.name}° "
                  f"averaged as the sum over their pairings")
        out: list[Term] = []
        for matching in _pairings(list(range(len(occ)))):
            copies = [self._copy(d, p) for p in range(len(matching))]
            swap: dict[tuple, sp.Symbol] = {}
            for (a, b), c in zip(matching, copies):
                for k in (a, b):
                    where, i, transposed = occ[k]
                    swap[(where, i)] = c.zt if transposed else c.z
            main = tuple(swap.get((-1, i), a) for i, a in enumerate(t.main))
            traces = tuple((tuple(swap.get((k, i), a) for i, a in enumerate(w)), n)
                           for k, (w, n) in enumerate(t.traces))
            pending = [Term(t.coeff, main, traces)]
            for c in copies:
                pending = [r for x in pending for r in self._average(x, c)]
            out.extend(pending)
        return out

    def _copy(self, d: Draw, p: int) -> Draw:
        """The p-th independent copy of a draw's zero-mean part (same second moments)."""
        key = f"{d.name}°{p}"
        if key not in self.copies:
            z = self.atom(key, (d.rows, d.cols))
            c = Draw(key, z, self.transpose[z], d.rows, d.cols, sp.Integer(0), d.K, d.C, True,
                     d.moments)
            self.copies[key] = c
            self.centred[z], self.centred[c.zt] = (c, False), (c, True)
        return self.copies[key]

    def _split_random(self, value: sp.Expr, main: tuple) -> list:
        out = []
        for term in sp.Add.make_args(sp.expand(value)):
            c, _ = term.args_cnc()
            t = self._term(c, [])
            out.append((t.coeff, main, list(t.traces)))
        return out

    def _normalised(self, trace: tuple, i: int, transposed: bool) -> sp.Expr:
        """M with tr(word) = tr(Z M) (a trace is invariant under rotation and transposition)."""
        w, _ = trace
        rest = sp.Mul(*(w[i + 1:] + w[:i]))
        return self.transposed(rest) if transposed else rest

    def _combine(self, coeff: sp.Expr, traces: list, parts: list) -> list[Term]:
        return [Term(coeff * c, tuple(main), tuple(traces + list(extra))) for c, main, extra in parts]

    def _pair_word(self, w: tuple, i: int, j: int, ti: bool, tj: bool, d: Draw) -> list:
        """E over the draw of the word w with its two occurrences at i < j: (coeff, word, traces)."""
        L, M, R = sp.Mul(*w[:i]), sp.Mul(*w[i + 1:j]), sp.Mul(*w[j + 1:])
        if not ti and tj:
            self.note("E[L Z M Zᵀ R] = tr(C M)·L K R")
            tr, body = self._trace_parts(d.C * M, d.cols), L * d.K * R
        elif ti and not tj:
            self.note("E[L Zᵀ M Z R] = tr(K M)·L C R")
            tr, body = self._trace_parts(d.K * M, d.rows), L * d.C * R
        elif not ti:
            self.note("E[L Z M Z R] = L K Mᵀ C R")
            tr, body = [(sp.Integer(1), None)], L * d.K * self.transposed(M) * d.C * R
        else:
            self.note("E[L Zᵀ M Zᵀ R] = L C Mᵀ K R")
            tr, body = [(sp.Integer(1), None)], L * d.C * self.transposed(M) * d.K * R
        return [(c * bc, tuple(bw), [tw] if tw else []) for c, tw in tr
                for bc, bw in self._terms(body)]

    def _trace_parts(self, x: sp.Expr, n: sp.Expr) -> list:
        """tr(x) as (coefficient, trace word or None) pairs; tr(I_n) = n."""
        return [(c * n, None) if not w else (c, (tuple(w), n)) for c, w in self._terms(x)]

    # ------------------------------------------------------------ evidence
    def random_left(self, x: sp.Expr) -> bool:
        """Whether x still depends on a draw (a random value outside E/Var/Cov)."""
        if x.free_symbols & (set(self.centred) | set(self.random_scalars)):
            return True
        try:
            self._check_constant(x)
        except Unsupported:
            return True
        return False

    def evidence(self) -> dict:
        return {"draws": {d.name: f"{d.name} = E[{d.name}] + {d.name}°, E[{d.name}] = {d.mean}; "
                          f"{d.moments}" + ("" if d.gaussian else " (only two moments used)")
                          for d in self.draws.values()},
                "rules": list(self.used)}


def _pairings(items: list) -> list[list[tuple]]:
    """Every perfect matching of an even list (the pairings of Isserlis' theorem)."""
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for j, other in enumerate(rest):
        for tail in _pairings(rest[:j] + rest[j + 1:]):
            out.append([(first, other)] + tail)
    return out
