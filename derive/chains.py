"""Derivations: a chain ``a == b <= c …`` is decided link by link.

Course notes are chains of equalities and inequalities.  Deciding the chain as one
statement says only "refuted" when one link is wrong; here each link ``aₖ opₖ aₖ₊₁`` is
decided as its own statement (by the same engines, with the same cross-check), and the
chain's verdict is the combination of its links' verdicts (the chain means "every link
holds", the convention for ``a <= b <= c``).  The result names the first link with the
deciding verdict, its line, and — for a wrong ``==`` link between scalars — the exact
residual lhs − rhs where it simplifies to something short.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome, Verdict, combine

SPLIT_OPS = {"==", "!=", "<", "<=", ">", ">=", "≈"}
RESIDUAL_S = 1.0        # seconds to simplify a wrong link's residual
RESIDUAL_MAX_OPS = 40   # a longer residual is not worth printing


def is_chain(statement: m.Expr) -> bool:
    """Two or more comparisons in a row, none of them a growth claim (``~``)."""
    return isinstance(statement, m.Compare) and len(statement.ops) >= 2 and \
        all(op in SPLIT_OPS for op in statement.ops)


def links(statement: m.Compare) -> list[m.Compare]:
    """``a op1 b op2 c`` as ``[a op1 b, b op2 c]``, each positioned from its left operand."""
    out = []
    for k, op in enumerate(statement.ops):
        a, b = statement.operands[k], statement.operands[k + 1]
        pos = m.Pos(a.pos.line, a.pos.column, b.pos.end_line, b.pos.end_column)
        out.append(m.Compare((op,), (a, b), pos))
    return out


def link_line(link: m.Compare) -> int:
    """The line a link is written on: its right operand's (notes put ``== next`` on a line)."""
    return link.operands[1].pos.line or link.pos.line


def link_text(claim: m.Claim, link: m.Compare) -> str:
    """The link as written in the claim file (continuation lines joined), else ''."""
    pos = link.pos
    lines = claim.text.split("\n")
    first, last = pos.line - claim.pos.line, pos.end_line - claim.pos.line
    if not (0 <= first <= last < len(lines)) or pos.column < 1:
        return ""
    if first == last:
        return lines[first][pos.column - 1:pos.end_column - 1].strip()
    parts = [lines[first][pos.column - 1:]] + lines[first + 1:last] + \
        [lines[last][:pos.end_column - 1]]
    return " ".join(p.strip().rstrip("\\").strip() for p in parts if p.strip())


def decide_chain(ctx: Context, decide: Callable[[Context], Outcome]) -> Outcome:
    """Decide each link with ``decide`` (the statement decider) and combine."""
    results = []
    for k, link in enumerate(links(ctx.statement), start=1):
        sub = Context(ctx.checked, replace(ctx.show, statement=link), ctx.index, ctx.options)
        results.append((k, link, decide(sub)))
    verdict = combine([o.verdict for _, _, o in results])
    entries = []
    for k, link, o in results:
        entry = {"index": k, "line": link_line(link), "text": link_text(ctx.claim, link),
                 "op": link.ops[0], "verdict": o.verdict.value, "engine": o.engine,
                 "strategy": o.strategy, "summary": o.summary}
        check = (o.evidence or {}).get("cross_check")
        if o.verdict == Verdict.PROVED and isinstance(check, dict):   # each proof's own check
            entry["cross_check"] = {k2: check[k2] for k2 in ("verdict", "summary", "note",
                                                             "evidence") if k2 in check}
        entries.append(entry)
    evidence: dict = {"links": entries}
    if verdict in (Verdict.PROVED, Verdict.VERIFIED):
        proved = sum(1 for _, _, o in results if o.verdict == Verdict.PROVED)
        engine = next(o.engine for _, _, o in results if o.verdict == verdict)
        strategies = sorted({o.strategy for _, _, o in results if o.strategy})
        summary = (f"all {len(results)} links hold ({proved} proved, "
                   f"{len(results) - proved} verified)" if verdict == Verdict.VERIFIED
                   else f"all {len(results)} links proved")
        summary += ": " + "; ".join(f"link {k} by {o.strategy or o.engine}" for k, _, o in results)
        strategy = strategies[0] if len(strategies) == 1 else "chain:" + "+".join(strategies)
        return Outcome(verdict, engine, strategy, summary, evidence)
    k, link, deciding = next(r for r in results if r[2].verdict == verdict)
    evidence["failing_link"] = k
    evidence["failing_line"] = link_line(link)
    where = f"link {k}: {entries[k - 1]['text'] or '…'} (line {link_line(link)})"
    evidence["link_evidence"] = deciding.evidence
    summary = f"{where} is {verdict.value}: {deciding.summary}"
    if verdict == Verdict.REFUTED and link.ops[0] == "==":
        residual = exact_residual(ctx, link)
        if residual is not None:
            evidence["residual"] = residual
            summary = f"{where} is refuted: lhs − rhs = {residual} exactly; {deciding.summary}"
    others = [f"link {j} {o.verdict.value}" for j, _, o in results if j != k]
    if others:
        summary += " (" + ", ".join(others) + ")"
    return Outcome(verdict, deciding.engine, deciding.strategy, summary, evidence)


def exact_residual(ctx: Context, link: m.Compare) -> Optional[str]:
    """lhs − rhs of a wrong scalar link, simplified, when SymPy finds it short in time."""
    try:
        import sympy as sp

        from derive.symbolic.common import plain, within
        from derive.symbolic.lower import Unsupported, lowering
        if not plain(ctx, link):
            return None
        low = lowering(ctx.checked)
        a, b = link.operands
        if not (low.is_scalar(a) and low.is_scalar(b)):
            return None
        diff = low.scalar(a) - low.scalar(b)
        if diff.has(sp.Sum, sp.Product, sp.Indexed):
            return None
        out = within(RESIDUAL_S, lambda: sp.simplify(sp.expand(diff)), default=None)
    except (Unsupported, ArithmeticError, TypeError, ValueError, NotImplementedError,
            AttributeError, RecursionError, StopIteration):
        return None
    if out is None or out == 0 or sp.count_ops(out) > RESIDUAL_MAX_OPS or \
            out.has(sp.Max, sp.Min, sp.Abs, sp.sign) or \
            (out.free_symbols and sp.count_ops(out) >= sp.count_ops(diff)):
        return None  # only a residual simpler than the link itself says more than "wrong"
    return str(out)
