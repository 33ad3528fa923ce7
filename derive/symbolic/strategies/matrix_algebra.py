"""Matrix identities for symbolic sizes in the free non-commutative algebra.

Matrices and vectors are non-commuting symbols; ``inv(M)`` of a declared-invertible M
is a symbol with M·M⁻¹ = M⁻¹·M = I; every 1×1 product such as vᵀM⁻¹u becomes one
commuting scalar (a scalar equals its transpose, so vᵀM⁻¹u and uᵀM⁻ᵀv are one).
``inv(A) == R`` is proved by A·R = I (for square A this makes R the inverse).
After these rewrites the coefficient of every remaining word must cancel; a nonzero
coefficient is the visible residual (the fixed-size strategy then looks for a
counterexample).  Denominators must be nonzero by an ``assume``.
"""
from __future__ import annotations

from typing import Optional

import sympy as sp

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome
from derive.semantics import walk
from derive.symbolic.common import is_equality, proved
from derive.symbolic.lower import Lowering, Unsupported, inline, lowering, number

NAME = "matrix-algebra"
MAX_REWRITES = 12  # nested rule applications on one word (each shortens it when w is unique)
_INVERTIBLE = {"invertible", "spd", "orthogonal"}
_REFUSED = ("argmin", "argmax", "integrate", "svd")


