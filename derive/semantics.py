"""The semantic pass: names, domains, shapes with symbolic dimensions, randomness.

Input: a model :class:`~derive.model.Claim`.  Output: a :class:`CheckedClaim` (the
symbol table every engine reads) or diagnostics.  Dimensions are SymPy expressions
built from the model (never from text), so ``n - k + 1`` and ``m`` compare exactly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

import sympy as sp

from derive import model as m
from derive.errors import Diagnostic, suggest
from derive.language.confusables import describe as describe_name
from derive.language.confusables import mixed_script, skeleton
from derive.language.functions import (CONSTANTS, COST_NAMES, DISTRIBUTIONS, FUNCTION_HINTS,
                                       FUNCTIONS, PROPERTIES, RESERVED, STAT_NAMES, kind_of)
from derive.language.names import normalize, pretty
from derive.params import ParamChecker
from derive.vocabulary.distributions import args_of, law_of

MAX_DIM_LITERAL = 10**7
MAX_EXPONENT = 10**4
MAX_FACTORIAL = 10**5
MAX_SIZE_DEGREE = 8  # sizes such as n^2 or n*k^3; n^64 would make shape algebra hang


RANDOM_PROPERTY_HINT = ("declare the random name without it and build the constrained value "
                        "from it with 'let'")
RANDOM_PROPERTY_HINTS = {  # how to draw the constrained value instead
    "unit": "for a uniform unit vector: let z : vector[n] ~ normal(0, 1) and let x = z / norm(z)",
    "simplex": "for a uniform point of the simplex: let g : vector[n] ~ exponential(1) and "
               "let x = g / sum(g)",
    "positive": "use a distribution with positive values (exponential(λ)), or let x = exp(z) "
                "of a normal z",
    "symmetric": "let Z : matrix[n, n] ~ normal(0, 1) and let S = (Z + Zᵀ) / 2",
    "psd": "let Z : matrix[n, n] ~ normal(0, 1) and let S = Z @ Zᵀ",
    "spd": "let Z : matrix[n, n] ~ normal(0, 1) and let S = Z @ Zᵀ + I[n]",
    "orthogonal": "let Z : matrix[n, n] ~ normal(0, 1) and let U, S, V = svd(Z): U is orthogonal",
}


@dataclass(frozen=True)
class VType:
    """The inferred type of an expression.  ``shape`` holds SymPy dimensions; () is a scalar."""

    kind: str  # scalar | tensor | bool | dist | function | list | range | any
    shape: tuple = ()
    random: bool = False

    @property
    def is_scalar(self) -> bool:
        """Only scalars are scalars: a declared 1×1 matrix stays a matrix (products whose
        result is 1×1, such as vᵀ @ M @ u, are typed as scalars by ``matmul``)."""
        return self.kind == "scalar"


def block_extent(t: VType) -> tuple:
    """(height, width) of one part of a block matrix: a scalar is 1×1, a vector a column;
    (None, None) for a part of higher rank."""
    if t.kind == "scalar":
        return sp.Integer(1), sp.Integer(1)
    if len(t.shape) == 1:
        return t.shape[0], sp.Integer(1)
    if len(t.shape) == 2:
        return t.shape
    return None, None


SCALAR = VType("scalar")
ANY = VType("any")
BOOL = VType("bool")


def _is_one_by_one(shape: tuple) -> bool:
    return len(shape) == 2 and shape[0] == 1 and shape[1] == 1


@dataclass
class SymbolInfo:
    """What a name means in one claim."""

    name: str
    text: str
    role: str  # dim scalar index tensor function define funcdef sequence sweep bound seq_index
    vtype: VType
    statement: object = None
    random: bool = False
    dist: Optional[m.Expr] = None
    props: frozenset = frozenset()
    group: Optional[int] = None  # independence group: distinct groups are independent
    domain: str = "real"  # real | integer | complex
    dim_value: Optional[sp.Expr] = None  # the value of a dimension-valued definition


@dataclass
class CheckedClaim:
    """A claim that passed the semantic pass, with its symbol table and statement types."""

    claim: m.Claim
    symbols: dict[str, SymbolInfo]
    show_types: list[VType] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def sweeps(self) -> dict[str, SymbolInfo]:
        return {k: v for k, v in self.symbols.items() if v.role == "sweep"}

    @property
    def random_names(self) -> list[str]:
        return [k for k, v in self.symbols.items() if v.random and v.role in ("scalar", "tensor")]


class SemanticError(Exception):
    pass


def bias_broadcast(a: VType, b: VType) -> Optional[tuple]:
    """The shape of ``M ± v`` (either order) when a vector ``v`` of length m meets an m×k
    matrix ``M``: ``v`` is added to every column (a bias, ``W @ X + b``); None otherwise.
    Vectors are columns, so only the row count is matched: a length-k vector against an
    m×k matrix stays a shape mismatch."""
    for mat, vec in ((a, b), (b, a)):
        if len(mat.shape) == 2 and len(vec.shape) == 1 and same_dim(mat.shape[0], vec.shape[0]) \
                and not same_dim(mat.shape[1], 1):
            return mat.shape
    return None


def dim_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, integer=True, positive=True)


class Checker:
    """Walks one claim in source order, filling the symbol table and collecting diagnostics."""

    def __init__(self, claim: m.Claim, source_lines: Optional[list[str]] = None):
        self.claim = claim
        self.lines = source_lines or []
        self.symbols: dict[str, SymbolInfo] = {}
        self.diags: list[Diagnostic] = []
        self.bound: list[dict[str, VType]] = []  # scopes of bound names (sum, argmin, params)
        self.typing_calls: set[str] = set()  # user functions whose body is being typed at a call
        self.groups = 0
        self.dists: list[tuple[m.Expr, list, bool]] = []  # parameters checked at the end

        self._text_lines: Optional[list[str]] = None  # the claim's text, for check_bars
        self._tensor_compares: set[int] = set()  # Compare nodes over tensors (where's rule)

    # ------------------------------------------------------------ diagnostics
    def error(self, message: str, pos: m.Pos, hint: Optional[str] = None, width: int = 1) -> None:
        line = pos.line or self.claim.pos.line
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if pos.end_line == pos.line and pos.end_column > pos.column:
            width = pos.end_column - pos.column
        self.diags.append(Diagnostic(message, self.claim.file, line, pos.column or 1, text, hint,
                                     self.claim.id, width))

    # ------------------------------------------------------------ confusable names
    def check_confusables(self) -> None:
        """Refuse identifiers that mix scripts misleadingly, and two different names of this
        claim that look alike (:mod:`derive.language.confusables`)."""
        first: dict[str, tuple[str, str, m.Pos]] = {}  # skeleton -> (id, written, where)
        reported: set[str] = set()
        for ident, written, pos in _written_names(self.claim.statements):
            if written not in reported:
                why = mixed_script(written)
                if why:
                    reported.add(written)
                    self.error(f"the name {describe_name(written)} mixes scripts: {why}", pos,
                               "spell the name in one script (Greek letters may prefix "
                               "Latin ones, as in ΔW)")
                    continue
            key = skeleton(written)
            seen = first.setdefault(key, (ident, written, pos))
            if seen[0] != ident and (seen[1], written) not in reported:
                reported.add((seen[1], written))
                self.error(f"the names {describe_name(written)} and {describe_name(seen[1])} "
                           f"(line {seen[2].line}, column {seen[2].column}) look alike but are "
                           f"different names", pos,
                           "rename one of them: names that print the same must be the same name")

    # ------------------------------------------------------------ entry
    def run(self) -> Optional[CheckedClaim]:
        show_types = []
        self.check_confusables()
        for st in self.claim.statements:
            if isinstance(st, m.Decl):
                self.declare(st)
            elif isinstance(st, m.Define):
                self.define(st)
            elif isinstance(st, m.FuncDef):
                self.funcdef(st)
            elif isinstance(st, m.Recurrence):
                self.recurrence(st)
            elif isinstance(st, m.Sweep):
                self.sweep(st)
            elif isinstance(st, m.Assume):
                t = self.expr(st.condition)
                if t.kind not in ("bool", "any"):
                    self.error("'assume' needs a condition (a comparison)", st.condition.pos)
                if t.random:
                    self.error("'assume' cannot constrain a random variable; it would change its "
                               "distribution", st.condition.pos,
                               "state the event inside P[…] or E[…] instead")
            elif isinstance(st, m.Show):
                t = self.expr(st.statement)
                if t.kind not in ("bool", "any"):
                    self.error("'show' needs a statement: a comparison such as a == b, a < b, "
                               "a ~ n^2 or a <=> b", st.statement.pos)
                if st.exists:
                    self.existential(st)
                show_types.append(t)
        self.check_parameters()
        if not self.claim.shows:
            self.error("the claim has no 'show' statement", self.claim.pos,
                       "add a line such as: show lhs == rhs")
        if self.diags:
            return None
        return CheckedClaim(self.claim, self.symbols, show_types)

    # ------------------------------------------------------------ statements
    def existential(self, st: m.Show) -> None:
        """``show exists: P`` is decided as the negation of ``show P'``s universal reading,
        so P must be a value statement whose negation has a meaning: no cost or growth
        (``time``, ``O(·)``, ``~``), no tolerance (``≈``, ``within``, ``rel``)."""
        for node in walk(st.statement):
            if isinstance(node, (m.Cost, m.BigO)) or (
                    isinstance(node, m.Compare) and ("~" in node.ops or "≈" in node.ops)):
                self.error("'show exists:' needs a value statement; growth, cost and ≈ have no "
                           "existential reading", node.pos,
                           "state the value: show exists: a != b, a > b, …")
                return
        if st.within is not None or st.rel is not None:
            self.error("'within'/'rel' cannot qualify 'show exists:'", st.pos,
                       "write the margin into the statement: show exists: abs(a - b) > t")

    def _new_name(self, name: m.Name) -> bool:
        if name.id in RESERVED or name.id == "I":
            self.error(f"'{name.text}' is a reserved name ({kind_of(name.id)})",
                       name.pos, "choose another name")
            return False
        if name.id in self.symbols:
            prev = self.symbols[name.id]
            where = getattr(getattr(prev.statement, "pos", None), "line", "?")
            self.error(f"'{name.text}' is already declared (line {where})", name.pos)
            return False
        return True

    def declare(self, d: m.Decl) -> None:
        spec = d.type
        random = d.dist is not None
        if random:
            self.check_distribution(d.dist, spec)
            for prop in getattr(spec, "props", ()):
                self.error(f"a random name cannot be declared '{prop.name}': the property would "
                           f"change its distribution, and no engine draws it so", prop.pos,
                           RANDOM_PROPERTY_HINTS.get(prop.name, RANDOM_PROPERTY_HINT))
            if isinstance(spec, m.ScalarType) and (spec.bounds or spec.interval is not None):
                self.error("a random name cannot have bounds or an interval: its distribution "
                           "decides its values", spec.pos,
                           "drop the bound; a truncated draw is not supported")
        for name in d.names:
            if not self._new_name(name):
                continue
            group = None
            if random:
                self.groups += 1
                group = self.groups
            info = self.type_of_spec(name, spec, d)
            info.random, info.dist, info.group = random, d.dist, group
            info.vtype = VType(info.vtype.kind, info.vtype.shape, random)
            self.symbols[name.id] = info

    def type_of_spec(self, name: m.Name, spec: m.TypeSpec, d) -> SymbolInfo:
        props = frozenset(p.name for p in getattr(spec, "props", ()))
        for p in getattr(spec, "props", ()):
            if p.name not in PROPERTIES:
                s = suggest(p.name, PROPERTIES)
                self.error(f"unknown property '{p.name}'", p.pos,
                           f"did you mean '{s}'?" if s else "known: " + ", ".join(sorted(PROPERTIES)))
            if p.arg is not None:
                self.constant_expr(p.arg, "a property's argument")
        if isinstance(spec, m.ScalarType):
            for _, bound in spec.bounds:
                self.constant_expr(bound, "a bound")
            if spec.interval:
                self.constant_expr(spec.interval.lo, "an interval end")
                self.constant_expr(spec.interval.hi, "an interval end")
            role = "dim" if spec.kind == "dim" else "scalar"
            domain = {"dim": "integer", "integer": "integer", "complex": "complex"}.get(spec.kind, "real")
            return SymbolInfo(name.id, name.text, role, SCALAR, d, props=props, domain=domain)
        if isinstance(spec, m.TensorType):
            shape = self.shape(spec.shape)
            want = {"vector": 1, "matrix": 2}.get(spec.kind)
            if want is not None and len(spec.shape) != want:
                self.error(f"a {spec.kind} has {want} size{'s' if want > 1 else ''}, "
                           f"found {len(spec.shape)}", spec.pos)
            if props & {"invertible", "symmetric", "spd", "psd", "orthogonal"} and len(shape) == 2 \
                    and shape[0] is not None and shape[1] is not None \
                    and sp.expand(shape[0] - shape[1]) != 0 and "orthogonal" not in props:
                self.error(f"a matrix declared {sorted(props)[0]} must be square; its shape is "
                           f"{fmt_shape(shape)}", spec.pos)
            if "simplex" in props and len(shape) != 1:
                self.error(f"'simplex' (a probability vector) is a property of vectors; this is "
                           f"a {spec.kind}", spec.pos,
                           "declare each distribution as its own vector[n] simplex")
            return SymbolInfo(name.id, name.text, "tensor", VType("tensor", shape), d, props=props)
        if isinstance(spec, m.IndexType):
            self.constant_expr(spec.range.lo, "an index bound")
            self.constant_expr(spec.range.hi, "an index bound")
            return SymbolInfo(name.id, name.text, "index", SCALAR, d, domain="integer")
        if isinstance(spec, m.FunctionType):
            for part in (spec.domain, spec.codomain):
                if isinstance(part, m.TensorType):
                    self.shape(part.shape)
            props = frozenset(p.name for p in getattr(spec.codomain, "props", ()))
            return SymbolInfo(name.id, name.text, "function", VType("function"), d, props=props)
        raise AssertionError(spec)

    def shape(self, dims: Iterable[m.Expr]) -> tuple:
        out = []
        for dim in dims:
            out.append(self.dim_expr(dim))
        return tuple(out)

    def dim_expr(self, e: m.Expr) -> Optional[sp.Expr]:
        """A size: positive integers, dims, integer constants and arithmetic of them."""
        if isinstance(e, m.Num):
            if e.value.denominator != 1 or e.value < 1:
                self.error(f"a size must be a positive integer, found {e.text}", e.pos)
                return None
            if e.value > MAX_DIM_LITERAL:
                self.error(f"size {e.text} is larger than the limit {MAX_DIM_LITERAL}", e.pos,
                           "declare it as 'dim' to keep it symbolic")
                return None
            return sp.Integer(int(e.value))
        if isinstance(e, m.Name):
            info = self.symbols.get(e.id)
            if info is None and any(e.id in scope for scope in self.bound):
                return dim_symbol(e.id)  # a function parameter used as a size
            if info is None:
                self.undeclared(e)
                return None
            if info.random:
                self.error(f"'{e.text}' is random, but a size must be a constant", e.pos)
                return None
            if info.dim_value is not None:
                return info.dim_value
            if info.role in ("dim", "sweep", "index") or (info.role == "scalar" and info.domain == "integer"):
                return dim_symbol(e.id)
            self.error(f"'{e.text}' is {describe(info)}, not a dimension; a size must be declared "
                       f"'dim' (or 'integer')", e.pos, f"declare it: let {e.text} : dim")
            return None
        if isinstance(e, m.BinOp) and e.op in "+-*/^":
            a, b = self.dim_expr(e.left), self.dim_expr(e.right)
            if a is None or b is None:
                return None
            if e.op == "^" and not _small_power(a, b):
                self.error(f"a size's exponent must be a small integer (a size of degree at most "
                           f"{MAX_SIZE_DEGREE} in the dimensions)", e.right.pos)
                return None
            value = _apply(e.op, a, b)  # only the operation written (3 ** 10^7 is never built)
            if value.is_number and (not value.is_integer or value < 1):
                self.error(f"a size must be a positive integer, found {fmt_dim(value)}", e.pos)
                return None
            if value.is_number and value > MAX_DIM_LITERAL:
                self.error(f"size {fmt_dim(value)} is larger than the limit {MAX_DIM_LITERAL}",
                           e.pos, "declare it as 'dim' to keep it symbolic")
                return None
            return value
        if isinstance(e, m.Call) and e.func in ("floor", "ceil") and len(e.args) == 1:
            a = self.dim_expr(e.args[0])
            return None if a is None else (sp.floor(a) if e.func == "floor" else sp.ceiling(a))
        self.error("a size must be a dimension, a positive integer or arithmetic of them", e.pos)
        return None

    def constant_expr(self, e: m.Expr, what: str) -> VType:
        t = self.expr(e)
        if t.random:
            self.error(f"{what} must be a constant, but it depends on a random variable", e.pos)
        return t

    def check_distribution(self, dist: m.Expr, spec: m.TypeSpec) -> None:
        if isinstance(dist, m.Name):
            name = dist.id
        elif isinstance(dist, m.Call):
            name = dist.func
        else:
            self.error("expected a distribution such as normal(0, 1)", dist.pos)
            return
        if name not in DISTRIBUTIONS:
            s = suggest(name, DISTRIBUTIONS)
            self.error(f"unknown distribution '{name}'", dist.pos,
                       f"did you mean '{s}'?" if s else "known: " + ", ".join(sorted(DISTRIBUTIONS)))
            return
        args = self.law_arguments(dist)
        if args is None:
            return
        types = [self.constant_expr(a, f"a parameter of {name}") for a in args]
        self.scalar_moments(dist, types)
        if not self.diags_since(dist):
            self.dists.append((dist, [None if t.random or t.kind == "any" else t for t in types],
                               False))

    def law_arguments(self, dist: m.Expr) -> Optional[list[m.Expr]]:
        """The parameters of a known law in its order, or None after reporting why not:
        a keyword law (``any(mean = μ, var = v)``) takes each parameter by name, once;
        every other law takes them in order, with no names."""
        law = law_of(dist)
        given = list(getattr(dist, "args", ()))
        named = list(getattr(dist, "kwargs", ()))
        if law.keywords:
            want = [p.name for p in law.params]
            form = f"{law.name}(" + ", ".join(f"{k} = …" for k in want) + ")"
            if given or isinstance(dist, m.Name):
                self.error(f"{law.name} takes its parameters by name: {form}", dist.pos,
                           f"write {law.example}; var is the variance, not the standard deviation")
                return None
            for key, _ in named:
                if key not in want:
                    s = suggest(key, want) or ("var" if key in ("variance", "sd", "std", "sigma")
                                               else None)
                    self.error(f"{law.name} has no parameter '{key}'", dist.pos,
                               (f"did you mean '{s}'? " if s else "") +
                               f"its parameters: {', '.join(want)} (var is the variance: write "
                               f"var = σ^2 for a standard deviation σ)")
                    return None
            keys = [k for k, _ in named]
            missing = [k for k in want if k not in keys]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if missing or twice:
                self.error(f"{law.name} needs each of {', '.join(want)} once"
                           + (f"; missing {', '.join(missing)}" if missing else "")
                           + (f"; given twice: {', '.join(twice)}" if twice else ""),
                           dist.pos, f"write {form}")
                return None
            return list(args_of(dist))
        if named:
            self.error(f"{law.name} takes its parameters in order, not by name", dist.pos,
                       f"write {law.example}: {law.doc}")
            return None
        lo, hi = law.arity
        if not lo <= len(given) <= hi:
            self.error(f"{law.name} takes {lo} parameter{'s' if lo != 1 else ''}, found "
                       f"{len(given)}", dist.pos)
        return given

    def not_one_law(self, e: m.Expr) -> VType:
        """A moment-only law outside ``~``: it names a set of laws, so no density exists."""
        law = law_of(e)
        self.error(f"{law.name}(…) stands for every law with the given mean and variance, not "
                   f"one law: it has no density, cdf or KL", e.pos,
                   f"declare a draw (let X : real ~ {law.example}) and state what holds for "
                   f"all of them with E, Var and P")
        return VType("dist")

    def scalar_moments(self, dist: m.Expr, types: list[VType]) -> None:
        """A moment-only law's mean and variance are scalars: each entry of a vector draw has
        them (entries iid)."""
        if law_of(dist).family and any(t.kind not in ("scalar", "any") for t in types):
            self.error(f"the mean and variance of {law_of(dist).name}(…) must be scalars",
                       dist.pos, "every entry of a vector or matrix draw gets that mean and "
                       "variance, independently of the others")

    def diags_since(self, node: m.Expr) -> bool:
        """Has a diagnostic already been reported inside ``node`` (its lines)?"""
        line = getattr(node, "pos", m.NOWHERE).line
        return any(d.line == line for d in self.diags)

    def check_parameters(self) -> None:
        """Each distribution's parameters inside their domains (after every ``assume``)."""
        if not self.dists:
            return
        checker = ParamChecker(self.claim, self.symbols,
                               lambda msg, pos, hint: self.error(msg, pos, hint))
        for dist, types, density in self.dists:
            checker.check(dist, types, density)

    def define(self, d: m.Define) -> None:
        t = self.expr(d.value)
        if len(d.names) > 1:
            if not (isinstance(d.value, m.Call) and d.value.func in ("svd", "eig")):
                self.error("several names on the left need a function returning several values "
                           "(svd)", d.pos)
            parts = self._svd_types(d.value, len(d.names)) if isinstance(d.value, m.Call) else []
            for i, name in enumerate(d.names):
                if self._new_name(name):
                    vt = parts[i] if i < len(parts) else ANY
                    self.symbols[name.id] = SymbolInfo(name.id, name.text, "define", vt, d,
                                                       random=t.random)
            return
        name = d.names[0]
        if not self._new_name(name):
            return
        info = SymbolInfo(name.id, name.text, "define", t, d, random=t.random)
        if t.kind == "scalar" and not t.random:
            value = self._try_dim(d.value)
            if value is not None:
                info.dim_value = value
                info.domain = "integer"
        self.symbols[name.id] = info

    def _svd_types(self, call: m.Call, count: int) -> list[VType]:
        if call.func != "svd" or not call.args:
            return []
        t = self.expr(call.args[0])
        if t.kind != "tensor" or len(t.shape) != 2:
            return []
        a, b = t.shape
        k = sp.Min(a, b) if a is not None and b is not None else None
        return [VType("tensor", (a, k), t.random), VType("tensor", (k,), t.random),
                VType("tensor", (b, k), t.random)][:count]

    def _try_dim(self, e: m.Expr) -> Optional[sp.Expr]:
        saved = len(self.diags)
        value = self.dim_expr(e)
        del self.diags[saved:]
        return value

    def funcdef_result(self, f: m.FuncDef, types: list[VType], random: bool) -> VType:
        """A user function called with arguments of known types (``Ah(1)``, ``φ(Q[i, :])``):
        its body's type with each parameter of its argument's type, when that shape does not
        mention a parameter; any other call stays untyped (the body is checked where it is
        defined)."""
        known = all(t.kind == "scalar" or t.kind == "tensor" and all(d is not None for d in t.shape)
                    for t in types)
        if not known or f.name.id in self.typing_calls:
            return VType("any", (), random)
        self.typing_calls.add(f.name.id)
        self.bound.append({p.id: (SCALAR if t.kind == "scalar" else VType("tensor", t.shape))
                           for p, t in zip(f.params, types)})
        saved = len(self.diags)
        try:
            t = self.expr(f.body)
        finally:
            del self.diags[saved:]
            self.bound.pop()
            self.typing_calls.discard(f.name.id)
        names = {p.id for p in f.params}
        if t.kind != "tensor" or any(d is None or any(str(x) in names for x in
                                                      getattr(d, "free_symbols", ()))
                                     for d in t.shape):
            return VType("any", (), random)
        return VType("tensor", t.shape, random or t.random)

    def funcdef(self, f: m.FuncDef) -> None:
        if not self._new_name(f.name):
            return
        self.bound.append({p.id: ANY for p in f.params})
        t = self.expr(f.body)
        self.bound.pop()
        self.symbols[f.name.id] = SymbolInfo(f.name.id, f.name.text, "funcdef", VType("function"),
                                             f, random=t.random)

    def recurrence(self, r: m.Recurrence) -> None:
        index_names = set()
        for eq in r.equations:
            for node in walk(eq.index):
                if isinstance(node, m.Name) and node.id not in self.symbols:
                    index_names.add((node.id, node.text))
        for ident, text in index_names:
            self.symbols[ident] = SymbolInfo(ident, text, "seq_index", SCALAR, r, domain="integer")
        seqs = {}
        for eq in r.equations:
            if eq.seq.id not in seqs and eq.seq.id not in self.symbols:
                if not self._new_name(eq.seq):
                    continue
                seqs[eq.seq.id] = eq.seq
                self.symbols[eq.seq.id] = SymbolInfo(eq.seq.id, eq.seq.text, "sequence", ANY, r)
        has_start = {eq.seq.id for eq in r.equations if isinstance(eq.index, m.Num)}
        has_step = {eq.seq.id for eq in r.equations if not isinstance(eq.index, m.Num)}
        for ident, name in seqs.items():
            if ident not in has_start:
                self.error(f"sequence '{name.text}' has no start value", name.pos,
                           f"add '{name.text}[0] = …'")
            if ident not in has_step:
                self.error(f"sequence '{name.text}' has no step", name.pos,
                           f"add '{name.text}[t+1] = …'")
        random = False
        starts: dict = {}
        steps: dict = {}
        for eq in r.equations:
            t = self.expr(eq.value)
            random |= t.random
            self.expr(eq.index)
            (starts if isinstance(eq.index, m.Num) else steps).setdefault(eq.seq.id, []).append(t)
        for ident in seqs:
            self.symbols[ident].random = random
            shape = self.sequence_shape(starts.get(ident, []), steps.get(ident, []))
            if shape is not None:
                self.symbols[ident].vtype = VType("tensor", shape)
                if not self.steps_keep_shape(r, ident, shape):  # w[t] @ B changes the shape
                    self.symbols[ident].vtype = ANY

    @staticmethod
    def sequence_shape(starts: list, steps: list) -> Optional[tuple]:
        """A tensor sequence's terms have its start's shape when every start and every step
        that could be typed (a step reading w[t] types once w[t] does) agrees on it."""
        shapes = {t.shape for t in starts + steps if t.kind == "tensor"}
        if len(shapes) != 1 or any(t.kind not in ("tensor", "any") for t in starts + steps) or \
                not all(t.kind == "tensor" for t in starts):
            return None
        (shape,) = shapes
        return shape if shape and all(d is not None for d in shape) else None

    def steps_keep_shape(self, r: m.Recurrence, ident: str, shape: tuple) -> bool:
        """Each step of ``ident``, typed again with its terms of ``shape``, has that shape
        (diagnostics of this second pass are dropped: the first pass reported them)."""
        saved = len(self.diags)
        try:
            return all(t.kind == "tensor" and t.shape == shape for t in
                       (self.expr(eq.value) for eq in r.equations
                        if eq.seq.id == ident and not isinstance(eq.index, m.Num)))
        finally:
            del self.diags[saved:]

    def sweep(self, s: m.Sweep) -> None:
        if not self._new_name(s.name):
            return
        values = s.values
        if isinstance(values, m.Block):
            if len(values.rows) != 1:
                self.error("a sweep is a list of sizes, such as [256, 512, 1024]", values.pos)
            for v in (x for row in values.rows for x in row):
                if not (isinstance(v, m.Num) and v.value.denominator == 1 and v.value >= 1):
                    self.error("a sweep value must be a positive integer", v.pos)
                elif v.value > MAX_DIM_LITERAL:
                    self.error(f"sweep value {v.text} is larger than the limit {MAX_DIM_LITERAL}",
                               v.pos)
        else:
            self.constant_expr(values, "a sweep range")
        self.symbols[s.name.id] = SymbolInfo(s.name.id, s.name.text, "sweep", SCALAR, s,
                                             domain="integer")

    # ------------------------------------------------------------ expressions
    def lookup(self, ident: str) -> Optional[VType]:
        for scope in reversed(self.bound):
            if ident in scope:
                return scope[ident]
        info = self.symbols.get(ident)
        return None if info is None else (
            VType(info.vtype.kind, info.vtype.shape, info.random) if info.random else info.vtype)

    def undeclared(self, e: m.Name) -> None:
        pool = set(self.symbols) | {k for s in self.bound for k in s}
        s = suggest(e.id, pool)
        hint = f"did you mean '{pretty(s)}'?" if s else f"declare it: let {e.text} : real"
        self.error(f"'{e.text}' is not declared", e.pos, hint)

    def expr(self, e: m.Expr) -> VType:
        method = getattr(self, "e_" + type(e).__name__)
        return method(e)

    def e_Num(self, e: m.Num) -> VType:
        return SCALAR

    def e_Name(self, e: m.Name) -> VType:
        t = self.lookup(e.id)
        if t is not None:
            return t
        if e.id in CONSTANTS:
            return SCALAR
        if e.id == "I":
            self.error("'I' is the identity matrix and needs its size", e.pos, "write I[n]")
            return ANY
        if e.id in FUNCTIONS:
            self.error(f"'{e.text}' is a function; call it with arguments", e.pos,
                       f"write {e.text}(…)")
            return ANY
        if e.id in STAT_NAMES or e.id in COST_NAMES:
            self.error(f"'{e.text}' takes its argument in square brackets", e.pos,
                       f"write {e.text}[…]")
            return ANY
        if e.id in DISTRIBUTIONS:
            return self.not_one_law(e) if law_of(e).family else VType("dist")
        self.undeclared(e)
        return ANY

    def e_Unary(self, e: m.Unary) -> VType:
        return self.expr(e.operand)

    def e_Transpose(self, e: m.Transpose) -> VType:
        t = self.expr(e.operand)
        if t.kind != "tensor":
            return t
        if len(t.shape) == 1:
            return VType("tensor", (sp.Integer(1), t.shape[0]), t.random)
        if len(t.shape) == 2:
            if t.shape[0] == 1:
                return VType("tensor", (t.shape[1],), t.random)
            return VType("tensor", (t.shape[1], t.shape[0]), t.random)
        self.error(f"transpose needs a vector or a matrix, found shape {fmt_shape(t.shape)}", e.pos)
        return ANY

    def e_BinOp(self, e: m.BinOp) -> VType:
        if e.op == "^" and _tower(e) > 4:
            self.error("a tower of powers this high is refused (its value is astronomically "
                       "large)", e.pos, "write the exponent out, or name it with 'let'")
            return ANY
        if e.op == "^" and isinstance(e.right, m.Name) and e.right.id in ("T", "H") \
                and self.lookup(e.right.id) is None:
            self.expr(e.left)
            self.error(f"'^{e.right.text}' is a power by '{e.right.text}', which is not declared",
                       e.right.pos, "a transpose is written ᵀ, .T or ' after the operand: "
                       "(A @ B)ᵀ, (A @ B).T or (A @ B)'")
            return ANY
        a, b = self.expr(e.left), self.expr(e.right)
        random = a.random or b.random
        if a.kind == "any" or b.kind == "any":
            return VType("any", (), random)
        if e.op == "^":
            if b.kind == "tensor" and not b.is_scalar:
                self.error("an exponent must be a scalar; use '.^' for elementwise powers", e.right.pos)
            if isinstance(e.right, m.Num) and abs(e.right.value) > MAX_EXPONENT:
                self.error(f"exponent {e.right.text} is larger than the limit {MAX_EXPONENT}",
                           e.right.pos)
            if a.kind == "tensor" and not a.is_scalar:
                if len(a.shape) != 2 or not same_dim(a.shape[0], a.shape[1]):
                    self.error(f"'^' on a tensor is the matrix power and needs a square matrix, "
                               f"found shape {fmt_shape(a.shape)}", e.pos,
                               "use '.^' for an elementwise power")
            return VType(a.kind, a.shape, random)
        if e.op == "@":
            return self.matmul(a, b, e)
        if e.op == "·":
            if a.kind == "tensor" and b.kind == "tensor" and not self.same_shape(a, b):
                self.mismatch("'·' (inner product)", a, b, e)
            return VType("scalar", (), random)
        if e.op in ("/",) and b.kind == "tensor" and not b.is_scalar and a.kind == "tensor" \
                and not self.same_shape(a, b):
            self.mismatch("'/'", a, b, e)
            return VType("any", (), random)
        if e.op in ("+", "-", "*", "⊙", "/", ".^"):
            if a.kind == "tensor" and b.kind == "tensor" and not a.is_scalar and not b.is_scalar:
                column = bias_broadcast(a, b)
                if column is not None and e.op in ("+", "-"):
                    return VType("tensor", column, random)  # W @ X + b: b added to each column
                if not self.same_shape(a, b):
                    self.mismatch(f"'{e.op}'", a, b, e)
                    return VType("any", (), random)
            if a.kind == "tensor" and not a.is_scalar:
                return VType("tensor", a.shape, random)
            if b.kind == "tensor" and not b.is_scalar:
                return VType("tensor", b.shape, random)
            if "bool" in (a.kind, b.kind):
                self.error(f"'{e.op}' needs numbers, not a condition", e.pos)
            return VType("scalar", (), random)
        return VType("any", (), random)

    def matmul(self, a: VType, b: VType, e: m.BinOp) -> VType:
        random = a.random or b.random
        if a.kind != "tensor" or b.kind != "tensor" or a.is_scalar or b.is_scalar:
            if a.kind == "scalar" or b.kind == "scalar" or a.is_scalar or b.is_scalar:
                self.error("'@' needs two tensors; use '*' to multiply by a scalar", e.pos)
            return VType("any", (), random)
        sa, sb = a.shape, b.shape
        left = sa if len(sa) == 2 else (sa[0], sp.Integer(1)) if len(sa) == 1 else None
        if left is None or len(sb) not in (1, 2):
            self.error(f"'@' needs vectors or matrices, found shapes {fmt_shape(sa)} and "
                       f"{fmt_shape(sb)}", e.pos)
            return ANY
        if len(sb) == 1:
            inner, out = sb[0], (left[0],)
        else:
            inner, out = sb[0], (left[0], sb[1])
        if not same_dim(left[1], inner):
            self.error(f"shape mismatch in '@': {fmt_shape(sa)} @ {fmt_shape(sb)} — the inner sizes "
                       f"{fmt_dim(left[1])} and {fmt_dim(inner)} differ", e.pos,
                       "a vector is a column; transpose with ᵀ to make a row")
            return VType("any", (), random)
        if len(out) == 2 and out[0] == 1 and out[1] == 1 or (len(out) == 1 and out[0] == 1
                                                             and len(sa) == 2):
            return VType("scalar", (), random)
        if len(out) == 2 and out[1] == 1 and len(sb) == 1:
            return VType("tensor", (out[0],), random)
        return VType("tensor", out, random)

    def same_shape(self, a: VType, b: VType) -> bool:
        if len(a.shape) != len(b.shape):
            return False
        return all(same_dim(x, y) for x, y in zip(a.shape, b.shape))

    def mismatch(self, what: str, a: VType, b: VType, e: m.Expr) -> None:
        self.error(f"shape mismatch in {what}: {fmt_shape(a.shape)} and {fmt_shape(b.shape)}",
                   e.pos)

    def e_Range(self, e: m.Range) -> VType:
        self.expr(e.lo)
        self.expr(e.hi)
        return VType("range")

    def e_Slice(self, e: m.Slice) -> VType:
        return ANY

    def e_Index(self, e: m.Index) -> VType:
        base = self.expr(e.base)
        for i in e.indices:
            self.expr(i)
        if isinstance(e.base, m.Name):
            info = self.symbols.get(e.base.id)
            if info is not None and info.role == "sequence":
                if info.vtype.kind == "tensor" and len(e.indices) == 1:  # a term: its start's shape
                    return VType("tensor", info.vtype.shape, info.random)
                return VType("any", (), info.random)
        if base.kind == "tensor":
            n = len(e.indices)
            if n > len(base.shape):
                self.error(f"{n} indices into a tensor of shape {fmt_shape(base.shape)}", e.pos)
                return ANY
            rest = tuple(self.range_length(i) if isinstance(i, m.Range) else d
                         for i, d in zip(e.indices, base.shape) if isinstance(i, (m.Slice, m.Range)))
            rest += base.shape[n:]
            return VType("tensor", rest, base.random) if rest else VType("scalar", (), base.random)
        return VType("any", (), base.random)

    def range_length(self, r: m.Range) -> Optional[sp.Expr]:
        """The length hi − lo + 1 of a slice x[lo..hi], a size when both ends are sizes."""
        first = constant_value(r.lo)
        if first is not None and first.is_number and first < 1:
            self.error(f"the slice starts at {first}, before 1 (indexing is 1-based)", r.pos)
            return None
        lo, hi = self._try_dim(r.lo), self._try_dim(r.hi)
        if lo is None or hi is None:
            return None
        length = sp.expand(hi - lo + 1)
        if length.is_number and length < 1:
            self.error(f"the slice {fmt_dim(lo)}..{fmt_dim(hi)} is empty", r.pos,
                       "a slice a..b includes both ends and needs a <= b")
        return length

    def e_Stat(self, e: m.Stat) -> VType:
        want = {"Cov": 2}.get(e.kind, 1)
        if len(e.args) != want:
            self.error(f"{e.kind}[…] takes {want} argument{'s' if want > 1 else ''}, found "
                       f"{len(e.args)}", e.pos)
        types = [self.expr(a) for a in e.args]
        if e.kind == "P":
            if types and types[0].kind not in ("bool", "any"):
                self.error("P[…] needs an event (a condition), such as P[x > 0]", e.pos)
            return SCALAR
        if e.kind in ("E", "Var", "Std") and types and types[0].kind == "tensor":
            return VType("tensor", types[0].shape)
        if e.kind == "Cov" and len(types) == 2 and all(t.kind == "tensor" for t in types):
            sa, sb = types[0].shape, types[1].shape
            if len(sa) == 1 and len(sb) == 1:
                return VType("tensor", (sa[0], sb[0]))
        return SCALAR

    def e_Cond(self, e: m.Cond) -> VType:
        """``E[X | Y, …]`` / ``P[A | Y, …]``: X's type, random (a function of the draws Y)."""
        t = self.expr(e.arg)
        seen: set[str] = set()
        for g in e.given:
            self.conditioning_draw(g, seen)
        if e.kind == "P":
            if t.kind not in ("bool", "any"):
                self.error("P[… | …] needs an event (a condition), such as P[x > 0 | y]", e.pos)
            return VType("scalar", (), True)
        if t.kind == "bool":
            self.error("E[… | …] needs a value; for the probability of an event write "
                       "P[… | …]", e.pos)
        return VType(t.kind, t.shape, True)

    def conditioning_draw(self, g: m.Expr, seen: set) -> None:
        """One name after '|': a declared draw (``~``), once; anything else is refused with
        the way to say it (its draws, or an event)."""
        if not isinstance(g, m.Name):
            return
        info = self.symbols.get(g.id)
        if info is None or any(g.id in scope for scope in self.bound):
            if info is None:
                self.undeclared(g)
            else:
                self.error(f"'{g.text}' is bound here, not a declared draw", g.pos)
            return
        if g.id in seen:
            self.error(f"'{g.text}' is conditioned on twice", g.pos)
        seen.add(g.id)
        if info.random and info.dist is not None and info.role in ("scalar", "tensor"):
            return
        if info.random:
            draws = self.draws_below(getattr(info.statement, "value", None))
            hint = (f"condition on declared draws (E[… | {', '.join(draws)}] holds all of them, "
                    f"more than {g.text}) or on an event such as E[… | {g.text} > 0]" if draws else
                    f"condition on declared draws, or on an event such as E[… | {g.text} > 0]")
            self.error(f"'{g.text}' is a derived random quantity, not a declared draw: "
                       f"conditioning on it needs its conditional law (a disintegration), "
                       f"which is not supported", g.pos, hint)
            return
        self.error(f"'{g.text}' is not random: only a declared draw (a name declared with '~') "
                   f"can be conditioned on", g.pos,
                   f"E[…] already holds {g.text} fixed; drop '| {g.text}'")

    def draws_below(self, e: Optional[m.Expr]) -> list[str]:
        """The declared draws a definition is made of, through other definitions."""
        found, stack, seen = set(), [e], set()
        while stack:
            for n in walk(stack.pop()):
                info = self.symbols.get(n.id) if isinstance(n, m.Name) else None
                if info is None or n.id in seen:
                    continue
                seen.add(n.id)
                if info.dist is not None:
                    found.add(info.text)
                elif info.random:
                    stack.append(getattr(info.statement, "value", None))
        return sorted(found)

    def e_Cost(self, e: m.Cost) -> VType:
        self.expr(e.arg)
        return SCALAR

    def e_Block(self, e: m.Block) -> VType:
        types = [[self.expr(x) for x in row] for row in e.rows]
        flat = [t for row in types for t in row]
        random = any(t.random for t in flat)
        if all(t.kind == "scalar" for t in flat):
            if len(e.rows) == 1:
                return VType("tensor", (sp.Integer(len(e.rows[0])),), random)
            widths = {len(r) for r in e.rows}
            if len(widths) != 1:
                self.error("rows of a matrix literal must have the same length", e.pos)
                return ANY
            return VType("tensor", (sp.Integer(len(e.rows)), sp.Integer(widths.pop())), random)
        if any(t.kind in ("any", "bool", "range") for t in flat):
            return VType("any", (), random)
        # block matrix: heights agree along a row, widths along a column
        hw = block_extent
        heights, width = [], None
        for r, row in enumerate(types):
            h0 = hw(row[0])[0]
            w = sp.Integer(0)
            for t, x in zip(row, e.rows[r]):
                h, ww = hw(t)
                if h0 is None or ww is None or (h is None and t.kind == "tensor"):
                    return VType("any", (), random)  # a part of unknown size: engines check
                if h is None or not same_dim(h, h0):
                    self.error(f"blocks in a row must have the same height: {fmt_shape(t.shape)} "
                               f"next to height {fmt_dim(h0)}", x.pos)
                    return ANY
                w = w + ww
            if width is not None and not same_dim(width, w):  # noqa: SIM102
                self.error(f"rows of a block matrix have different widths: {fmt_dim(width)} and "
                           f"{fmt_dim(w)}", e.pos)
                return ANY
            width = w
            heights.append(h0)
        total = sum(heights, sp.Integer(0))
        if width == 1:
            return VType("tensor", (sp.simplify(total),), random)
        return VType("tensor", (sp.simplify(total), sp.simplify(width)), random)

    def e_Comprehension(self, e: m.Comprehension) -> VType:
        scope = {}
        self.bound.append(scope)
        for name, rng in e.clauses:
            self.expr(rng)
            scope[name] = SCALAR
        t = self.expr(e.body)
        self.bound.pop()
        return VType("tensor", (None,), t.random)

    def e_Compare(self, e: m.Compare) -> VType:
        types = [self.expr(x) for x in e.operands]
        if any(t.kind == "tensor" and not t.is_scalar for t in types):
            self._tensor_compares.add(id(e))
        for (op, a, b, x, y) in zip(e.ops, types, types[1:], e.operands, e.operands[1:]):
            if op == "~":
                continue
            if "bool" in (a.kind, b.kind) and op not in ("==", "!="):
                self.error(f"'{op}' compares numbers, not conditions; use '<=>' or '=>'", e.pos)
            if a.kind == "tensor" and b.kind == "tensor" and not a.is_scalar and not b.is_scalar \
                    and not self.same_shape(a, b):
                self.error(f"shape mismatch in '{op}': {fmt_shape(a.shape)} and "
                           f"{fmt_shape(b.shape)}", e.pos)
        return VType("bool", (), any(t.random for t in types))

    def e_BigO(self, e: m.BigO) -> VType:
        self.expr(e.expr)
        self.expr(e.bound)
        return BOOL

    def e_Logic(self, e: m.Logic) -> VType:
        types = [self.expr(a) for a in e.args]
        for t, a in zip(types, e.args):
            if t.kind not in ("bool", "any"):
                self.error(f"'{e.op}' joins conditions; this is not a condition", a.pos)
        return VType("bool", (), any(t.random for t in types))

    def e_Subst(self, e: m.Subst) -> VType:
        for name, value in e.bindings:
            if self.lookup(name) is None:
                self.error(f"'{pretty(name)}' in 'at (…)' is not declared", e.pos)
            self.expr(value)
        return self.expr(e.expr)

    # ---- calls
    def e_Call(self, e: m.Call) -> VType:
        info = self.symbols.get(e.func)
        if info is not None and info.role in ("function", "funcdef"):
            types = [self.expr(a) for a in e.args]
            random = info.random or any(t.random for t in types)
            if info.role == "funcdef":
                params = info.statement.params
                if len(e.args) != len(params):
                    self.error(f"{info.text} takes {len(params)} argument"
                               f"{'s' if len(params) != 1 else ''}, found {len(e.args)}", e.pos)
                else:
                    return self.funcdef_result(info.statement, types, random)
            return VType("any", (), random)
        spec = FUNCTIONS.get(e.func)
        if spec is None:
            if e.func in STAT_NAMES or e.func in COST_NAMES:
                self.error(f"{e.func} takes square brackets: {e.func}[…]", e.pos,
                           "the variance of a tensor's entries (not a statistic) is var(x)"
                           if e.func == "Var" else None)
                return ANY
            if e.func in DISTRIBUTIONS:
                if law_of(e).family:
                    return self.not_one_law(e)
                args = self.law_arguments(e)
                types = [self.expr(a) for a in args or ()]
                lo, hi = DISTRIBUTIONS[e.func]
                if args is not None and lo <= len(args) <= hi:
                    self.dists.append((e, [None if t.random or t.kind == "any" else t
                                           for t in types], True))
                return VType("dist")
            self.error(f"unknown function '{pretty(e.func)}'", e.pos, self.call_hint(e))
            for a in e.args:
                self.expr(a)
            return ANY
        if spec.rule == "binder":
            return self.binder_call(e, spec)
        if spec.rule == "bind":
            return self.bind_call(e)
        n = len(e.args)
        if not spec.min_args <= n <= spec.max_args:
            span = str(spec.min_args) if spec.min_args == spec.max_args else \
                f"{spec.min_args} to {spec.max_args}"
            self.error(f"{e.func} takes {span} argument{'s' if spec.max_args != 1 else ''}, "
                       f"found {n}", e.pos)
        for key, _ in e.kwargs:
            if key not in spec.kwargs:
                self.error(f"{e.func} has no option '{key}'", e.pos,
                           ("its options: " + ", ".join(spec.kwargs)) if spec.kwargs else
                           f"{e.func} takes no options")
        types = [self.expr(a) for a in e.args]
        for _, v in e.kwargs:
            self.constant_expr(v, "an option")
        if e.func in ("factorial", "binomial") and e.args:
            value = constant_value(e.args[0])
            if value is not None and abs(value) > MAX_FACTORIAL:
                self.error(f"{e.func} of {value} is refused (its value has too many digits)",
                           e.args[0].pos)
        random = any(t.random for t in types)
        first = types[0] if types else ANY
        if e.func in ("abs", "norm") and types:
            self.check_bars(e, first)
        if e.func == "cross_entropy" and len(types) == 2:
            self.check_cross_entropy(e, types)
        rule = spec.rule
        if e.func in ("svd", "eig", "eigvals") and first.kind in ("tensor", "scalar") \
                and len(first.shape) != 2:
            what = "a scalar" if first.kind == "scalar" else f"shape {fmt_shape(first.shape)}"
            self.error(f"{e.func} needs a matrix, found {what}", e.args[0].pos,
                       f"for a vector v, {e.func}(vᵀ) decomposes the 1×n matrix"
                       if first.kind == "tensor" and len(first.shape) == 1 else None)
        if rule == "same":
            if e.func == "flip" and e.kwarg("axis") is not None:
                self.check_axis(e, first)
            return VType(first.kind, first.shape, random)
        if rule == "scalar":
            if e.func == "norm" and len(e.args) == 2 and isinstance(e.args[1], m.Name) \
                    and e.args[1].id not in ("fro", "inf") and self.lookup(e.args[1].id) is None:
                self.error(f"unknown norm '{e.args[1].text}'", e.args[1].pos, "use a number, fro or inf")
            return VType("scalar", (), random)
        if rule == "broadcast":
            if n == 1:
                return VType("scalar", (), random)
            shaped = [t for t in types if t.kind == "tensor" and not t.is_scalar]
            return VType("tensor", shaped[0].shape, random) if shaped else VType("scalar", (), random)
        if rule == "square":
            if first.kind == "tensor" and (len(first.shape) != 2 or not same_dim(*first.shape)):
                self.error(f"{e.func} needs a square matrix, found shape {fmt_shape(first.shape)}",
                           e.pos)
            return VType(first.kind, first.shape, random)
        if rule == "transpose":
            if first.kind == "tensor" and len(first.shape) == 2:
                return VType("tensor", (first.shape[1], first.shape[0]), random)
            return VType(first.kind, first.shape, random)
        if rule == "diag":
            if first.kind == "tensor" and len(first.shape) == 1:
                return VType("tensor", (first.shape[0], first.shape[0]), random)
            if first.kind == "tensor" and len(first.shape) == 2:
                return VType("tensor", (first.shape[0],), random)
            return VType("any", (), random)
        if rule == "eye":
            size = self.dim_expr(e.args[0]) if e.args else None
            return VType("tensor", (size, size))
        if rule == "filled":
            return VType("tensor", tuple(self.dim_expr(a) for a in e.args))
        if rule == "grad":
            if len(types) == 2:
                if types[0].kind == "tensor" and not types[0].is_scalar:
                    self.error("grad(f, x) needs a scalar f; reduce it first (sum, norm, ·)",
                               e.args[0].pos, "for the matrix of the derivatives of a vector "
                               "f, write jacobian(f, x)")
                return VType(types[1].kind, types[1].shape, random)
            return ANY
        if rule == "conv":
            return self.conv_type(e, types, random)
        if rule == "topk" and n == 2:
            return self.topk_type(e, first, random)
        if rule == "jacobian" and n == 2:
            return self.jacobian_type(e, types, random)
        if rule in ("onehot", "rowsum", "colsum", "where") and n == spec.min_args:
            return self.dl_type(e, types, random)
        if rule == "pool":
            return self.pool_type(e, types, random)
        if e.func == "kron" and n == 2 and all(t.kind == "tensor" for t in types) and \
                len(types[0].shape) == len(types[1].shape) in (1, 2) and \
                all(d is not None for t in types for d in t.shape):
            # A ⊗ B: [m·p, n·q] for [m, n] and [p, q], u ⊗ v: [m·p] (the numeric engine's kron)
            return VType("tensor", tuple(x * y for x, y in zip(types[0].shape, types[1].shape)),
                         random)
        return VType("any", (), random)

    def written(self, pos: m.Pos) -> str:
        """The character a node starts with in the claim's text ('' when unknown)."""
        if self._text_lines is None:  # split once: a claim may hold thousands of calls
            self._text_lines = self.claim.text.split("\n") if self.claim.text else []
        lines = self._text_lines
        k = pos.line - self.claim.pos.line
        if 0 <= k < len(lines) and 0 < pos.column <= len(lines[k]):
            return lines[k][pos.column - 1]
        return ""

    def check_bars(self, e: m.Call, t: VType) -> None:
        """|A| and a bare ‖A‖ mean different things in different books: refuse the
        readings derive cannot tell apart (docs/semantics.md, "Textbook notation")."""
        if t.kind != "tensor" or t.is_scalar:
            return
        bar = self.written(e.pos)
        if bar not in ("|", "‖"):
            return
        if bar == "|":
            self.error("|…| of a vector or matrix is ambiguous (entrywise absolute value, a "
                       "norm, or — in PRML — a determinant)", e.pos,
                       "write abs(x) for entries, ‖x‖ for the norm, det(A) for the determinant")
        elif len(e.args) == 1 and len(t.shape) == 2:
            self.error("‖A‖ of a matrix needs a subscript: books use it for the spectral or the "
                       "Frobenius norm", e.pos, "write ‖A‖₂ (spectral) or ‖A‖_F (Frobenius)")

    def check_cross_entropy(self, e: m.Call, types: list[VType]) -> None:
        """Logits are a vector; the target a class index (an integer) or a vector like them."""
        z, y = types
        if z.kind == "tensor" and len(z.shape) != 1:
            self.error(f"cross_entropy takes a vector of logits, found {fmt_shape(z.shape)}",
                       e.args[0].pos, "apply it to one row: cross_entropy(Z[i, :], y[i])")
        if y.kind == "tensor" and not y.is_scalar:
            if z.kind == "tensor" and not self.same_shape(z, y):
                self.mismatch("cross_entropy (logits and target)", z, y, e)
            return
        target = e.args[1]
        literal = constant_value(target)
        integer = (literal is not None and literal.is_integer) or (
            isinstance(target, m.Name) and getattr(self.symbols.get(target.id), "domain", None)
            == "integer")
        if not integer:
            self.error("the target of cross_entropy is a class index or a probability vector",
                       target.pos, "declare the class as an index: let y : 1..n")

    def call_hint(self, e: m.Call) -> str:
        """A hint for a call of an unknown name: textbook words first, then declared values."""
        info = self.symbols.get(e.func)
        if info is not None:
            return (f"'{info.text}' is declared as a value, not a function; write a product "
                    f"with '*': {info.text} * (…)")
        if e.func in FUNCTION_HINTS:
            return FUNCTION_HINTS[e.func]
        s = suggest(e.func, list(FUNCTIONS) + [k for k, v in self.symbols.items()
                                               if v.role in ("function", "funcdef")])
        return f"did you mean '{s}'?" if s else "see the README for the functions derive knows"

    def dl_type(self, e: m.Call, types: list[VType], random: bool) -> VType:
        """Shapes of onehot, rowsum, colsum, where and cross_entropy (docs/semantics.md)."""
        rule = FUNCTIONS[e.func].rule
        if rule == "onehot":
            return VType("tensor", (self.dim_expr(e.args[1]),), random)
        if rule in ("rowsum", "colsum"):
            t = types[0]
            if t.kind == "tensor" and len(t.shape) == 2:
                return VType("tensor", (t.shape[0 if rule == "rowsum" else 1],), random)
            if t.kind != "any":
                self.error(f"{e.func} needs a matrix, found {t.kind} {fmt_shape(t.shape)}", e.pos)
            return ANY
        if rule == "where":
            cond, a, b = types
            if cond.kind not in ("bool", "any"):
                self.error("the condition of 'a if c else b' (where(c, a, b)) must be a "
                           "comparison such as x > 0", e.args[0].pos)
            if self.tensor_condition(e.args[0]):
                self.error("the condition of 'a if c else b' compares vectors or matrices; it "
                           "must be one true-or-false value", e.args[0].pos,
                           "compare scalars (x[i] > 0, norm(x) < 1); for entries use relu, "
                           "max(x, y) or abs")
            for t, x in ((a, e.args[1]), (b, e.args[2])):
                if t.kind == "bool":
                    self.error("a branch of 'a if c else b' is a condition, not a value", x.pos,
                               "put the conditional value in parentheses: y == (a if c else b)")
            shaped = [t for t in (a, b) if t.kind == "tensor" and not t.is_scalar]
            if len(shaped) == 2 and not self.same_shape(*shaped):
                self.mismatch("'if … else'", shaped[0], shaped[1], e)
            return VType("tensor", shaped[0].shape, random) if shaped else \
                VType("scalar", (), random)
        return VType("any", (), random)

    def tensor_condition(self, cond: m.Expr) -> bool:
        """Whether a condition compares non-scalar tensors (their comparison means 'every
        entry', which an elementwise reading of 'x if x > 0 else 0' would not expect)."""
        return any(id(node) in self._tensor_compares for node in walk(cond)
                   if isinstance(node, m.Compare))

    def conv_type(self, e: m.Call, types: list[VType], random: bool) -> VType:
        """conv/convolve sizes: x and w of one rank (1-D/2-D, one channel), or x : [C, …]
        with w : [F, C/g, …] (multi-channel, ``groups = g``): [F, out…] (docs/semantics.md)."""
        if len(types) != 2 or any(t.kind != "tensor" for t in types):
            return VType("any", (), random)
        x, w = types
        groups = e.kwarg("groups")
        channels = len(w.shape) == len(x.shape) + 1 and len(x.shape) in (2, 3)
        if groups is not None and not channels:
            self.error(f"{e.func}(…, groups = g) needs channels: x : tensor[C, H, W] with "
                       f"w : tensor[F, C/g, K, K] (or matrix[C, L] with tensor[F, C/g, K])",
                       e.pos, "without channels, leave out groups")
        if channels:
            return self.channel_conv_type(e, x, w, groups, random)
        if len(x.shape) != len(w.shape) or len(x.shape) not in (1, 2):
            if x.shape and w.shape:
                self.error(f"{e.func} takes two vectors, two matrices, or channels (x : "
                           f"tensor[C, …] with w : tensor[F, C/g, …]); found "
                           f"{fmt_shape(x.shape)} and {fmt_shape(w.shape)}", e.pos,
                           "a kernel has one axis more than its input when both have channels")
            return VType("any", (), random)
        out = self.conv_sizes(e, x.shape, w.shape)
        return VType("tensor", out, random) if out is not None else VType("any", (), random)

    def pool_type(self, e: m.Call, types: list[VType], random: bool) -> VType:
        """maxpool/avgpool(x, k, stride = s) of a vector or matrix, a k (× k) window, stride
        k unless given, no padding: ⌊(n − k)/s⌋ + 1 per axis (what the numeric engine's
        PyTorch pooling computes); unknown sizes leave the type open."""
        x = types[0] if types else None
        if x is None or x.kind != "tensor" or len(x.shape) not in (1, 2) or len(e.args) != 2:
            return VType("any", (), random)
        k = self._try_dim(e.args[1])
        s = self._try_dim(e.kwarg("stride")) if e.kwarg("stride") is not None else k
        if k is None or s is None or any(n is None for n in x.shape):
            return VType("any", (), random)
        return VType("tensor", tuple(sp.floor((n - k) / s) + 1 if s != 1 else n - k + 1
                                     for n in x.shape), random)

    def conv_sizes(self, e: m.Call, xs: tuple, ks: tuple) -> Optional[tuple]:
        """⌊(n + 2p − k)/s⌋ + 1 per spatial axis (None when a size is unknown)."""
        stride = self._try_dim(e.kwarg("stride")) if e.kwarg("stride") is not None else sp.Integer(1)
        padding = e.kwarg("padding")
        pad = sp.Integer(0) if padding is None else (
            sp.Integer(int(padding.value)) if isinstance(padding, m.Num) else self._try_dim(padding))
        if stride is None or pad is None:
            return None
        out = []
        for n, k in zip(xs, ks):
            if n is None or k is None:
                return None
            out.append(sp.floor((n + 2 * pad - k) / stride) + 1 if stride != 1 else n + 2 * pad - k + 1)
        return tuple(out)

    def channel_conv_type(self, e: m.Call, x: VType, w: VType, groups: Optional[m.Expr],
                          random: bool) -> VType:
        """x : [C, …], w : [F, C/g, …]: g divides C and F; the result [F, out…]."""
        g = sp.Integer(1)
        if groups is not None:
            value = constant_value(groups)
            if value is None or not value.is_integer or value < 1:
                self.error(f"groups must be a positive integer, found "
                           f"{getattr(groups, 'text', '') or 'an expression'}", groups.pos)
                return VType("any", (), random)
            g = sp.Integer(int(value))
        c, f, per = x.shape[0], w.shape[0], w.shape[1]
        if not same_dim(c, None if per is None else per * g):
            self.error(f"{e.func}: the input has {fmt_dim(c)} channels but the kernel reads "
                       f"{fmt_dim(per)} per group × {g} groups", e.pos,
                       "w : tensor[F, C/g, …] for x : tensor[C, …] and groups = g")
        if f is not None and getattr(f, "is_Integer", False) and int(f) % int(g):
            self.error(f"{e.func}: groups = {g} must divide the {f} output channels", e.pos)
        out = self.conv_sizes(e, x.shape[1:], w.shape[2:])
        return VType("tensor", (f, *out), random) if out is not None else VType("any", (), random)

    def check_axis(self, e: m.Call, t: VType) -> None:
        """An ``axis = k`` option: a constant integer from 1 to the rank of ``t``."""
        value = constant_value(e.kwarg("axis"))
        known = t.kind == "tensor" and not t.is_scalar
        if value is None or not value.is_integer or value < 1 or (
                known and value > len(t.shape)):
            self.error(f"{e.func}'s axis must be a whole number from 1 to the rank"
                       + (f" ({len(t.shape)})" if known else ""), e.kwarg("axis").pos,
                       "axis = 1 reverses the rows of a matrix, axis = 2 its columns")

    def topk_type(self, e: m.Call, x: VType, random: bool) -> VType:
        """topk(x, k) of a vector: vector[k], k a size no larger than len(x)."""
        k = self.dim_expr(e.args[1])
        if x.kind == "tensor" and len(x.shape) != 1:
            self.error(f"topk needs a vector, found shape {fmt_shape(x.shape)}", e.args[0].pos,
                       "for the entries of a matrix A, write topk(vec(A), k)")
            return ANY
        if x.kind == "tensor" and k is not None and x.shape[0] is not None:
            over = sp.simplify(k - x.shape[0])
            if over.is_positive:
                self.error(f"topk(x, {fmt_dim(k)}) asks for more entries than x has "
                           f"({fmt_dim(x.shape[0])})", e.args[1].pos)
        return VType("tensor", (k,), random) if k is not None else ANY

    def jacobian_type(self, e: m.Call, types: list[VType], random: bool) -> VType:
        """jacobian(f, x): f and x scalars or vectors; matrix[len f, len x] (1 for a scalar)."""
        f, x = types
        if not isinstance(e.args[1], m.Name):
            self.error("jacobian(f, x) differentiates with respect to a declared name",
                       e.args[1].pos, "declare the variable: let x : vector[n]")
        sizes = []
        for t, arg, what in ((f, e.args[0], "f"), (x, e.args[1], "x")):
            if t.kind == "scalar" or (t.kind == "tensor" and t.is_scalar):
                sizes.append(sp.Integer(1))
            elif t.kind == "tensor" and len(t.shape) == 1:
                sizes.append(t.shape[0])
            else:
                if t.kind == "tensor":
                    self.error(f"jacobian(f, x) needs a scalar or a vector {what}, found shape "
                               f"{fmt_shape(t.shape)}", arg.pos,
                               f"flatten a matrix with vec({arg.text if hasattr(arg, 'text') else '…'})")
                return VType("any", (), random)
        return VType("tensor", tuple(sizes), random)

    def binder_call(self, e: m.Call, spec) -> VType:
        binders = [(k, v) for k, v in e.kwargs if isinstance(v, m.Range)]
        others = [(k, v) for k, v in e.kwargs if not isinstance(v, m.Range)]
        for key, _ in others:
            if key not in spec.kwargs:
                self.error(f"{e.func} has no option '{key}'", e.pos,
                           f"bind an index with {e.func}(i = 1..n, …)")
        if len(e.args) != 1:
            self.error(f"{e.func} takes one expression{' after its index' if binders else ''}, "
                       f"found {len(e.args)}", e.pos)
        scope = {}
        for key, rng in binders:
            self.constant_expr(rng.lo, "a bound")
            self.constant_expr(rng.hi, "a bound")
            scope[key] = SCALAR
        self.bound.append(scope)
        types = [self.expr(a) for a in e.args]
        self.bound.pop()
        random = any(t.random for t in types)
        if e.func == "integrate" and not binders:
            self.error("integrate needs its variable and range: integrate(f, x = a..b)", e.pos)
        if not binders and e.func in ("sum", "prod") and types and types[0].kind == "tensor" \
                and e.kwarg("axis") is None:
            return VType("scalar", (), random)
        if binders:
            return VType(types[0].kind if types else "any", types[0].shape if types else (), random)
        return VType("any", (), random)

    def bind_call(self, e: m.Call) -> VType:
        if len(e.args) != 2 or not isinstance(e.args[0], m.Name):
            self.error(f"{e.func} takes a variable and an expression: {e.func}(η, f(η))", e.pos)
            for a in e.args:
                self.expr(a)
            return ANY
        var = e.args[0]
        existing = self.lookup(var.id)
        self.bound.append({var.id: existing or SCALAR})
        t = self.expr(e.args[1])
        self.bound.pop()
        if t.kind == "tensor" and not t.is_scalar:
            self.error(f"{e.func} needs a scalar objective", e.args[1].pos)
        return existing or VType("scalar", (), t.random)


