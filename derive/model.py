"""The typed claim model: the one vocabulary every engine reads.

Built from the parse tree by :mod:`derive.language.transform`; engines lower these
nodes to SymPy or torch directly, so no text from a claim file is ever evaluated.
All nodes are frozen dataclasses so they can be hashed (for the result cache) and
compared (for ``derive fmt`` round trips).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Optional, Union


@dataclass(frozen=True)
class Pos:
    """Where a node starts and ends in its file (1-based lines and columns)."""

    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0


NOWHERE = Pos()


# ---------------------------------------------------------------- expressions
@dataclass(frozen=True)
class Expr:
    """Base of every expression node."""


@dataclass(frozen=True)
class Num(Expr):
    """A number literal, kept exact: ``0.1`` is the fraction 1/10."""

    value: Fraction
    text: str
    imaginary: bool = False
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Name(Expr):
    """A reference to a declared or defined name (``id`` is the normalised spelling)."""

    id: str
    text: str = field(default="", compare=False)
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-"
    operand: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class BinOp(Expr):
    """Binary arithmetic.  ``op`` is one of ``+ - * / @ ⊙ · ^ .^``."""

    op: str
    left: Expr
    right: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Transpose(Expr):
    operand: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Range(Expr):
    """An inclusive integer range ``lo..hi``."""

    lo: Expr
    hi: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Slice(Expr):
    """``:`` inside an index: the whole axis."""

    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Call(Expr):
    """A function call; ``kwargs`` keeps source order.  Binders (``sum(i = 1..n, …)``)
    arrive as kwargs whose value is a :class:`Range`."""

    func: str
    args: tuple[Expr, ...]
    kwargs: tuple[tuple[str, Expr], ...] = ()
    pos: Pos = field(default=NOWHERE, compare=False)

    def kwarg(self, key: str) -> Optional[Expr]:
        for k, v in self.kwargs:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class Index(Expr):
    base: Expr
    indices: tuple[Expr, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Stat(Expr):
    """A probabilistic operator: ``E[x]``, ``Var[x]``, ``Std[x]``, ``Cov[x, y]``, ``P[event]``."""

    kind: str
    args: tuple[Expr, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Cond(Expr):
    """Conditioning on declared draws: ``E[x | y]`` or ``P[A | y, z]``, a random quantity.

    ``given`` are the conditioning draws (names); the value holds them fixed and averages
    over every other draw of the claim (docs/semantics.md, "Conditioning").  Conditioning
    on an event is not this node: the transformer writes it out by definition."""

    kind: str
    arg: Expr
    given: tuple[Expr, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Cost(Expr):
    """A cost of computing an expression as written: ``time[…]``, ``flops[…]``, ``memory[…]``."""

    kind: str
    arg: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Block(Expr):
    """A block matrix or list literal: rows separated by ``;``, entries by ``,``."""

    rows: tuple[tuple[Expr, ...], ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Comprehension(Expr):
    """``[body for i in a..b, j in c..d]``: a vector of the body over the index ranges."""

    body: Expr
    clauses: tuple[tuple[str, Range], ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Compare(Expr):
    """A chain of comparisons ``a op1 b op2 c``; ops are ``== != < <= > >= ≈ ~``."""

    ops: tuple[str, ...]
    operands: tuple[Expr, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class BigO(Expr):
    """``expr in O(bound)``: growth no faster than ``bound`` over the sweep; with
    ``kind == "Ω"`` (``expr in Ω(bound)``) growth no slower."""

    expr: Expr
    bound: Expr
    kind: str = "O"  # "O" (upper bound) or "Ω" (lower bound)
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Logic(Expr):
    """``and``, ``or``, ``not``, ``=>`` and ``<=>`` between conditions."""

    op: str
    args: tuple[Expr, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


def connective(op: str, vals: list[bool]) -> Optional[bool]:
    """The truth of a :class:`Logic` node from its arguments' truths (None for an unknown
    connective): the one meaning of ``and``, ``or``, ``not``, ``=>``, ``<=>``."""
    if op == "and":
        return all(vals)
    if op == "or":
        return any(vals)
    if op == "not":
        return not vals[0]
    if op == "=>":
        return (not vals[0]) or vals[1]
    if op == "<=>":
        return vals[0] == vals[1]
    return None


@dataclass(frozen=True)
class Subst(Expr):
    """``expr at (x = a, y = b)``: the expression with names replaced."""

    expr: Expr
    bindings: tuple[tuple[str, Expr], ...]
    pos: Pos = field(default=NOWHERE, compare=False)


# ---------------------------------------------------------------- types
@dataclass(frozen=True)
class Prop:
    """A declared property such as ``invertible`` or ``rank(r)``."""

    name: str
    arg: Optional[Expr] = None
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Interval:
    lo: Expr
    hi: Expr
    lo_closed: bool
    hi_closed: bool


@dataclass(frozen=True)
class ScalarType:
    """``real``, ``integer``, ``complex`` or ``dim``, with optional bounds or interval."""

    kind: str
    bounds: tuple[tuple[str, Expr], ...] = ()
    interval: Optional[Interval] = None
    props: tuple[Prop, ...] = ()
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class TensorType:
    """``vector[n]``, ``matrix[m, n]`` or ``tensor[…]`` with properties."""

    kind: str
    shape: tuple[Expr, ...]
    props: tuple[Prop, ...] = ()
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class IndexType:
    """``1..n``: an integer index, universally quantified over the range."""

    range: Range
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class FunctionType:
    """``vector[k] -> real smooth``: an arbitrary function, universally quantified."""

    domain: Union[ScalarType, TensorType]
    codomain: Union[ScalarType, TensorType]
    pos: Pos = field(default=NOWHERE, compare=False)


TypeSpec = Union[ScalarType, TensorType, IndexType, FunctionType]


# ---------------------------------------------------------------- statements
@dataclass(frozen=True)
class Decl:
    names: tuple[Name, ...]
    type: TypeSpec
    dist: Optional[Expr] = None
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Define:
    """``let y = expr`` (or ``let U, S, V = svd(X)`` when several names)."""

    names: tuple[Name, ...]
    value: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class FuncDef:
    """``let L(W1, W2) = expr``."""

    name: Name
    params: tuple[Name, ...]
    body: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class RecEq:
    seq: Name
    index: Expr
    value: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Recurrence:
    """``let w[t+1] = f(w[t]), w[0] = w0``: one or several sequences in step."""

    equations: tuple[RecEq, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Sweep:
    """``let n in [256, 512]``: the sizes a cost or growth claim is measured at."""

    name: Name
    values: Expr  # Block (a list) or Range
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Assume:
    condition: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Show:
    """One statement to decide, with its tolerance and device if stated."""

    statement: Expr
    within: Optional[Fraction] = None
    rel: Optional[Fraction] = None
    device: Optional[str] = None
    pos: Pos = field(default=NOWHERE, compare=False)
    exists: bool = False  # ``show exists: …``: true for some values of the names, not all


Statement = Union[Decl, Define, FuncDef, Recurrence, Sweep, Assume, Show]

EXPECTATIONS = ("holds", "proved", "verified", "refuted", "inconclusive", "any")


@dataclass(frozen=True)
class Claim:
    """One claim as written: header, metadata and statements in source order."""

    id: str
    title: Optional[str]
    source: Optional[str]
    expect: str
    statements: tuple[Statement, ...]
    tags: tuple[str, ...] = ()
    file: str = field(default="<string>", compare=False)
    pos: Pos = field(default=NOWHERE, compare=False)
    text: str = field(default="", compare=False)

    @property
    def shows(self) -> list[Show]:
        return [s for s in self.statements if isinstance(s, Show)]

    @property
    def line(self) -> int:
        return self.pos.line