class Algebra:
    """Lowering to non-commutative SymPy expressions plus the word rewriting rules."""

    def __init__(self, low: Lowering):
        self.low = low
        self.shapes: dict[sp.Symbol, tuple] = {}
        self.inverse: dict[sp.Symbol, sp.Symbol] = {}
        self.transpose: dict[sp.Symbol, sp.Symbol] = {}
        self.scalars: dict[str, sp.Symbol] = {}
        self.denominators: list[sp.Expr] = []
        self.opaques: dict = {}  # model expression → its arbitrary-matrix symbol
        self.compound: dict[sp.Symbol, sp.Expr] = {}  # K = inv(E) for a compound E: K ↦ E
        self.rules: list[tuple[str, tuple, sp.Symbol, sp.Expr]] = []  # (side, word, K, value)

    # ------------------------------------------------------------ atoms
    def atom(self, name: str, shape: tuple, tname: Optional[str] = None) -> sp.Symbol:
        sym = sp.Symbol(name, commutative=False)
        if sym not in self.shapes:
            self.shapes[sym] = shape
            tsym = sp.Symbol(tname or name + "ᵀ", commutative=False)
            self.shapes[tsym] = (shape[1], shape[0])
            self.transpose[sym], self.transpose[tsym] = tsym, sym
        return sym

    def tensor(self, name: str) -> sp.Symbol:
        info = self.low.info(name)
        shape = tuple(info.vtype.shape)
        if len(shape) == 1:
            shape = (shape[0], sp.Integer(1))
        if len(shape) != 2:
            raise Unsupported("only vectors and matrices")
        sym = self.atom(name, shape, name if info.props & {"symmetric", "spd", "psd"} else None)
        square = len(shape) == 2 and sp.simplify(shape[0] - shape[1]) == 0
        if info.props & _INVERTIBLE and square:  # a non-square 'orthogonal' is one-sided only
            self._invertible(sym, info.props)
        return sym

    def _invertible(self, sym: sp.Symbol, props) -> None:
        if sym in self.inverse:
            return
        t = self.transpose[sym]
        if "orthogonal" in props:
            self.inverse[sym], self.inverse[t] = t, sym
            return
        inv = self.atom(sym.name + "⁻¹", (self.shapes[sym][1], self.shapes[sym][0]),
                        t.name + "⁻¹" if t != sym else sym.name + "⁻¹")
        self.inverse[sym], self.inverse[inv] = inv, sym
        it = self.transpose[inv]
        self.inverse[t], self.inverse[it] = it, t

    # ------------------------------------------------------------ lowering
    def lower(self, e: m.Expr) -> sp.Expr:
        if isinstance(e, m.Num):
            return number(e)
        if isinstance(e, m.Name):
            info = self.low.info(e.id)
            if info is not None and info.role == "tensor":
                return self.tensor(e.id)
            if info is not None and info.role == "define" and len(info.statement.names) == 1:
                try:
                    return self.lower(info.statement.value)
                except Unsupported:
                    return self.opaque(info.statement.value)
            return self.low.scalar(e)
        if isinstance(e, m.Unary):
            return -self.lower(e.operand)
        if isinstance(e, m.Transpose):
            return self.transposed(self.lower(e.operand))
        if isinstance(e, m.BinOp) and e.op == "^" and _is_norm(e.left) and \
                isinstance(e.right, m.Num) and e.right.value == 2:
            v = self.reduce(self.lower(e.left.args[0]))  # ‖v‖² = vᵀv for a vector v
            terms = [w for _, w in self._terms(v) if w]
            if not terms or self._shape(terms[0])[1] != 1:
                raise Unsupported("the norm of a matrix")
            return self.reduce(self.transposed(v) * v)
        if isinstance(e, m.BinOp):
            if e.op in ("+", "-") and _broadcasts(self.low, e):
                raise Unsupported(f"'{e.op}' broadcasts a scalar or a column over a tensor")
            a, b = self.lower(e.left), self.lower(e.right)
            if e.op == "+":
                return a + b
            if e.op == "-":
                return a - b
            if e.op == "@":
                return self.reduce(a * b)
            if e.op == "*":
                if not (_commutes(self.reduce(a)) or _commutes(self.reduce(b))):
                    raise Unsupported("elementwise product of matrices")
                return a * b
            if e.op == "/":
                d = self.reduce(b)
                if not _commutes(d):
                    raise Unsupported("division by a matrix")
                self.denominators.append(d)
                return a / d
            if e.op == "^" and isinstance(e.right, m.Num) and e.right.value.denominator == 1 \
                    and e.right.value >= 0:
                return self.reduce(a ** int(e.right.value)) if not _commutes(a) else a ** b
            if e.op == "^" and _commutes(self.reduce(a)) and _commutes(b):
                return a ** b
            raise Unsupported(f"operator {e.op} on matrices")
        if isinstance(e, m.Call):
            info = self.low.info(e.func)
            if info is not None and info.role == "funcdef" and not e.kwargs and \
                    len(e.args) == len(info.statement.params):
                return self.lower(inline(info.statement.body, info.statement.params, e.args))
            if e.func == "inv" and len(e.args) == 1 and not isinstance(e.args[0], m.Name):
                return self.compound_inverse(self.reduce(self.lower(e.args[0])))
            if e.func == "inv" and isinstance(e.args[0], m.Name):
                sym = self.tensor(e.args[0].id)
                if sym not in self.inverse:
                    raise Unsupported(f"inv({e.args[0].id}) but it is not declared invertible")
                return self.inverse[sym]
            if e.func == "I":
                return sp.Integer(1)
            if e.func == "zeros":
                return sp.Integer(0)
            return self.opaque(e)
        raise Unsupported(f"no matrix-algebra lowering for {type(e).__name__}")

    def opaque(self, e: m.Expr) -> sp.Symbol:
        """A matrix this algebra cannot look inside (softmax(…), a defined tensor) as an
        arbitrary matrix of its checked shape: equal expressions get one symbol (they have
        one value), and a proof for every matrix covers this one.  Proof-only: this strategy
        never refutes."""
        t = self.low.vtype(e)
        if t.kind != "tensor" or t.is_scalar or len(t.shape) not in (1, 2) or \
                any(d is None for d in t.shape):
            raise Unsupported("an expression of unknown shape")
        shape = tuple(t.shape) if len(t.shape) == 2 else (t.shape[0], sp.Integer(1))
        if e not in self.opaques:
            self.opaques[e] = self.atom(f"⟦{len(self.opaques)}⟧", shape)
        return self.opaques[e]

    def compound_inverse(self, e: sp.Expr) -> sp.Symbol:
        """A symbol K for inv(E) of a compound square E, with the rewriting rules of
        E·K = I and K·E = I: for E's longest word w (coefficient c),
        w·K → (I − (E − c·w)·K)/c and K·w → (I − K·(E − c·w))/c — identities wherever
        inv(E) exists, which is wherever the claim is defined."""
        for k, known in self.compound.items():
            if sp.expand(known - e) == 0:
                return k
        terms = self._terms(e)
        shapes = [self._shape(w) for _, w in terms if w]
        if not shapes or shapes[0][0] != shapes[0][1]:
            raise Unsupported("inv of a non-square expression")
        n = shapes[0][0]
        k = self.atom(f"inv{len(self.compound)}", (n, n))
        kt = self.transpose[k]
        self.compound[k] = e
        self.compound[kt] = self.transposed(e)
        for sym, ex in ((k, e), (kt, self.compound[kt])):
            words = self._terms(ex)
            longest = max(len(w) for _, w in words)
            c, w = next((c, w) for c, w in words if len(w) == longest)
            if not w or c == 0:
                continue
            rest = ex - c * sp.Mul(*w)
            self.rules.append(("left", tuple(w), sym, (1 - rest * sym) / c))
            self.rules.append(("right", tuple(w), sym, (1 - sym * rest) / c))
        return k

    def _terms(self, e: sp.Expr) -> list:
        out = []
        for term in sp.Add.make_args(sp.expand(e)):
            c, nc = term.args_cnc()
            out.append((sp.Mul(*c), _word(nc)))
        return out

    def _shape(self, word: list) -> tuple:
        return (self.shapes[word[0]][0], self.shapes[word[-1]][1])

    def _apply_rules(self, word: list) -> Optional[sp.Expr]:
        """One rewriting step on a word, or None when no rule matches."""
        for side, pat, k, value in self.rules:
            n = len(pat)
            for i in range(len(word) - n):
                if side == "left" and tuple(word[i:i + n]) == pat and word[i + n] == k:
                    return sp.Mul(*word[:i]) * value * sp.Mul(*word[i + n + 1:])
                if side == "right" and word[i] == k and tuple(word[i + 1:i + n + 1]) == pat:
                    return sp.Mul(*word[:i]) * value * sp.Mul(*word[i + n + 1:])
        return None

    def transposed(self, x: sp.Expr) -> sp.Expr:
        x = sp.expand(x)
        out = sp.Integer(0)
        for term in sp.Add.make_args(x):
            c, nc = term.args_cnc()
            word = [self.transpose[a] for a in reversed(_word(nc))]
            out += sp.Mul(*c) * sp.Mul(*word)
        return out

    # ------------------------------------------------------------ rewriting
    def reduce(self, x: sp.Expr, depth: int = 0) -> sp.Expr:
        x = sp.expand(x)
        out = sp.Integer(0)
        for term in sp.Add.make_args(x):
            c, nc = term.args_cnc()
            word = self._cancel(_word(nc))
            coeff = sp.Mul(*c)
            if self.rules and depth < MAX_REWRITES:
                swapped = self._apply_rules(word)
                if swapped is not None:
                    out += self.reduce(coeff * swapped, depth + 1)
                    continue
            word, scalars = self._scalars(word)
            out += coeff * sp.Mul(*scalars) * sp.Mul(*word)
        return out

    def _cancel(self, word: list) -> list:
        changed = True
        while changed:
            changed = False
            for i in range(len(word) - 1):
                if self.inverse.get(word[i]) == word[i + 1]:
                    word = word[:i] + word[i + 2:]
                    changed = True
                    break
        return word

    def _scalars(self, word: list) -> tuple[list, list]:
        scalars = []
        i = 0
        while i < len(word):
            if self.shapes[word[i]][0] == 1:
                for j in range(i, len(word)):
                    if self.shapes[word[j]][1] == 1:
                        sub = word[i:j + 1]
                        scalars.append(self._scalar_symbol(sub))
                        word = word[:i] + word[j + 1:]
                        break
                else:
                    i += 1
                continue
            i += 1
        return word, scalars

    def _scalar_symbol(self, sub: list) -> sp.Symbol:
        names = ["·".join(a.name for a in sub),
                 "·".join(self.transpose[a].name for a in reversed(sub))]
        key = min(names)
        if key not in self.scalars:
            self.scalars[key] = sp.Symbol(f"⟨{key}⟩")
        return self.scalars[key]

    def coefficients(self, x: sp.Expr) -> dict[tuple, sp.Expr]:
        """Coefficient of every remaining word (the scalar part collected and cancelled)."""
        out: dict[tuple, sp.Expr] = {}
        for term in sp.Add.make_args(sp.expand(self.reduce(x))):
            c, nc = term.args_cnc()
            key = tuple(_word(nc))
            out[key] = out.get(key, sp.Integer(0)) + sp.Mul(*c)
        return {k: sp.cancel(sp.together(v)) for k, v in out.items()}


