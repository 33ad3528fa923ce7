"""Pre-allocation guards: refuse a checked claim whose sizes or costs are absurd, before any
engine allocates a tensor or asks SymPy for a 10⁹-digit integer.

The semantic pass limits *literals* (a size of 10⁸, an exponent of 10⁵, towers of powers);
this pass estimates what the engines would actually build:

* every tensor the claim declares, defines or computes (``u @ vᵀ`` included), at the sizes
  the engines use: sweep variables at their largest value, other dimensions at a nominal
  sample size;
* work that grows with the sizes (ranges of sums, products and comprehensions, recurrence
  steps) also at the *largest* sizes any engine uses: the numeric engine draws dimensions
  up to ``max_engine_dim`` and unbounded integers up to their lower bound plus
  ``max_engine_int_offset`` for claims that build no tensor, so ``sum(i = 1..n^3, …)`` is
  refused before it becomes a loop over 6.9·10¹⁰ terms; nested sums, products and
  comprehensions multiply (at ``max_engine_tensor_dim`` for claims with tensors);
* constant exponents (``x^(10^5)``, ``matpow(A, 2^40)``) and constant powers whose value
  has too many digits (``(10^400)^9000``);
* factorials and binomials of huge constants (``factorial(10^9)``);
* ranges of sums, products and comprehensions with absurd extents, recurrence steps far
  out (``w[10^12]``), and sweeps whose range reaches beyond the size limit.

Arithmetic here is done in floats (``inf`` on overflow), never with the exact values, so
the guard itself is cheap on hostile input.  Call :func:`check` at the start of
:func:`derive.decide.decide_claim`; a non-empty answer is an ``error`` verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Optional

import sympy as sp

from derive import model as m
from derive.errors import Diagnostic
from derive.semantics import MAX_DIM_LITERAL, CheckedClaim, Checker, VType, children, walk


@dataclass(frozen=True)
class Limits:
    """What the guard accepts.  Defaults fit a 6 GiB worker with room for intermediates."""

    max_numel: float = 2.0 ** 27          # entries of one tensor (1 GiB of float64)
    max_total_numel: float = 2.0 ** 29    # entries of all declared tensors together
    max_exponent: float = 10_000          # |constant exponent|
    max_power_digits: float = 100_000     # decimal digits of a constant power's value
    max_factorial: float = 100_000        # argument of factorial / binomial
    max_range: float = 10_000_000         # extent of a sum/prod/comprehension index range
    max_steps: float = 1_000_000          # a recurrence evaluated this far out
    sample_dim: int = 8                   # nominal value of a free dimension
    # the largest sizes an engine draws (derive/numeric: LARGE_MENU, LARGE_INTEGER_OFFSETS;
    # tests/test_gate_limits.py keeps them in step)
    max_engine_dim: int = 4096
    max_engine_int_offset: int = 10 ** 6
    max_engine_tensor_dim: int = 32       # claims with tensors, sequences or randomness


DEFAULT = Limits()


class Refusal(Diagnostic):
    """A diagnostic from the guard (a Diagnostic, so reports render it like any other)."""


def _num(x: Fraction) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _big(x: float) -> str:
    if math.isinf(x):
        return "astronomically many"
    if x >= 1e6:
        mantissa, _, exponent = f"{x:.3g}".partition("e")
        if exponent:
            return f"10^{int(exponent)}" if mantissa == "1" else f"{mantissa}e{int(exponent)}"
    return f"{x:g}"


class _Recorder(Checker):
    """The semantic pass again, recording the type of every expression node it visits."""

    def __init__(self, claim: m.Claim):
        super().__init__(claim)
        self.seen: list[tuple[m.Expr, VType]] = []

    def expr(self, e: m.Expr) -> VType:
        t = super().expr(e)
        if t.kind == "tensor" and t.shape:
            self.seen.append((e, t))
        return t


class Guard:
    def __init__(self, checked: CheckedClaim, limits: Limits = DEFAULT,
                 source_lines: Optional[list[str]] = None):
        self.checked = checked
        self.claim = checked.claim
        self.limits = limits
        self.problems: list[Diagnostic] = []
        self._lines = source_lines
        self._values: dict[str, float] = {}
        self._sample: dict[sp.Symbol, sp.Integer] = {}
        self._set_samples()
        self._largest = self._largest_values()

    # ------------------------------------------------------------ helpers
    def line_text(self, line: int) -> str:
        if self._lines is not None:
            return self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        offset = line - self.claim.pos.line
        lines = self.claim.text.split("\n")
        return lines[offset] if 0 <= offset < len(lines) else ""

    def refuse(self, message: str, pos: m.Pos, hint: Optional[str] = None) -> None:
        line = pos.line or self.claim.pos.line
        width = pos.end_column - pos.column if pos.end_line == pos.line and \
            pos.end_column > pos.column else 1
        text = self.line_text(line)
        self.problems.append(Refusal("refused before running: " + message, self.claim.file, line,
                                     pos.column or 1, text, hint, self.claim.id, width))

    def snippet(self, e: m.Expr) -> str:
        pos = getattr(e, "pos", m.NOWHERE)
        if pos.line and pos.line == pos.end_line and pos.end_column > pos.column:
            text = self.line_text(pos.line)[pos.column - 1:pos.end_column - 1]
            if text:
                return text if len(text) <= 60 else text[:57] + "…"
        return "an expression"

    # ------------------------------------------------------------ sizes
    def _set_samples(self) -> None:
        """Sweep variables at their largest value, constant definitions at their value, other
        free integers at the nominal sample size."""
        for name, info in self.checked.symbols.items():
            if info.role == "sweep":
                top = self._sweep_max(info.statement)
                if top is not None:
                    self._values[name] = top
        for name, info in self.checked.symbols.items():
            if name in self._values:
                continue
            if info.dim_value is not None:
                v = self._sym_value(info.dim_value)
                if v is not None:
                    self._values[name] = v
                    continue
            if info.role in ("dim", "index", "seq_index") or info.domain == "integer":
                self._values[name] = float(self.limits.sample_dim)

    def _largest_values(self) -> dict[str, float]:
        """Every size at the largest value an engine may give it: free dimensions and indices
        at ``max_engine_dim``, integer scalars at their lower bound plus
        ``max_engine_int_offset`` (or their upper bound), definitions recomputed from those."""
        big = dict(self._values)
        for name, info in self.checked.symbols.items():
            if info.role == "sweep" or name not in self._values:
                continue
            if info.dim_value is not None and info.role not in ("dim", "index", "seq_index"):
                continue  # recomputed below
            if info.role in ("dim", "index", "seq_index"):
                big[name] = float(max(self.limits.max_engine_dim, self._values[name]))
            elif info.domain == "integer":
                lo, hi = self._integer_bounds(info)
                big[name] = hi if hi is not None else \
                    (lo or 0.0) + float(self.limits.max_engine_int_offset)
        saved = self._values
        self._values = big
        try:
            for name, info in self.checked.symbols.items():
                if info.dim_value is not None and info.role not in ("dim", "index", "seq_index",
                                                                    "sweep"):
                    v = self._sym_value(info.dim_value)
                    if v is not None:
                        big[name] = max(v, saved.get(name, 0.0))
        finally:
            self._values = saved
        return big

    def _integer_bounds(self, info) -> tuple[Optional[float], Optional[float]]:
        """Constant lower and upper bounds of an integer scalar's declaration, where stated."""
        lo = hi = None
        spec = getattr(info.statement, "type", None)
        if isinstance(spec, m.ScalarType):
            for op, bound in spec.bounds:
                v = self.const(bound, allow_names=False)
                if v is None:
                    continue
                if op in (">", ">="):
                    lo = v if lo is None else max(lo, v)
                elif op in ("<", "<="):
                    hi = v if hi is None else min(hi, v)
            if spec.interval is not None:
                a = self.const(spec.interval.lo, allow_names=False)
                b = self.const(spec.interval.hi, allow_names=False)
                lo = a if a is not None else lo
                hi = b if b is not None else hi
        return lo, hi

    def largest(self, e: m.Expr) -> Optional[float]:
        """:meth:`const` at the largest sizes an engine uses."""
        saved = self._values
        self._values = self._largest
        try:
            return self.const(e)
        finally:
            self._values = saved

    def _sweep_max(self, sweep: m.Sweep) -> Optional[float]:
        values = sweep.values
        if isinstance(values, m.Block):
            nums = [_num(x.value) for row in values.rows for x in row if isinstance(x, m.Num)]
            return max(nums) if nums else None
        if isinstance(values, m.Range):
            hi = self.const(values.hi)
            if hi is not None and hi > MAX_DIM_LITERAL:
                self.refuse(f"the sweep reaches {_big(hi)}, beyond the size limit "
                            f"{MAX_DIM_LITERAL}", values.pos)
            return hi
        return None

    def _sym_value(self, expr) -> Optional[float]:
        """Value of a SymPy dimension expression at the sample sizes (floats; inf on overflow)."""
        if expr is None:
            return None
        try:
            subs = {s: self._values.get(s.name, float(self.limits.sample_dim))
                    for s in expr.free_symbols}
            value = expr.xreplace({s: sp.Float(v) if math.isfinite(v) else sp.oo
                                   for s, v in subs.items()})
            value = complex(sp.N(value)) if not value.is_infinite else math.inf
            return abs(value.real) if isinstance(value, complex) else float(value)
        except (TypeError, ValueError, OverflowError, AttributeError):
            return None

    def const(self, e: m.Expr, allow_names: bool = True) -> Optional[float]:
        """The value of a constant integer-ish expression at the sample sizes, or None when it
        depends on something that is not a constant (a real scalar, a tensor, …)."""
        if isinstance(e, m.Num):
            return None if e.imaginary else _num(e.value)
        if isinstance(e, m.Name):
            if not allow_names:
                return None
            return self._values.get(e.id)
        if isinstance(e, m.Unary):
            v = self.const(e.operand, allow_names)
            return None if v is None else -v
        if isinstance(e, m.BinOp) and e.op in ("+", "-", "*", "/", "^"):
            a = self.const(e.left, allow_names)
            if a is None:
                return None
            b = self.const(e.right, allow_names)
            if b is None:
                return None
            try:
                if e.op == "+":
                    return a + b
                if e.op == "-":
                    return a - b
                if e.op == "*":
                    return a * b
                if e.op == "/":
                    return a / b if b else None
                if a == 0:
                    return 0.0 if b > 0 else None
                if math.isinf(b) or abs(b) * math.log10(max(abs(a), 1e-300)) > 300:
                    return math.inf if b > 0 and abs(a) > 1 else 0.0
                return abs(a) ** b if a < 0 and b != int(b) else a ** b
            except (OverflowError, ZeroDivisionError, ValueError):
                return math.inf
        if isinstance(e, m.Call) and e.func in ("floor", "ceil", "abs") and len(e.args) == 1:
            v = self.const(e.args[0], allow_names)
            if v is None or math.isinf(v):
                return v
            return float({"floor": math.floor, "ceil": math.ceil, "abs": abs}[e.func](v))
        return None

    def formula_only(self) -> bool:
        """No tensor, sequence or random name: only then do the engines draw sizes up to
        ``max_engine_dim`` (as :func:`derive.numeric.identity.formula_only` decides)."""
        return not any(info.role in ("tensor", "sequence") or info.random
                       for info in self.checked.symbols.values())

    # ------------------------------------------------------------ checks
    def run(self) -> list[Diagnostic]:
        self.check_nesting()
        self.check_tensors()
        for node in self.nodes():
            if isinstance(node, m.BinOp) and node.op in ("^", ".^"):
                self.check_power(node.left, node.right, node)
            elif isinstance(node, m.Call):
                self.check_call(node)
            elif isinstance(node, m.Comprehension):
                self.check_comprehension(node)
            elif isinstance(node, m.Index):
                self.check_index(node)
        return self.problems

    def nodes(self) -> Iterable[m.Expr]:
        for st in self.claim.statements:
            for root in _roots(st):
                yield from walk(root)

    def check_tensors(self) -> None:
        recorder = _Recorder(self.claim)
        try:
            recorder.run()
        except RecursionError:
            return
        total = 0.0
        for name, info in self.checked.symbols.items():
            if info.vtype.kind == "tensor" and info.role == "tensor":
                total += self.numel(info.vtype.shape) or 0.0
        if total > self.limits.max_total_numel:
            self.refuse(f"the declared tensors hold {_big(total)} entries together at the sizes "
                        f"the engines use (limit {_big(self.limits.max_total_numel)})",
                        self.claim.pos, "use smaller sizes, or declare sizes as 'dim'")
        reported: set[str] = set()
        # declared shapes whose entries the recorder never visited (declarations)
        for st in self.claim.statements:
            if isinstance(st, m.Decl) and isinstance(st.type, m.TensorType):
                info = self.checked.symbols.get(st.names[0].id)
                if info is None:
                    continue
                numel = self.numel(info.vtype.shape)
                dims = " × ".join(_big(d) for d in self.dims(info.vtype.shape))
                if numel is not None and numel > self.limits.max_numel and dims not in reported:
                    reported.add(dims)
                    self.refuse(f"'{st.names[0].text}' would have {_big(numel)} entries (shape "
                                f"{dims}); the limit is {_big(self.limits.max_numel)}",
                                st.type.pos if st.type.pos.line else st.pos,
                                "use smaller sizes, or declare sizes as 'dim' to keep them symbolic")

        seen = list(recorder.seen)
        types = {id(node): t for node, t in recorder.seen}
        for node in self.nodes():  # products whose shape the semantic pass leaves open
            if isinstance(node, m.Call) and node.func in ("kron", "outer") and len(node.args) == 2:
                parts = [types.get(id(a)) for a in node.args]
                if all(p is not None for p in parts):
                    shape = tuple(d for p in parts for d in p.shape)
                    seen.append((node, VType("tensor", shape)))
        for node, t in seen:
            numel = self.numel(t.shape)
            if numel is None or numel <= self.limits.max_numel:
                continue
            pos = getattr(node, "pos", m.NOWHERE)
            dims = " × ".join(_big(d) for d in self.dims(t.shape))
            if dims in reported:  # one refusal per offending shape is enough
                continue
            reported.add(dims)
            self.refuse(f"{self.snippet(node)} would have {_big(numel)} entries "
                        f"(shape {dims} at the sizes the engines use); the limit is "
                        f"{_big(self.limits.max_numel)}", pos,
                        "use smaller sizes, or declare sizes as 'dim' to keep them symbolic")

    def dims(self, shape: tuple) -> list[float]:
        return [self._sym_value(d) if d is not None else math.nan for d in shape]

    def numel(self, shape: tuple) -> Optional[float]:
        total = 1.0
        for d in self.dims(shape):
            if d is None or math.isnan(d):
                return None
            total *= max(d, 0.0)
        return total

    def check_power(self, base: m.Expr, exponent: m.Expr, node: m.Expr) -> None:
        b = self.const(exponent, allow_names=self._only_constants(exponent))
        if b is None:
            return
        if abs(b) > self.limits.max_exponent:
            size = _big(abs(b)) if math.isfinite(b) else "astronomically large"
            self.refuse(f"the exponent {self.snippet(exponent)} is {size}; the limit is "
                        f"{_big(self.limits.max_exponent)}", getattr(exponent, "pos", m.NOWHERE))
            return
        a = self.const(base, allow_names=self._only_constants(base))
        if a is None or a == 0 or b <= 0:
            return
        digits = abs(b) * math.log10(abs(a)) if math.isfinite(a) else math.inf
        if digits > self.limits.max_power_digits:
            self.refuse(f"{self.snippet(node)} has {'about ' if math.isfinite(digits) else ''}"
                        f"{_big(digits)} decimal digits; the limit "
                        f"is {_big(self.limits.max_power_digits)}", getattr(node, "pos", m.NOWHERE))

    def _only_constants(self, e: m.Expr) -> bool:
        """Names are allowed in a 'constant' only when each is a definition with a numeric
        value (``let d_in = 256``); a free dimension makes the exponent symbolic."""
        for node in walk(e):
            if isinstance(node, m.Name):
                info = self.checked.symbols.get(node.id)
                if info is None or info.dim_value is None or not getattr(info.dim_value,
                                                                          "is_number", False):
                    return False
        return True

    def check_call(self, e: m.Call) -> None:
        if e.func == "matpow" and len(e.args) == 2:
            self.check_power(e.args[0], e.args[1], e)
        if e.func in ("factorial", "binomial") and e.args:
            v = self.const(e.args[0], allow_names=self._only_constants(e.args[0]))
            if v is not None and abs(v) > self.limits.max_factorial:
                self.refuse(f"{e.func} of {_big(abs(v))} is refused (its value has too many "
                            f"digits; the limit is {_big(self.limits.max_factorial)})", e.pos)
        if e.func in ("sum", "prod", "integrate"):
            for key, value in e.kwargs:
                if isinstance(value, m.Range) and e.func != "integrate":
                    self.check_range(value, f"the range of {key} in {e.func}")

    def check_range(self, r: m.Range, what: str) -> Optional[float]:
        lo = self.const(r.lo)
        hi = self.const(r.hi)
        if lo is None or hi is None:
            return None
        extent = hi - lo + 1
        big_lo, big_hi = self.largest(r.lo), self.largest(r.hi)
        largest = big_hi - big_lo + 1 if big_lo is not None and big_hi is not None else extent
        if math.isnan(largest):
            largest = math.inf
        if extent > self.limits.max_range:
            self.refuse(f"{what} has {_big(extent)} values; the limit is "
                        f"{_big(self.limits.max_range)}", r.pos)
        elif largest > self.limits.max_range:
            self.refuse(f"{what} has {_big(largest)} values at the largest sizes the engines "
                        f"use (dimensions up to {self.limits.max_engine_dim}, integers up to "
                        f"{_big(self.limits.max_engine_int_offset)} above their lower bound); "
                        f"the limit is {_big(self.limits.max_range)}", r.pos,
                        "bound the sizes it depends on (e.g. 'let n : integer in [1, 100]')")
        return max(extent, 0.0)

    def _extents(self, e: m.Expr) -> Optional[float]:
        """The number of index values a sum, product or comprehension runs over (all its
        ranges together) at the largest sizes, or None when it is not such a node."""
        if isinstance(e, m.Call) and e.func in ("sum", "prod"):
            ranges = [v for _, v in e.kwargs if isinstance(v, m.Range)]
        elif isinstance(e, m.Comprehension):
            ranges = [rng for _, rng in e.clauses]
        else:
            return None
        total = 1.0
        for r in ranges:
            lo, hi = self.largest(r.lo), self.largest(r.hi)
            if lo is not None and hi is not None:
                extent = hi - lo + 1
                total *= math.inf if math.isnan(extent) else max(extent, 1.0)
        return total

    def check_nesting(self) -> None:
        """Sums inside sums multiply: ``sum(i = 1..n, sum(j = 1..n, …))`` is n² evaluations.
        Refused when the product over a nest exceeds ``max_range`` at the largest sizes the
        engines use for this claim (one range alone is :meth:`check_range`'s)."""
        dim = self.limits.max_engine_dim if self.formula_only() else \
            self.limits.max_engine_tensor_dim
        saved = self._largest
        self._largest = {k: (min(v, float(dim)) if self.checked.symbols.get(k) is not None and
                             self.checked.symbols[k].role in ("dim", "index", "seq_index")
                             and v > self._values.get(k, 0.0) else v)
                         for k, v in saved.items()}
        try:
            for st in self.claim.statements:
                for root in _roots(st):
                    stack: list[tuple[m.Expr, float, int]] = [(root, 1.0, 0)]
                    while stack:
                        node, outer, depth = stack.pop()
                        extent = self._extents(node)
                        if extent is not None:
                            outer, depth = outer * extent, depth + 1
                            if depth > 1 and outer > self.limits.max_range:
                                self.refuse(
                                    f"{self.snippet(node)} is evaluated {_big(outer)} times in "
                                    f"all (nested sums, products or comprehensions, at the "
                                    f"largest sizes the engines use); the limit is "
                                    f"{_big(self.limits.max_range)}",
                                    getattr(node, "pos", m.NOWHERE),
                                    "bound the sizes the ranges depend on")
                                continue
                        stack.extend((c, outer, depth) for c in children(node))
        finally:
            self._largest = saved

    def check_comprehension(self, e: m.Comprehension) -> None:
        total = 1.0
        for name, rng in e.clauses:
            extent = self.check_range(rng, f"the range of {name}")
            if extent is None:
                return
            total *= extent
        if total > self.limits.max_numel:
            self.refuse(f"the comprehension builds {_big(total)} entries; the limit is "
                        f"{_big(self.limits.max_numel)}", e.pos)

    def check_index(self, e: m.Index) -> None:
        if not isinstance(e.base, m.Name):
            return
        info = self.checked.symbols.get(e.base.id)
        if info is None or info.role != "sequence":
            return
        for i in e.indices:
            v = self.const(i, allow_names=self._only_constants(i))
            if v is not None and abs(v) > self.limits.max_steps:
                self.refuse(f"{self.snippet(e)} asks for step {_big(abs(v))} of a recurrence; the "
                            f"limit is {_big(self.limits.max_steps)}", e.pos)
                continue
            far = self.largest(i)
            # an integer at its lower bound + 10⁶ is a loop the engine runs today; only
            # steps beyond that reach (n², 2ⁿ, …) are refused
            allowed = self.limits.max_steps + self.limits.max_engine_int_offset
            if far is not None and (math.isnan(far) or abs(far) > allowed):
                self.refuse(f"{self.snippet(e)} asks for step {_big(abs(far))} of a recurrence at "
                            f"the largest sizes the engines use; the limit is "
                            f"{_big(allowed)}", e.pos,
                            "bound the sizes it depends on (e.g. 'let T : integer in [1, 100]')")


