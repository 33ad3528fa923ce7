"""The free matrix algebra extended by the SVD, diagonal matrices, pinv, symbolic powers
and dot products (used by the ``svd-algebra`` strategy).

* ``let U, S, V = svd(X)`` is thin (derive's numeric lowering: torch.linalg.svd with
  full_matrices=False): for X of shape m×n and k = min(m, n), U is m×k, V is n×k,
  X = U·diag(S)·Vᵀ, UᵀU = VᵀV = I and S ≥ 0.  A Name X is replaced by U·D·Vᵀ.  The
  rules are one-sided: the word Uᵀ·U cancels, U·Uᵀ only when U is square, i.e. m = k is
  implied by the shapes and the ``assume``s (min(n, d) = n when d > n).  A matrix declared
  (semi_)orthogonal of shape a×b is one-sided the same way: QᵀQ = I when b ≤ a, QQᵀ = I
  when a ≤ b (how derive draws such a matrix).
* ``diag(v)`` of an elementwise vector expression is a diagonal symbol carrying v's
  entry as a scalar function f of generic entry symbols (a⟨i⟩ for the vector a): adjacent
  diagonals multiply (diag(f)diag(g) = diag(fg), so diagonals commute), diag(1) = I,
  diag(f)ᵀ = diag(f), diag(f)^h = diag(f^h), inv(diag(f)) = diag(1/f) when f ≠ 0 is
  implied (every division records its denominator, checked as in the base algebra).
  A word A₀·diag(f₁)·A₁·diag(f₂)·… equals Σᵢⱼ f₁(i)f₂(j)·A₀eᵢeᵢᵀA₁eⱼeⱼᵀ…, so words
  with the same skeleton add their slot functions (each slot with its own entry
  symbols), and the skeleton with a slot removed is that slot with f = 1.
* inv(P) of a single word whose factors are all square and invertible is the reversed
  word of inverses; pinv(X) of a full-rank X is V·diag(1/S)·Uᵀ (S > 0 then).
* ``a · b`` of vectors is aᵀb; ``sum(v)``, aᵀb and aᵀdiag(f)b of plain vectors are one
  scalar Σᵢ(…) of their entries.
* A^h of one square matrix for a nonnegative integer h is a power symbol; adjacent
  powers of one base add their exponents (A^h·A^h = A^(2h), A^0 = I).
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.semantics import walk
from derive.symbolic.lower import Lowering, Unsupported, size_expr
from derive.symbolic.strategies.matrix_algebra import Algebra

_FULL = {"full_rank", "invertible", "spd", "orthogonal"}  # every singular value positive
_ORTHO = {"orthogonal", "semi_orthogonal"}


class SvdAlgebra(Algebra):
    """:class:`Algebra` with the SVD, diagonal, pinv, power and dot rules (module doc)."""

    def __init__(self, low: Lowering):
        super().__init__(low)
        self.cancels: set[tuple] = set()  # (a, b) with a·b = I (one-sided)
        self.diags: dict[sp.Symbol, tuple] = {}  # diag symbol → (size, entry function)
        self.powers: dict[sp.Symbol, tuple] = {}  # power symbol → (base, exponent)
        self.entries: dict[sp.Symbol, sp.Symbol] = {}  # vector atom (or its ᵀ) → entry symbol
        self.markers: set[sp.Symbol] = set()
        self.sums: dict[str, sp.Symbol] = {}
        self.summands: dict[sp.Symbol, sp.Expr] = {}  # Σ symbol → its summand
        self.units: set[sp.Symbol] = set()  # entry symbols of declared unit vectors
        self.conditions: list[str] = []
        self.svd_of: dict[str, tuple] = {}  # X → (U name, S name, V name) of svd(X)
        self.factors: dict[str, tuple] = {}  # X → (U, D, V, s, full rank)
        self._scan()

    def _note(self, text: str) -> None:
        if text not in self.conditions:  # the proof's evidence lists each once
            self.conditions.append(text)

    # ------------------------------------------------------------ sizes
    def _orders(self) -> list:
        """Expressions known to be ≥ 0 from the ``assume``s and bounds."""
        out = []
        for cond in self.low.conditions:
            for rel in (cond.args if isinstance(cond, sp.And) else (cond,)):
                if isinstance(rel, (sp.StrictGreaterThan, sp.GreaterThan)):
                    out.append(rel.lhs - rel.rhs)
                elif isinstance(rel, (sp.StrictLessThan, sp.LessThan)):
                    out.append(rel.rhs - rel.lhs)
                elif isinstance(rel, sp.Equality):
                    out += [rel.lhs - rel.rhs, rel.rhs - rel.lhs]
        return out

    def le(self, a: sp.Expr, b: sp.Expr) -> bool:
        """a ≤ b is implied by the declarations (directly or by one assume)."""
        diff = sp.expand(b - a)
        if diff.is_nonnegative:
            return True
        return any(sp.expand(diff - known).is_nonnegative for known in self._orders())

    def dim(self, d) -> sp.Expr:
        """A size with every min(a, b) resolved where the declarations order a and b."""
        d = size_expr(d)
        for mn in d.atoms(sp.Min):
            least = [a for a in mn.args if all(self.le(a, b) for b in mn.args)]
            if least:
                d = d.xreplace({mn: least[0]})
        return d

    def square(self, shape: tuple) -> bool:
        return sp.expand(shape[0] - shape[1]) == 0

    def atom(self, name: str, shape: tuple, tname: Optional[str] = None) -> sp.Symbol:
        return super().atom(name, tuple(self.dim(d) for d in shape), tname)

    def tensor(self, name: str) -> sp.Symbol:
        sym = super().tensor(name)
        info = self.low.info(name)
        rows, cols = self.shapes[sym]
        if len(info.vtype.shape) == 1:
            self._entries_of(sym, name, info.props)
        elif info.props & _ORTHO:
            self._one_sided(sym, (rows, cols), f"{name} is declared {'/'.join(sorted(info.props & _ORTHO))}")
        return sym

    def _one_sided(self, q: sp.Symbol, shape: tuple, why: str) -> None:
        """QᵀQ = I when Q has orthonormal columns (b ≤ a), QQᵀ = I when rows (a ≤ b)."""
        a, b = shape
        t = self.transpose[q]
        if self.le(b, a):
            self.cancels.add((t, q))
            self._note(f"{q.name}ᵀ{q.name} = I: {why} with {b} ≤ {a} columns ≤ rows")
        if self.le(a, b):
            self.cancels.add((q, t))
            self._note(f"{q.name}{q.name}ᵀ = I: {why} with {a} ≤ {b} rows ≤ columns")

    def _entries_of(self, sym: sp.Symbol, name: str, props) -> sp.Symbol:
        if sym not in self.entries:
            kw: dict = {"real": True}
            if "positive" in props:
                kw["positive"] = True
            if "nonnegative" in props:
                kw["nonnegative"] = True
            if "nonzero" in props:
                kw["nonzero"] = True
            e = sp.Symbol(f"{name}⟨i⟩", **kw)  # the i-th entry (no name the grammar spells)
            if "unit" in props:
                self.units.add(e)
            self.entries[sym] = self.entries[self.transpose[sym]] = e
        return self.entries[sym]

    # ------------------------------------------------------------ svd
    def _scan(self) -> None:
        """Every svd(Name) definition, and every pinv(Name) (which needs the SVD of its
        argument), so the argument is replaced by U·D·Vᵀ wherever it occurs."""
        statements = self.low.checked.claim.statements
        for st in statements:
            if isinstance(st, m.Define) and len(st.names) > 1 and isinstance(st.value, m.Call) \
                    and st.value.func == "svd" and st.value.args and \
                    isinstance(st.value.args[0], m.Name):
                self.svd_of.setdefault(st.value.args[0].id, tuple(n.id for n in st.names))
        for st in statements:
            for node in walk(st):
                if isinstance(node, m.Call) and node.func == "pinv" and len(node.args) == 1 \
                        and isinstance(node.args[0], m.Name) and self._full_rank(node.args[0].id):
                    self.svd_of.setdefault(node.args[0].id, ())

    def _full_rank(self, name: str) -> bool:
        info = self.low.info(name)
        return info is not None and info.role == "tensor" and bool(info.props & _FULL)

    def _factors(self, x: str) -> tuple:
        """(U, D, V, s, full rank) of the thin SVD of the matrix named x."""
        if x in self.factors:
            return self.factors[x]
        info = self.low.info(x)
        shape = tuple(info.vtype.shape) if info is not None else ()
        if info is None or info.vtype.kind != "tensor" or len(shape) != 2 or None in shape:
            raise Unsupported(f"svd of '{x}', which is not a matrix of known shape")
        names = self.svd_of.get(x, ())
        un = names[0] if len(names) > 0 else f"U⟨{x}⟩"  # ⟨⟩: no name the grammar spells
        sn = names[1] if len(names) > 1 else f"S⟨{x}⟩"
        vn = names[2] if len(names) > 2 else f"V⟨{x}⟩"
        rows, cols = (self.dim(d) for d in shape)
        k = self.dim(sp.Min(rows, cols))
        full = self._full_rank(x)
        u, v = self.atom(un, (rows, k)), self.atom(vn, (cols, k))
        for q, n in ((u, rows), (v, cols)):
            t = self.transpose[q]
            self.cancels.add((t, q))
            if self.square((n, k)):
                self.inverse[q], self.inverse[t] = t, q
        s_atom = self.atom(sn, (k, sp.Integer(1)))
        s = self._entries_of(s_atom, sn, {"positive"} if full else {"nonnegative"})
        d = self.diag_symbol(k, s)
        self.factors[x] = (u, d, v, s, full)
        self._note(f"{x} = {un}·diag({sn})·{vn}ᵀ (thin SVD, k = {k}): {un}ᵀ{un} = {vn}ᵀ{vn} = I, "
                   f"{sn} ≥ 0" + (f", {sn} > 0 ({x} is declared {'/'.join(sorted(info.props & _FULL))})"
                                   if full else ""))
        for q, qn, n in ((u, un, rows), (v, vn, cols)):
            if self.square((n, k)):
                self._note(f"{qn} is square ({n} = min({rows}, {cols}) by the shapes and assumes), "
                           f"so also {qn}{qn}ᵀ = I")
        return self.factors[x]

    def _svd_name(self, name: str) -> Optional[sp.Expr]:
        """X of svd(X) as U·D·Vᵀ, or U, S, V themselves; None for other names."""
        if name in self.svd_of:
            u, d, v, _, _ = self._factors(name)
            return u * d * self.transpose[v]
        for x, names in self.svd_of.items():
            if name in names:
                u, d, v, s, _ = self._factors(x)
                i = names.index(name)
                if i == 0:
                    return u
                if i == 2:
                    return v
                return next(a for a, e in self.entries.items() if e == s and a.name == name)
        return None

    # ------------------------------------------------------------ diagonals, powers
    def diag_symbol(self, size: sp.Expr, f: sp.Expr) -> sp.Expr:
        """diag(f) of size×size for an entry function f (1 for f = 1)."""
        f = sp.cancel(sp.together(size_expr(f)))
        if f == 1:
            return sp.Integer(1)
        entries = set(self.entries.values())
        name = f"diag({f})" if f.free_symbols & entries else f"diag{size}({f})"
        sym = self.atom(name, (size, size), name)
        self.diags[sym] = (size, f)
        return sym

    def power_symbol(self, base: sp.Symbol, exp: sp.Expr) -> sp.Expr:
        """base^exp for a square atom and a nonnegative integer exponent."""
        exp = sp.expand(exp)
        if not (exp.is_integer and exp.is_nonnegative):
            raise Unsupported(f"matrix power by {exp}, not implied to be an integer ≥ 0")
        if exp.is_Integer:
            return base ** int(exp)
        if base in self.diags:
            size, f = self.diags[base]
            return self.diag_symbol(size, f ** exp)
        t = self.transpose[base]
        name, tname = f"{base.name}^({exp})", f"{t.name}^({exp})"
        sym = self.atom(name, self.shapes[base], tname if t != base else name)
        self.powers[sym] = (base, exp)
        self.powers[self.transpose[sym]] = (t, exp)
        return sym

    def _base(self, a: sp.Symbol) -> tuple:
        return self.powers.get(a, (a, sp.Integer(1)))

    def _cancel(self, word: list) -> list:
        while True:
            word = super()._cancel(word)
            merged = self._merge(word)
            if merged == word:
                return word
            word = merged

    def _merge(self, word: list) -> list:
        """One step: a one-sided cancellation, two adjacent diagonals or powers of one base."""
        for i in range(len(word) - 1):
            a, b = word[i], word[i + 1]
            if (a, b) in self.cancels:
                return word[:i] + word[i + 2:]
            if a in self.diags and b in self.diags:
                return word[:i] + _word_of(self.diag_symbol(self.diags[a][0],
                                                            self.diags[a][1] * self.diags[b][1])) + word[i + 2:]
            (ba, ea), (bb, eb) = self._base(a), self._base(b)
            if ba == bb and (a in self.powers or b in self.powers):
                return word[:i] + _word_of(self.power_symbol(ba, ea + eb)) + word[i + 2:]
        return word

    # ------------------------------------------------------------ lowering
    def lower(self, e: m.Expr) -> sp.Expr:
        if isinstance(e, m.Name):
            hit = self._svd_name(e.id)
            if hit is not None:
                return hit
        if isinstance(e, m.BinOp) and e.op == "·":
            return self.dot(e.left, e.right)
        if isinstance(e, m.BinOp) and e.op == "^" and not isinstance(e.right, m.Num):
            return self.power(e)
        if isinstance(e, m.Call) and not e.kwargs:
            out = self.call(e)
            if out is not None:
                return out
        return super().lower(e)

    def call(self, e: m.Call) -> Optional[sp.Expr]:
        info = self.low.info(e.func)
        if info is not None:
            return None  # a user function: the base algebra inlines it
        if e.func == "diag" and len(e.args) == 1 and self._is_vector(e.args[0]):
            try:
                f = self.entry(e.args[0])
            except Unsupported:
                return None  # an arbitrary matrix (opaque) in the base algebra
            return self.diag_symbol(self.dim(self.low.vtype(e.args[0]).shape[0]), f)
        if e.func == "dot" and len(e.args) == 2:
            return self.dot(*e.args)
        if e.func == "sum" and len(e.args) == 1 and self._is_vector(e.args[0]):
            return self.sigma(self.entry(e.args[0]))
        if e.func == "pinv" and len(e.args) == 1:
            return self.pinv(e.args[0])
        if e.func == "inv" and len(e.args) == 1:
            x = self.reduce(self.lower(e.args[0]))
            return self.invert_word(x)
        return None

    def _is_vector(self, e: m.Expr) -> bool:
        t = self.low.vtype(e)
        return t.kind == "tensor" and len(t.shape) == 1

    def dot(self, a: m.Expr, b: m.Expr) -> sp.Expr:
        if not (self._is_vector(a) and self._is_vector(b)):
            raise Unsupported("'·' of tensors other than two vectors")
        return self.reduce(self.transposed(self.lower(a)) * self.lower(b))

    def power(self, e: m.BinOp) -> sp.Expr:
        base = self.reduce(self.lower(e.left))
        exp = self.low.scalar(e.right)
        if base.is_commutative:
            return base ** exp  # a scalar power
        terms = self._terms(base)
        if len(terms) != 1 or len(terms[0][1]) != 1:
            raise Unsupported("a symbolic power of a sum or a product of matrices")
        c, (atom,) = terms[0]
        if not self.square(self.shapes[atom]):
            raise Unsupported("a power of a non-square matrix")
        return c ** exp * self.power_symbol(atom, exp)

    def pinv(self, arg: m.Expr) -> sp.Expr:
        if not isinstance(arg, m.Name):
            raise Unsupported("pinv of a compound expression")
        if not self._full_rank(arg.id):
            raise Unsupported(f"pinv({arg.id}) but it is not declared full_rank")
        u, d, v, s, _ = self._factors(arg.id)
        self._note(f"pinv({arg.id}) = V·diag(S)⁻¹·Uᵀ of its thin SVD: {arg.id} is declared full_rank, "
                   f"so every singular value is positive")
        self.denominators.append(s)
        return v * self.diag_symbol(self.diags[d][0], 1 / s) * self.transpose[u]

    def invert_word(self, x: sp.Expr) -> Optional[sp.Expr]:
        """inv(c·F₁⋯Fₖ) = c⁻¹·Fₖ⁻¹⋯F₁⁻¹ when every Fᵢ is square and invertible; None else."""
        terms = self._terms(x)
        if len(terms) != 1 or terms[0][0] == 0:
            return None
        c, word = terms[0]
        out, nonzero = [], [] if c.is_number else [c]
        for f in reversed(word):
            if f in self.diags:
                size, g = self.diags[f]
                nonzero.append(g)
                out.append(self.diag_symbol(size, 1 / g))
            elif f in self.inverse and self.square(self.shapes[f]):
                out.append(self.inverse[f])
            else:
                return None
        self.denominators.extend(nonzero)
        if word:
            self._note("inv(F₁⋯Fₖ) = Fₖ⁻¹⋯F₁⁻¹: every factor is square and invertible ("
                       + ", ".join(f.name for f in word) + ")")
        return sp.Mul(*out) / c

    # ------------------------------------------------------------ entries
    def entry(self, e: m.Expr) -> sp.Expr:
        """The i-th entry of an elementwise vector expression as a function of entry symbols."""
        t = self.low.vtype(e)
        if t.kind == "scalar" or t.is_scalar:
            return self.low.scalar(e)
        if t.kind != "tensor" or len(t.shape) != 1:
            raise Unsupported("an entry of a non-vector")
        if isinstance(e, m.Name):
            return self._entry_name(e)
        if isinstance(e, m.Unary):
            return -self.entry(e.operand)
        if isinstance(e, m.BinOp) and e.op in ("+", "-", "*", "⊙", "/", ".^", "^"):
            a, b = self.entry(e.left), self.entry(e.right)
            if e.op in ("/",):
                self.denominators.append(b)
                return a / b
            if e.op in (".^", "^"):
                if not (b.is_integer and b.is_nonnegative):
                    if not b.is_integer:
                        raise Unsupported(f"an entrywise power by {b}, not an integer")
                    self.denominators.append(a)
                return a ** b
            return {"+": a + b, "-": a - b}.get(e.op, a * b)
        if isinstance(e, m.Call) and e.func in ("ones", "zeros") and self.low.info(e.func) is None:
            return sp.Integer(1 if e.func == "ones" else 0)
        raise Unsupported("a vector that is not elementwise in named vectors")

    def _entry_name(self, e: m.Name) -> sp.Expr:
        hit = self._svd_name(e.id)
        if hit is not None and hit in self.entries:
            return self.entries[hit]
        info = self.low.info(e.id)
        if info is not None and info.role == "tensor":
            return self.entries[self.tensor(e.id)]
        if info is not None and info.role == "define" and len(info.statement.names) == 1:
            return self.entry(info.statement.value)
        raise Unsupported(f"the entries of '{e.id}'")

    def sigma(self, f: sp.Expr) -> sp.Expr:
        """Σᵢ f(i) over the entries, one scalar symbol per product of entry symbols."""
        entries = set(self.entries.values())
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(f)):
            c, rest = term.as_independent(*entries, as_Add=False)
            if rest == 1:
                raise Unsupported("a sum of a constant vector (its length times the constant)")
            key = str(rest)
            if key not in self.sums:
                self.sums[key] = sp.Symbol(f"Σ({key})")
                self.summands[self.sums[key]] = rest
            out += c * self.sums[key]
        return out

    def unit_inner_products(self, x: sp.Expr) -> tuple[sp.Expr, list]:
        """x with every Σᵢuᵢ² of a declared unit vector u replaced by 1, and the symbols
        Σᵢuᵢvᵢ of two unit vectors (|uᵀv| ≤ 1 by Cauchy–Schwarz)."""
        ones, bounded = {}, []
        for sym, rest in self.summands.items():
            powers = rest.as_powers_dict()
            if not set(powers) <= self.units:
                continue
            if list(powers.values()) == [2]:
                ones[sym] = sp.Integer(1)
            elif list(powers.values()) == [1, 1]:
                bounded.append(sym)
        return x.xreplace(ones), bounded

    def _scalar_symbol(self, sub: list) -> sp.Expr:
        if len(sub) in (2, 3) and sub[0] in self.entries and sub[-1] in self.entries and \
                (len(sub) == 2 or sub[1] in self.diags):
            middle = self.diags[sub[1]][1] if len(sub) == 3 else 1
            return self.sigma(self.entries[sub[0]] * middle * self.entries[sub[-1]])
        return super()._scalar_symbol(sub)

    # ------------------------------------------------------------ words
    def coefficients(self, x: sp.Expr) -> dict[tuple, sp.Expr]:
        """Coefficients per skeleton: each diagonal becomes a slot marker of its size and
        its function (entry symbols renamed per slot) joins the coefficient; a skeleton
        with its slots dropped is the same skeleton with f = 1 in every slot."""
        out: dict[tuple, sp.Expr] = {}
        for word, c in super().coefficients(x).items():
            skeleton, f = self._skeleton(word)
            out[skeleton] = out.get(skeleton, sp.Integer(0)) + c * f
        for skeleton in sorted(out, key=len, reverse=True):
            bare = tuple(a for a in skeleton if a not in self.markers)
            if bare != skeleton and bare in out and skeleton in out:
                out[skeleton] += out.pop(bare)
        return {k: sp.cancel(sp.together(v)) for k, v in out.items()}

    def _skeleton(self, word: tuple) -> tuple:
        skeleton, f = [], sp.Integer(1)
        entries = set(self.entries.values())
        for a in word:
            if a not in self.diags:
                skeleton.append(a)
                continue
            size, g = self.diags[a]
            j = len([s for s in skeleton if s in self.markers])
            marker = sp.Symbol(f"diag[{size}]", commutative=False)
            self.markers.add(marker)
            skeleton.append(marker)
            f *= g.xreplace({s: sp.Symbol(f"{s.name}#{j}", **s.assumptions0)
                             for s in g.free_symbols & entries})
        return tuple(skeleton), f


def _word_of(x: sp.Expr) -> list:
    """The factors of a single word (the identity 1 is the empty word)."""
    if x == 1:
        return []
    _, nc = x.args_cnc()
    out = []
    for a in nc:
        if isinstance(a, sp.Pow):
            out.extend([a.base] * int(a.exp))
        else:
            out.append(a)
    return out