def _word(nc: list) -> list:
    word = []
    for a in nc:
        if isinstance(a, sp.Pow) and a.exp.is_Integer and a.exp > 0:
            word.extend([a.base] * int(a.exp))
        elif isinstance(a, sp.Symbol):
            word.append(a)
        else:
            raise Unsupported(f"non-commutative factor {a}")
    return word


def _broadcasts(low: Lowering, e: m.BinOp) -> bool:
    """``A + 1`` adds 1 to every entry and ``W @ X + b`` adds b to every column: neither is
    a sum in the algebra, where a scalar c stands for c·I."""
    ranks = []
    for t in (low.vtype(e.left), low.vtype(e.right)):
        if t.kind not in ("scalar", "tensor"):
            return False   # a type the checker left open: not judged here
        ranks.append(0 if t.is_scalar else len(t.shape))
    return ranks[0] != ranks[1]


def _commutes(x: sp.Expr) -> bool:
    return all(s.is_commutative for s in x.free_symbols)


class MatrixAlgebra:
    name = NAME
    algebra = Algebra  # a subclass may extend the lowering (matcalc.CalcAlgebra)
    refused = _REFUSED  # a statement calling one of these is declined
    roles = ("tensor",)  # a statement needs a name of one of these roles with a tensor type

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if not is_equality(st):
            return None
        if not _matrix_statement(ctx, st, self.refused, self.roles):
            return None
        low = lowering(ctx.checked)
        alg = self.algebra(low)
        a, b = st.operands
        try:
            if _is_inv_of_compound(b):
                a, b = b, a
            if _is_inv_of_compound(a):
                target = alg.lower(a.args[0])
                residual = target * alg.lower(b) - 1
                how = "A · rhs = I (the lhs is inv(A))"
            else:
                residual = alg.lower(a) - alg.lower(b)
                how = "lhs − rhs"
            coeffs = alg.coefficients(residual)
            assumed = self._assumed_nonzero(alg, low)
        except Unsupported as exc:
            ctx.notes.append(f"{self.name}: {exc}")
            return None
        nonzero = {k: v for k, v in coeffs.items() if v != 0}
        if nonzero and alg.compound:
            for k, e in list(alg.compound.items()):  # E·D = 0 ⇒ D = 0 for invertible E
                for side in ("left", "right"):
                    try:
                        product = e * residual if side == "left" else residual * e
                        again = alg.coefficients(product)
                    except Unsupported:
                        continue
                    if all(v == 0 for v in again.values()):
                        nonzero = {}
                        how += f" (multiplied on the {side} by the invertible E of {k} = E⁻¹)"
                        break
                if not nonzero:
                    break
        if nonzero:
            words = {("·".join(s.name for s in k) or "I"): str(v) for k, v in nonzero.items()}
            ctx.notes.append(f"{self.name}: residual {words}")
            return None
        if not self.denominators_ok(ctx, alg, assumed):
            return None
        return proved(f"{how} reduces to 0 in the free algebra (1×1 products as scalars, "
                      f"M·M⁻¹ = I) for general sizes", self.name, residual="0", general=True,
                      side_conditions=getattr(alg, "conditions", None) or None,
                      scalars=sorted(alg.scalars),
                      arbitrary=[f"{sym.name}: any {alg.shapes[sym][0]}×{alg.shapes[sym][1]} matrix"
                                 for sym in alg.opaques.values()] or None)

    def denominators_ok(self, ctx: Context, alg: Algebra, assumed: list) -> bool:
        """Every denominator the lowering met is nonzero by the declarations (else a note)."""
        for d in alg.denominators:
            if not _denominator_ok(d, assumed):
                ctx.notes.append(f"{self.name}: denominator {d} is not assumed nonzero")
                return False
        return True

    def _assumed_nonzero(self, alg: Algebra, low: Lowering) -> list:
        out = []
        for st in low.checked.claim.statements:
            if isinstance(st, m.Assume) and isinstance(st.condition, m.Compare) \
                    and st.condition.ops == ("!=",):
                x, y = st.condition.operands
                try:
                    d = alg.reduce(alg.lower(x) - alg.lower(y))
                except Unsupported:
                    continue
                if _commutes(d):
                    out.append(d)
        return out


