"""The Lark Transformer that turns a parse tree into :mod:`derive.model` nodes.

Spellings are unified here (``ᵀ``/``'``/``.T``; ``≤``/``<=``; Greek/ASCII names), so the
model has one form per meaning.  Numbers become exact fractions by string arithmetic,
never by evaluating text.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from lark import Token, Transformer, v_args

from derive import model as m
from derive.language.functions import COST_NAMES, FUNCTION_ALIASES, STAT_NAMES
from derive.language.names import SUPERSCRIPT_DIGITS, normalize

COMPARE = {"==": "==", "!=": "!=", "≠": "!=", "<=": "<=", "≤": "<=", ">=": ">=", "≥": ">=",
           "<": "<", ">": ">", "≈": "≈", "~=": "≈", "~": "~"}
ARITH = {"+": "+", "-": "-", "−": "-", "*": "*", "×": "*", "/": "/", "@": "@", "⊙": "⊙",
         ".*": "⊙", "∘": "⊙", "·": "·", "⋅": "·", "^": "^", "**": "^", ".^": ".^"}
# Textbook spellings that mean a built-in call (docs/semantics.md, "Textbook notation"):
# ``A ⊗ B`` is kron(A, B); ``‖x‖_F`` is norm(x, fro); the subscript names the norm.
CALL_OPS = {"⊗": "kron"}
NORM_SUBSCRIPTS = {"": None, "2": Fraction(2), "₂": Fraction(2), "1": Fraction(1),
                   "₁": Fraction(1), "F": "fro", "fro": "fro", "inf": "inf", "∞": "inf"}
STAT_OPS = STAT_NAMES
COST_OPS = COST_NAMES


class TransformError(Exception):
    """A construct that parses but is not well formed (carries a message and a position)."""

    def __init__(self, message: str, pos: m.Pos, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint


def pos_of(meta: Any) -> m.Pos:
    if meta is None or getattr(meta, "empty", True):
        return m.NOWHERE
    return m.Pos(meta.line, meta.column, meta.end_line, meta.end_column)


def tok_pos(tok: Token) -> m.Pos:
    return m.Pos(tok.line or 0, tok.column or 0, tok.end_line or 0, tok.end_column or 0)


def exprpos(e: Any) -> m.Pos:
    return getattr(e, "pos", m.NOWHERE)


def parse_number(text: str) -> tuple[Fraction, bool]:
    """Exact value of a numeric literal such as ``1e-3`` or ``0.25`` (and ``2j``)."""
    if len(text) > 400:
        raise ValueError(f"a number of {len(text)} characters is too long (at most 400)")
    imaginary = text.endswith("j")
    body = text[:-1] if imaginary else text
    mantissa, _, exponent = body.lower().partition("e")
    whole, _, frac = mantissa.partition(".")
    value = Fraction(int(whole + frac), 10 ** len(frac))
    if exponent:
        exp = int(exponent)
        if abs(exp) > 400:
            raise ValueError(f"exponent {exp} is out of range")
        value *= Fraction(10) ** exp
    return value, imaginary


def unquote(text: str) -> str:
    """Remove quotes and resolve the escapes \\" \\\\ \\n \\t (nothing else is interpreted)."""
    body = text[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _name(tok: Token) -> m.Name:
    return m.Name(normalize(str(tok)), str(tok), tok_pos(tok))


@v_args(meta=True)
class ToModel(Transformer):
    """Parse tree → model.  Each method is named after a grammar rule or alias."""

    def __init__(self, file: str = "<string>", source_lines: list[str] | None = None):
        super().__init__()
        self.file = file
        self.source_lines = source_lines or []

    # ---- file and claim
    def start(self, meta, items):
        return list(items)

    def claim(self, meta, items):
        ident = str(items[0])
        rest = list(items[1:])
        title = None
        if rest and isinstance(rest[0], Token) and rest[0].type == "STRING":
            title = unquote(str(rest.pop(0)))
        source, expect, tags, statements = None, "holds", (), []
        for item in rest:
            kind = item[0] if isinstance(item, tuple) and item and isinstance(item[0], str) else None
            if kind == "source":
                source = item[1]
            elif kind == "expect":
                expect = item[1]
            elif kind == "tags":
                tags = item[1]
            else:
                statements.append(item)
        pos = m.Pos(items[0].line, 1, meta.end_line, meta.end_column)
        text = ""
        if self.source_lines:
            text = "\n".join(self.source_lines[meta.line - 1: meta.end_line])
        return m.Claim(ident, title, source, expect, tuple(statements), tags, self.file, pos, text)

    def source(self, meta, items):
        return ("source", unquote(str(items[0])))

    def expect(self, meta, items):
        word = str(items[0])
        if word not in m.EXPECTATIONS:
            raise TransformError(f"unknown expectation '{word}'", tok_pos(items[0]),
                                 "use one of: " + ", ".join(m.EXPECTATIONS))
        return ("expect", word)

    def tag(self, meta, items):
        return ("tags", tuple(str(t) for t in items))

    def assume(self, meta, items):
        return m.Assume(items[0], pos_of(meta))

    def existential(self, meta, items):
        return ("exists",)

    def show(self, meta, items):
        within = rel = device = None
        exists = items[0] == ("exists",)
        if exists:
            items = items[1:]
        for mod in items[1:]:
            if mod[0] == "within":
                within = mod[1]
            elif mod[0] == "rel":
                rel = mod[1]
            else:
                device = mod[1]
        return m.Show(items[0], within, rel, device, pos_of(meta), exists)

    def within(self, meta, items):
        return ("within", items[1].value)

    def rel(self, meta, items):
        return ("rel", items[1].value)

    def on_device(self, meta, items):
        dev = str(items[0])
        if dev not in ("cuda", "cpu"):
            raise TransformError(f"unknown device '{dev}'", tok_pos(items[0]), "use 'on cuda' or 'on cpu'")
        return ("on", dev)

    # ---- let
    def name_list(self, meta, items):
        return tuple(_name(t) for t in items)

    def decl(self, meta, items):
        names, spec = items[0], items[1]
        dist = items[2] if len(items) > 2 else None
        return m.Decl(names, spec, dist, pos_of(meta))

    def dist(self, meta, items):
        return items[1]

    def define(self, meta, items):
        return m.Define(items[0], items[1], pos_of(meta))

    def func_def(self, meta, items):
        return m.FuncDef(_name(items[0]), items[1], items[2], pos_of(meta))

    def rec_eq(self, meta, items):
        return m.RecEq(_name(items[0]), items[1], items[2], pos_of(meta))

    def recurrence(self, meta, items):
        return m.Recurrence(tuple(items), pos_of(meta))

    def sweep(self, meta, items):
        return m.Sweep(_name(items[0]), items[1], pos_of(meta))

    # ---- types
    def _props(self, items):
        return tuple(i for i in items if isinstance(i, m.Prop))

    def scalar_spec(self, meta, items):
        kind = str(items[0])
        bounds = tuple(i for i in items[1:] if isinstance(i, tuple))
        return m.ScalarType(kind, bounds, None, self._props(items), pos_of(meta))

    def interval_spec(self, meta, items):
        return m.ScalarType(str(items[0]), (), items[1], self._props(items), pos_of(meta))

    def tensor_spec(self, meta, items):
        kind = str(items[0])
        shape = tuple(i for i in items[1:] if not isinstance(i, m.Prop))
        return m.TensorType(kind, shape, self._props(items), pos_of(meta))

    def index_spec(self, meta, items):
        return m.IndexType(items[0], pos_of(meta))

    def function_spec(self, meta, items):
        return m.FunctionType(items[0], items[2], pos_of(meta))

    def bound(self, meta, items):
        return (COMPARE[str(items[0])], items[1])

    def closed_closed(self, meta, items):
        return m.Interval(items[0], items[1], True, True)

    def closed_open(self, meta, items):
        return m.Interval(items[0], items[1], True, False)

    def open_closed(self, meta, items):
        return m.Interval(items[0], items[1], False, True)

    def open_open(self, meta, items):
        return m.Interval(items[0], items[1], False, False)

    def prop(self, meta, items):
        return m.Prop(str(items[0]), items[1] if len(items) > 1 else None, pos_of(meta))

    # ---- expressions
    def equiv(self, meta, items):
        return m.Logic("<=>", (items[0], items[2]), pos_of(meta))

    def implies(self, meta, items):
        return m.Logic("=>", (items[0], items[2]), pos_of(meta))

    def or_(self, meta, items):
        return m.Logic("or", tuple(items), pos_of(meta))

    def and_(self, meta, items):
        return m.Logic("and", tuple(items), pos_of(meta))

    def not_(self, meta, items):
        return m.Logic("not", (items[0],), pos_of(meta))

    def chain(self, meta, items):
        operands = tuple(items[0::2])
        ops = tuple(COMPARE[str(t)] for t in items[1::2])
        return m.Compare(ops, operands, pos_of(meta))

    def big_o(self, meta, items):
        word = normalize(str(items[1]))
        if word in ("Theta",):  # Θ is '~' (docs/semantics.md): never weakened to O
            return m.Compare(("~",), (items[0], items[2]), pos_of(meta))
        if word not in ("O", "Omega"):
            raise TransformError(f"expected O(…), Ω(…) or Θ(…) after 'in', found '{items[1]}'",
                                 tok_pos(items[1]), "write 'flops[…] in O(n^2)'")
        return m.BigO(items[0], items[2], kind="Ω" if word == "Omega" else "O", pos=pos_of(meta))

    def substitute(self, meta, items):
        return m.Subst(items[0], tuple(items[1:]), pos_of(meta))

    def binding(self, meta, items):
        return (normalize(str(items[0])), items[1])

    def binop(self, meta, items):
        op = str(items[1])
        if op in CALL_OPS:
            return m.Call(CALL_OPS[op], (items[0], items[2]), (), pos_of(meta))
        return m.BinOp(ARITH[op], items[0], items[2], pos_of(meta))

    def if_else(self, meta, items):
        return m.Call("where", (items[1], items[0], items[2]), (), pos_of(meta))

    def root(self, meta, items):
        return m.Call("sqrt", (items[1],), (), pos_of(meta))

    def abs_bars(self, meta, items):
        return m.Call("abs", (items[0],), (), pos_of(meta))

    def norm_bars(self, meta, items):
        close = str(items[2])
        sub = close[1:].lstrip("_").strip("{}")
        kind = NORM_SUBSCRIPTS.get(sub)
        pos = pos_of(meta)
        if kind is None:
            return m.Call("norm", (items[1],), (), pos)
        if isinstance(kind, str):
            return m.Call("norm", (items[1], m.Name(kind, kind, tok_pos(items[2]))), (), pos)
        return m.Call("norm", (items[1], m.Num(kind, str(kind), False, tok_pos(items[2]))), (), pos)

    def slice_range(self, meta, items):
        return items[0]

    def neg_op(self, meta, items):
        op = ARITH[str(items[0])]
        if op == "+":
            return items[1]
        if isinstance(items[1], m.Num) and not items[1].imaginary:
            return m.Num(-items[1].value, "-" + items[1].text, False, pos_of(meta))
        return m.Unary("-", items[1], pos_of(meta))

    def transpose(self, meta, items):
        return m.Transpose(items[0], pos_of(meta))

    def superscript(self, meta, items):
        raw = str(items[1])
        digits = "".join(SUPERSCRIPT_DIGITS[c] for c in raw)
        if len(digits.lstrip("-")) > 6:
            raise TransformError(f"exponent {raw[:12]}… is too large", tok_pos(items[1]))
        if digits == "-1":
            return m.Call("inv", (items[0],), (), pos_of(meta))
        value = int(digits)
        return m.BinOp("^", items[0], m.Num(Fraction(value), digits, False, tok_pos(items[1])),
                       pos_of(meta))

    def index(self, meta, items):
        base, args = items[0], items[1]
        positional = tuple(a for a in args if not isinstance(a, tuple))
        if isinstance(base, m.Name) and base.id in STAT_OPS:
            if any(isinstance(a, tuple) for a in args):
                raise TransformError(f"{base.id}[…] takes no keyword arguments", pos_of(meta))
            return m.Stat(base.id, positional, pos_of(meta))
        if isinstance(base, m.Name) and base.id in COST_OPS:
            if len(positional) != 1 or len(args) != 1:
                raise TransformError(f"{base.id}[…] takes one expression", pos_of(meta))
            return m.Cost(base.id, positional[0], pos_of(meta))
        if isinstance(base, m.Name) and base.id == "I":
            return m.Call("I", positional, (), pos_of(meta))
        if any(isinstance(a, tuple) for a in args):
            raise TransformError("an index takes no keyword arguments", pos_of(meta))
        return m.Index(base, positional, pos_of(meta))

    def cond_index(self, meta, items):
        """``E[X | B]``, ``P[A | B]`` with B an event: its definition (docs/semantics.md,
        "Conditioning"), P[A | B] = P[A and B] / P[B], E[X | B] = E[(X if B else 0)] / P[B].
        ``E[X | Y]``, ``E[X | Y, Z]`` with names: an :class:`m.Cond` node, a random quantity
        (the semantic pass checks that each name is a declared draw)."""
        base, what, given = items[0], items[1], tuple(items[2:])
        pos = pos_of(meta)
        kind = base.id if isinstance(base, m.Name) else ""
        if kind not in ("E", "P"):
            raise TransformError(f"{kind + '[… | …]' if kind else 'this'} is not supported: "
                                 "'|' inside brackets conditions an expectation or a "
                                 "probability, E[X | B] or P[A | B]", pos,
                                 "for an absolute value write |x| around the operand; "
                                 "Var[X | B] is E[X^2 | B] - E[X | B]^2 (B an event or "
                                 "declared draws)")
        if len(given) == 1 and _is_event(given[0]):
            return _event_conditioning(kind, what, given[0], pos)
        for g in given:
            if _is_event(g):
                raise TransformError("an event cannot be listed with other conditions", exprpos(g),
                                     "join events with 'and' (P[A | B and C]); condition on "
                                     "draws with commas (E[X | Y, Z])")
            if not isinstance(g, m.Name):
                raise TransformError("conditioning is on declared random draws (names such as "
                                     "E[X | Y] or E[X | Y, Z]) or on an event (Y > 0); "
                                     "conditioning on an expression needs its conditional law, "
                                     "which is not supported", exprpos(g),
                                     "condition on declared draws (E[X | a, b] holds both a "
                                     "and b, more than a + b), or on an event such as "
                                     "E[X | a + b > 0]")
        return m.Cond(kind, what, given, pos)

    def call(self, meta, items):
        base = items[0]
        args = items[1] if len(items) > 1 else []
        if not isinstance(base, m.Name):
            raise TransformError("only a name can be called", pos_of(meta))
        positional = tuple(a for a in args if not isinstance(a, tuple))
        kwargs = tuple(a for a in args if isinstance(a, tuple))
        for a in positional:
            if isinstance(a, (m.Range, m.Slice)):
                raise TransformError("a range or ':' is an index, not an argument", a.pos,
                                     f"slice with x[a..b]; bind an index with "
                                     f"{base.text or base.id}(i = a..b, …)")
        func = FUNCTION_ALIASES.get(base.id, base.id)
        return m.Call(func, positional, kwargs, m.Pos(base.pos.line, base.pos.column,
                                                         meta.end_line, meta.end_column))

    def args(self, meta, items):
        return list(items)

    def kwarg(self, meta, items):
        return (normalize(str(items[0])), items[1])

    def slice_all(self, meta, items):
        return m.Slice(pos_of(meta))

    def name(self, meta, items):
        return _name(items[0])

    def number(self, meta, items):
        tok = items[0]
        try:
            value, imaginary = parse_number(str(tok))
        except ValueError as exc:
            raise TransformError(str(exc), tok_pos(tok)) from None
        return m.Num(value, str(tok), imaginary, tok_pos(tok))

    def block(self, meta, items):
        return m.Block(tuple(items), pos_of(meta))

    def row(self, meta, items):
        return tuple(items)

    def comprehension(self, meta, items):
        return m.Comprehension(items[0], tuple(items[1:]), pos_of(meta))

    def for_clause(self, meta, items):
        return (normalize(str(items[0])), items[1])

    def range(self, meta, items):
        return m.Range(items[0], items[1], pos_of(meta))


def _is_event(e: m.Expr) -> bool:
    """A condition (comparison or logic), which conditioning rewrites by definition."""
    return isinstance(e, m.Logic) or (isinstance(e, m.Compare) and "~" not in e.ops)


def _event_conditioning(kind: str, what: m.Expr, given: m.Expr, pos: m.Pos) -> m.Expr:
    """P[A | B] = P[A and B] / P[B]; E[X | B] = E[(X if B else 0)] / P[B]."""
    p_given = m.Stat("P", (given,), pos)
    if kind == "P":
        return m.BinOp("/", m.Stat("P", (m.Logic("and", (what, given), pos),), pos), p_given, pos)
    zero = m.Num(Fraction(0), "0", False, pos)
    return m.BinOp("/", m.Stat("E", (m.Call("where", (given, what, zero), (), pos),), pos),
                   p_given, pos)