def _small_power(base: sp.Expr, exponent: sp.Expr) -> bool:
    """Is ``base ^ exponent`` a size the shape algebra can handle quickly?"""
    if not (exponent.is_number and exponent.is_integer) or exponent < 0 or exponent > 64:
        return False
    if not base.free_symbols:
        return True  # a number: the value limit applies afterwards
    try:
        degree = sp.Poly(base, *sorted(base.free_symbols, key=str)).total_degree()
    except sp.PolynomialError:
        return False
    return degree * int(exponent) <= MAX_SIZE_DEGREE


def _tower(e: m.Expr) -> int:
    depth = 0
    while isinstance(e, m.BinOp) and e.op == "^":
        depth += 1
        e = e.right
    return depth + 1


def constant_value(e: m.Expr) -> Optional[sp.Expr]:
    """The exact value of a literal expression (numbers, + - * / and small powers), else None."""
    if isinstance(e, m.Num):
        return None if e.imaginary else sp.Rational(e.value.numerator, e.value.denominator)
    if isinstance(e, m.Unary):
        v = constant_value(e.operand)
        return None if v is None else -v
    if isinstance(e, m.BinOp) and e.op in ("+", "-", "*", "/", "^"):
        a, b = constant_value(e.left), constant_value(e.right)
        if a is None or b is None:
            return None
        if e.op == "^" and (not b.is_integer or abs(b) > 64 or abs(a) > 10**6):
            return None
        if e.op == "/" and b == 0:
            return None
        return _apply(e.op, a, b)
    return None


