"""Model → claim text: print a (repaired) statement so that people can read and paste it.

Repairs are built as edits of the typed model; this module prints them back in the
claims language (minimal brackets from the grammar's precedence), spaces the tokens with
the formatter's rules (:func:`derive.fmt.respace`), and checks the round trip: the
printed text, parsed by derive's own parser (never ``eval``), must give the same model.
A statement that does not round-trip is not printed (``None``), so a suggestion never
shows text that means something else than what derive decided.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Optional

from derive import model as m
from derive.language.names import pretty

# binding strength, lowest first (derive/grammar/claims.lark)
LOGIC, OR, AND, NOT, COMPARE, SUBST, ARITH, TERM, UNARY, POWER, POSTFIX, ATOM = range(12)
_TERM_OPS = {"*", "/", "@", "⊙", "·"}
_POW_OPS = {"^", ".^"}
_RANGE_FIRST = {"sum", "prod"}  # binders written before the body


def _name(e: m.Name) -> str:
    return e.text or pretty(e.id)


def number(value: Fraction) -> m.Expr:
    """An exact number as a model expression: ``3``, ``-2`` or ``(1/3)`` as a division."""
    if value.denominator == 1:
        return m.Num(value, str(value.numerator))
    num = m.Num(Fraction(abs(value.numerator)), str(abs(value.numerator)))
    frac = m.BinOp("/", num, m.Num(Fraction(value.denominator), str(value.denominator)))
    return m.Unary("-", frac) if value < 0 else frac


def expr_text(e: Any, need: int = LOGIC) -> str:
    """``e`` printed; bracketed when it binds less tightly than ``need``."""
    text, prec = _print(e)
    return f"({text})" if prec < need else text


def _print(e: Any) -> tuple[str, int]:
    if isinstance(e, m.Num):
        return e.text, (UNARY if e.text.startswith("-") else ATOM)
    if isinstance(e, m.Name):
        return _name(e), ATOM
    if isinstance(e, m.Unary):
        return "-" + expr_text(e.operand, UNARY), UNARY
    if isinstance(e, m.BinOp):
        if e.op in _POW_OPS:
            return f"{expr_text(e.left, POSTFIX)}{e.op}{expr_text(e.right, UNARY)}", POWER
        level = TERM if e.op in _TERM_OPS else ARITH
        return f"{expr_text(e.left, level)} {e.op} {expr_text(e.right, level + 1)}", level
    if isinstance(e, m.Transpose):
        return expr_text(e.operand, POSTFIX) + "ᵀ", POSTFIX
    if isinstance(e, m.Call):
        if e.func == "I":
            return f"I[{', '.join(expr_text(a) for a in e.args)}]", POSTFIX
        args = [expr_text(a) for a in e.args]
        kwargs = [f"{pretty(k)} = {expr_text(v)}" for k, v in e.kwargs]
        first_ranges = e.func in _RANGE_FIRST and any(isinstance(v, m.Range) for _, v in e.kwargs)
        parts = kwargs + args if first_ranges else args + kwargs
        return f"{pretty(e.func)}({', '.join(parts)})", POSTFIX
    if isinstance(e, m.Index):
        return f"{expr_text(e.base, POSTFIX)}[{', '.join(expr_text(i) for i in e.indices)}]", POSTFIX
    if isinstance(e, m.Slice):
        return ":", ATOM
    if isinstance(e, m.Range):
        return f"{expr_text(e.lo, ARITH)}..{expr_text(e.hi, ARITH)}", ATOM
    if isinstance(e, m.Stat):
        return f"{e.kind}[{', '.join(expr_text(a) for a in e.args)}]", POSTFIX
    if isinstance(e, m.Cond):
        given = ", ".join(expr_text(g) for g in e.given)
        return f"{e.kind}[{expr_text(e.arg)} | {given}]", POSTFIX
    if isinstance(e, m.Cost):
        return f"{e.kind}[{expr_text(e.arg)}]", POSTFIX
    if isinstance(e, m.Block):
        return "[" + "; ".join(", ".join(expr_text(x) for x in row) for row in e.rows) + "]", ATOM
    if isinstance(e, m.Comprehension):
        clauses = ", ".join(f"{pretty(n)} in {expr_text(r)}" for n, r in e.clauses)
        return f"[{expr_text(e.body)} for {clauses}]", ATOM
    if isinstance(e, m.Compare):
        out = expr_text(e.operands[0], SUBST)
        for op, x in zip(e.ops, e.operands[1:]):
            out += f" {op} {expr_text(x, SUBST)}"
        return out, COMPARE
    if isinstance(e, m.BigO):
        return f"{expr_text(e.expr, SUBST)} in O({expr_text(e.bound)})", COMPARE
    if isinstance(e, m.Subst):
        binds = ", ".join(f"{pretty(k)} = {expr_text(v, ARITH)}" for k, v in e.bindings)
        return f"{expr_text(e.expr, ARITH)} at ({binds})", SUBST
    if isinstance(e, m.Logic):
        if e.op == "not":
            return "not " + expr_text(e.args[0], NOT), NOT
        if e.op in ("and", "or"):
            level = AND if e.op == "and" else OR
            return f" {e.op} ".join(expr_text(a, level + 1) for a in e.args), level
        return f"{expr_text(e.args[0], OR)} {e.op} {expr_text(e.args[1], OR)}", LOGIC
    raise ValueError(f"cannot print {type(e).__name__}")


def _spaced(code: str) -> str:
    from derive.fmt import respace, tokenize

    tokens = tokenize(code)
    return respace(tokens, 0) if tokens else code


def statement_text(st: Any) -> Optional[str]:
    """The line of a (show or let) statement, canonically spaced; None if it cannot be
    printed faithfully (the printed line does not parse back to the same model)."""
    try:
        if isinstance(st, m.Show):
            code = "show " + ("exists: " if st.exists else "") + expr_text(st.statement)
            if st.within is not None:
                code += f" within {_fraction_text(st.within)}"
            if st.rel is not None:
                code += f" rel {_fraction_text(st.rel)}"
            if st.device:
                code += f" on {st.device}"
        elif isinstance(st, m.Define):
            code = f"let {', '.join(_name(n) for n in st.names)} = {expr_text(st.value)}"
        elif isinstance(st, m.FuncDef):
            code = (f"let {_name(st.name)}({', '.join(_name(p) for p in st.params)}) = "
                    f"{expr_text(st.body)}")
        else:
            return None
    except (ValueError, RecursionError):
        return None
    text = _spaced(code)
    if isinstance(st, m.Show) and st.exists:
        text = text.replace("show exists :", "show exists:", 1)
    return text if _round_trips(st, text) else None


def _fraction_text(v: Fraction) -> str:
    """A tolerance as an exact decimal (tolerances are written as decimals)."""
    if v.denominator == 1:
        return str(v.numerator)
    for digits in range(1, 30):
        scaled = v * 10 ** digits
        if scaled.denominator == 1:
            whole = str(abs(scaled.numerator)).rjust(digits + 1, "0")
            return ("-" if v < 0 else "") + whole[:-digits] + "." + whole[-digits:]
    return f"{float(v):.17g}"  # not a finite decimal: the round trip check rejects it


def _round_trips(st: Any, text: str) -> bool:
    """Parse ``text`` as a claim body line with derive's parser and compare models."""
    from derive.language.load import load_text

    loaded = load_text(f"claim repair.print\n  {text}\n", "<repair>")
    if len(loaded.claims) != 1:
        return False
    got = [s for s in loaded.claims[0].statements if type(s) is type(st)]
    return len(got) == 1 and _same(got[0], st)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, m.Show):
        return (a.statement, a.within, a.rel, a.device) == (b.statement, b.within, b.rel, b.device)
    return a == b