def _denominator_ok(d: sp.Expr, assumed: list) -> bool:
    _, factors = sp.factor_list(d)
    for f, _ in factors:
        if f.is_number and f != 0:
            continue
        if f.free_symbols and all(s.is_positive for s in f.free_symbols) and f.is_positive:
            continue
        if any(sp.cancel(f / a).is_number for a in assumed):
            continue
        if f.is_nonzero:
            continue
        return False
    return True


def _is_norm(e: m.Expr) -> bool:
    return isinstance(e, m.Call) and e.func == "norm" and len(e.args) == 1 and not e.kwargs


def _is_inv_of_compound(e: m.Expr) -> bool:
    return isinstance(e, m.Call) and e.func == "inv" and len(e.args) == 1 \
        and not isinstance(e.args[0], m.Name)


def _matrix_statement(ctx: Context, st: m.Expr, refused: tuple = _REFUSED,
                      roles: tuple = ("tensor",)) -> bool:
    found = False
    for node in walk(st):
        if isinstance(node, m.Name):
            info = ctx.checked.symbols.get(node.id)
            if info is None:
                continue
            if info.role in ("sequence", "function"):
                return False   # a random name is fine: an identity for all its values holds surely
            if info.role in roles and info.vtype.kind == "tensor" and len(info.vtype.shape) in (1, 2):
                found = True
        if isinstance(node, (m.Stat, m.Cond, m.Cost, m.BigO, m.Index)):
            return False
        if isinstance(node, m.Call) and node.func in refused:
            return False
    return found