def _apply(op: str, a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """One arithmetic operation on SymPy values (callers bound the operands first)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    return a ** b


def same_dim(a, b) -> bool:
    if a is None or b is None:
        return True  # unknown: checked by the engines on instances
    try:
        return sp.expand(a - b) == 0
    except TypeError:
        return a == b


def fmt_dim(d) -> str:
    if d is None:
        return "?"
    text = str(d).replace("**", "^")
    return pretty(text) if text.isidentifier() else text


def fmt_shape(shape: tuple) -> str:
    if not shape:
        return "scalar"
    if len(shape) == 1:
        return f"vector[{fmt_dim(shape[0])}]"
    return "[" + " × ".join(fmt_dim(d) for d in shape) + "]"


def describe(info: SymbolInfo) -> str:
    if info.role == "scalar":
        return "a random scalar" if info.random else f"a {info.domain} scalar"
    return {"tensor": "a tensor", "function": "a function", "funcdef": "a function",
            "define": "a definition", "sequence": "a sequence", "index": "an index"}.get(info.role, info.role)


def children(node: m.Expr) -> list[m.Expr]:
    """The expressions directly below ``node`` (also inside kwargs, bindings and block rows)."""
    if isinstance(node, (m.Num, m.Name, m.Slice)):
        return []
    out: list[m.Expr] = []
    for value in vars(node).values():
        if isinstance(value, m.Expr):
            out.append(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, m.Expr):
                    out.append(item)
                elif isinstance(item, tuple):
                    out.extend(x for x in item if isinstance(x, m.Expr))
    return out


def walk_defined(e: m.Expr, symbols: dict) -> Iterable[m.Expr]:
    """The nodes of ``e`` and of every single-name definition it reaches (once each)."""
    seen: set[str] = set()
    stack = [e]
    while stack:
        for node in walk(stack.pop()):
            yield node
            info = symbols.get(node.id) if isinstance(node, m.Name) else None
            st = getattr(info, "statement", None)
            if info is not None and info.role == "define" and isinstance(st, m.Define) \
                    and node.id not in seen:
                seen.add(node.id)
                stack.append(st.value)


def walk(e) -> Iterable[m.Expr]:
    """All expression nodes below ``e`` (iteratively, so deep trees cannot overflow)."""
    stack = [e]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        yield node
        stack.extend(children(node))


def _written_names(node) -> Iterator[tuple[str, str, m.Pos]]:
    """(id, written spelling, position) of every name and called function, in source order."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, m.Name):
            yield node.id, node.text or node.id, node.pos
        elif isinstance(node, m.Call):
            yield normalize(node.func), node.func, node.pos
        if isinstance(node, (tuple, list)):
            stack.extend(reversed(node))
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            stack.extend(reversed([getattr(node, f.name) for f in dataclasses.fields(node)
                                   if f.name != "pos"]))


def check_claim(claim: m.Claim, source_lines: Optional[list[str]] = None
                ) -> tuple[Optional[CheckedClaim], list[Diagnostic]]:
    """Run the semantic pass on one claim."""
    checker = Checker(claim, source_lines)
    try:
        checked = checker.run()
    except RecursionError:
        checker.error("expression nested too deeply", claim.pos)
        checked = None
    return checked, checker.diags