def _roots(st) -> Iterable[m.Expr]:
    """The expression roots of a statement (types' sizes included)."""
    if isinstance(st, m.Show):
        yield st.statement
    elif isinstance(st, m.Assume):
        yield st.condition
    elif isinstance(st, m.Define):
        yield st.value
    elif isinstance(st, m.FuncDef):
        yield st.body
    elif isinstance(st, m.Recurrence):
        for eq in st.equations:
            yield eq.index
            yield eq.value
    elif isinstance(st, m.Sweep):
        yield st.values
    elif isinstance(st, m.Decl):
        if st.dist is not None:
            yield st.dist
        yield from _type_roots(st.type)


def _type_roots(spec) -> Iterable[m.Expr]:
    if isinstance(spec, m.TensorType):
        yield from spec.shape
        for p in spec.props:
            if p.arg is not None:
                yield p.arg
    elif isinstance(spec, m.ScalarType):
        for _, b in spec.bounds:
            yield b
        if spec.interval is not None:
            yield spec.interval.lo
            yield spec.interval.hi
    elif isinstance(spec, m.IndexType):
        yield spec.range
    elif isinstance(spec, m.FunctionType):
        yield from _type_roots(spec.domain)
        yield from _type_roots(spec.codomain)


def check(checked: CheckedClaim, limits: Limits = DEFAULT,
          source_lines: Optional[list[str]] = None) -> list[Diagnostic]:
    """Refusals for a checked claim (empty when its sizes and costs are reasonable)."""
    try:
        return Guard(checked, limits, source_lines).run()
    except RecursionError:
        claim = checked.claim
        return [Refusal("refused before running: expression nested too deeply", claim.file,
                        claim.pos.line, 1, "", None, claim.id)]


def refusal_outcome(problems: list[Diagnostic]) -> tuple[str, dict]:
    """The summary and evidence of an ``error`` verdict for refused claims."""
    summary = problems[0].message + (f" ({len(problems) - 1} more)" if len(problems) > 1 else "")
    return summary, {"guard": [d.as_dict() for d in problems],
                     "rendered": "\n".join(d.render() for d in problems)}
