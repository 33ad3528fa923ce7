"""How good are derive's checked repairs on the corpus's refuted claims?

For every refuted claim of ``claims/``: decide it, search checked repairs, and report
- the share of refuted claims that have a human-corrected companion (a claim ``ID.suffix``
  that is not itself ``expect refuted``) whose *top* repair derive shows equivalent to the
  companion (target: 60 %), split into structurally identical, proved and verified;
- the share of all refuted claims with any checked repair;
- the median time of a repair search.

Equivalence: the repaired claim and the companion must agree on every statement but the
edited one (declarations and definitions compared as models; another show either one of
the companion's or, at the same position, an ``==`` with one side the same and the other
sides decided equal below — the two statements are then equivalent; counted apart).  The
edited statement is then compared inside the companion's context: identical models; or a
claim ``show a == b`` (the two definitions' values, the two right-hand sides when the
left-hand sides agree, the slacks of two bounds, or the value a substitution
``E at (x = a)`` gives x against the companion's ``E <=> x == b`` — the repair names the
companion's solution, though it does not claim it unique: these are counted apart), decided
by derive like any claim.  Statements that cannot be compared by value (other left-hand
sides) count as not matched: comparing two true statements by their truth is vacuous.  A
companion that reshapes the claim (other sizes, other declarations) counts as not matched:
that is a miss, honestly.

    python benchmarks/repair.py [--budget 60] [--time-limit 20] [-k PATTERN] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from derive import model as m  # noqa: E402
from derive.decide import decide_claim  # noqa: E402
from derive.engine import Options  # noqa: E402
from derive.outcome import Verdict  # noqa: E402
from derive.repair import Settings, search  # noqa: E402
from derive.runner import decide_job, plan  # noqa: E402
from derive.semantics import check_claim  # noqa: E402


def _same_context(repaired: m.Claim, k: int, companion: m.Claim) -> bool:
    """Every statement of the repaired claim but the k-th (and its shows) is in the companion."""
    theirs = [s for s in companion.statements if not isinstance(s, m.Show)]
    for i, st in enumerate(repaired.statements):
        if i == k or isinstance(st, m.Show):
            continue
        if st not in theirs:
            return False
    return True


_MIRROR = {">": "<", ">=": "<="}


def _slack(e: m.Expr) -> Optional[tuple[str, m.Expr]]:
    """``a <= b`` (or ``b >= a``) as ('<=', b − a): the bound's slack, a value to compare."""
    if not isinstance(e, m.Compare) or len(e.ops) != 1 or e.ops[0] not in ("<", "<=", ">", ">="):
        return None
    a, b = e.operands
    op = e.ops[0]
    if op in _MIRROR:
        op, a, b = _MIRROR[op], b, a
    return op, m.BinOp("-", b, a)


def _comparison(ours: m.Expr, theirs: m.Expr) -> Optional[m.Expr]:
    """A statement about *values* that holds when the two statements claim the same thing,
    or None when they cannot be compared by value.  (Comparing two true statements by
    their truth, ``s_r <=> s_c`` or ``lhs_r − rhs_r == lhs_c − rhs_c``, would be vacuous:
    any two true statements pass it.)"""
    if isinstance(ours, m.Compare) and isinstance(theirs, m.Compare) and len(ours.ops) == 1 \
            and ours.ops == theirs.ops and ours.ops[0] in ("==", "≈", "~"):
        (a, b), (c, d) = ours.operands, theirs.operands
        if a == c:  # the same quantity: does the repair claim the companion's value?
            return m.Compare(("==",), (b, d))
        if b == d:  # the same value claimed: of the same quantity?
            return m.Compare(("==",), (a, c))
        return None
    mine, other = _slack(ours), _slack(theirs)
    if mine and other and mine[0] == other[0]:  # the same bound: the same slack everywhere
        return m.Compare(("==",), (mine[1], other[1]))
    return _solution(ours, theirs)


def _solution(ours: m.Expr, theirs: m.Expr) -> Optional[m.Expr]:
    """``E at (x = a)`` against ``E <=> x == b`` (the same equation E): ``a == b``.

    Both statements give the name x a value as the answer to the same equation; the
    comparison is of those values.  (The repair keeps the claim's form: it says a solves
    E; the companion says, too, that b is the only solution.  Counted apart in the summary.)"""
    if not (isinstance(ours, m.Compare) and len(ours.ops) == 1 and isinstance(ours.operands[0], m.Subst)
            and len(ours.operands[0].bindings) == 1):
        return None
    if not (isinstance(theirs, m.Logic) and theirs.op == "<=>" and len(theirs.args) == 2):
        return None
    (x, a), = ours.operands[0].bindings
    equation = m.Compare(ours.ops, (ours.operands[0].expr,) + ours.operands[1:])
    for eq, sol in (theirs.args, theirs.args[::-1]):
        if eq == equation and isinstance(sol, m.Compare) and sol.ops == ("==",) \
                and isinstance(sol.operands[0], m.Name) and sol.operands[0].id == x:
            return m.Compare(("==",), (a, sol.operands[1]))
    return None


def _others(ours_shows: list, theirs_shows: list, skip: Optional[int]) -> Optional[list]:
    """The other shows of the repaired claim against the companion's: [] when each is one of
    the companion's; else, for one that is not, the ``==`` statement at the same position
    with one side the same, the comparison of the other sides (proved equal, the two
    statements are equivalent); None when a show has no such counterpart."""
    theirs = [t.statement for t in theirs_shows]
    out = []
    for i, s in enumerate(ours_shows):
        if i == skip or s.statement in theirs:
            continue
        mine, other = s.statement, theirs[i] if i < len(theirs) else None
        if not (isinstance(mine, m.Compare) and isinstance(other, m.Compare)
                and mine.ops == other.ops == ("==",)):
            return None
        (a, b), (c, d) = mine.operands, other.operands
        if a == c:
            out.append(m.Compare(("==",), (b, d)))
        elif b == d:
            out.append(m.Compare(("==",), (a, c)))
        else:
            return None
    return out


def equivalence(repaired: m.Claim, k: int, companion: m.Claim, options: Options) -> Optional[str]:
    """'identical', 'proved', 'verified', or None: is the repair the companion's statement?"""
    if not _same_context(repaired, k, companion):
        return None
    st = repaired.statements[k]
    context = [s for s in companion.statements if not isinstance(s, m.Show)]
    ours_shows = [s for s in repaired.statements if isinstance(s, m.Show)]
    theirs_shows = [s for s in companion.statements if isinstance(s, m.Show)]
    if isinstance(st, m.Define):
        other = next((s for s in context if isinstance(s, m.Define) and s.names == st.names), None)
        others = _others(ours_shows, theirs_shows, None)
        if other is None or others is None:
            return None
        if other == st and not others:
            return "identical"
        # in the companion's context
        shows = ([] if other == st else [m.Compare(("==",), (st.value, other.value))]) + others
    elif isinstance(st, m.Show):
        index = ours_shows.index(st)
        if index >= len(theirs_shows):
            return None
        others = _others(ours_shows, theirs_shows, index)
        if others is None:
            return None
        target = theirs_shows[index].statement
        if target == st.statement and not others:
            return "identical"
        comparison = None if target == st.statement else _comparison(st.statement, target)
        if comparison is None and target != st.statement:
            return None
        shows = ([comparison] if comparison is not None else []) + others
    else:
        return None
    claim = replace(companion, id=companion.id + ".equivalence", expect="holds",
                    statements=tuple(context) + tuple(m.Show(c) for c in shows))
    checked, _ = check_claim(claim, [])
    if checked is None:
        return None
    verdict = decide_claim(checked, options)[0]
    return verdict.value if verdict in (Verdict.PROVED, Verdict.VERIFIED) else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("-k", dest="select", default=None)
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()
    options = Options()
    settings = Settings(budget=args.budget, time_limit=args.time_limit, suggestions=3)
    jobs, _, claims = plan([str(ROOT / "claims")])
    by_id = {c.id: c for c in claims}
    rows = []
    for job, claim in zip(jobs, claims):
        if claim.expect != "refuted" or (args.select and args.select not in claim.id):
            continue
        result = decide_job(job, options)
        _, _, lines = job.load()
        start = time.monotonic()
        report = search(claim, lines, result.verdict, result.evidence, options, settings)
        seconds = time.monotonic() - start
        companions = [by_id[i] for i in by_id if i.startswith(claim.id + ".")
                      and by_id[i].expect != "refuted"]
        match, by_solution, others_by_value = None, False, False
        if report.repaired and companions:
            repaired, k = report.repaired[0]
            for comp in companions:
                match = equivalence(repaired, k, comp, options)
                if match:
                    st = repaired.statements[k]
                    by_solution = isinstance(st, m.Show) and any(
                        _solution(st.statement, t.statement) is not None for t in comp.shows)
                    ours = repaired.shows
                    others_by_value = bool(_others(ours, comp.shows,
                                                   ours.index(st) if st in ours else None))
                    break
        top = report.suggestions[0] if report.suggestions else None
        rows.append({"id": claim.id, "verdict": result.verdict.value, "seconds": round(seconds, 2),
                     "tried": report.tried, "stopped": report.stopped,
                     "companions": [c.id for c in companions], "match": match,
                     "by_solution": by_solution, "others_by_value": others_by_value,
                     "top": top and {k: top[k] for k in ("statement", "verdict", "edit")}})
        print(f"{claim.id:45s} {seconds:5.1f}s tried {report.tried:3d}  "
              f"{'match ' + match if match else ('no match' if companions else 'no companion'):16s} "
              f"{top['statement'] if top else '-'}", flush=True)
    with_comp = [r for r in rows if r["companions"]]
    matched = [r for r in with_comp if r["match"]]
    kinds = {k: sum(1 for r in matched if r["match"] == k) for k in ("identical", "proved", "verified")}
    solutions = sum(1 for r in matched if r["by_solution"])
    others = sum(1 for r in matched if r["others_by_value"])
    repaired = [r for r in rows if r["top"]]
    median = statistics.median(r["seconds"] for r in rows) if rows else 0.0
    summary = {
        "refuted": len(rows), "with_companion": len(with_comp), "top_repair_matches": len(matched),
        "match_share": len(matched) / len(with_comp) if with_comp else None,
        "match_kinds": kinds, "matched_by_solution": solutions,
        "matched_with_other_statements_by_value": others, "with_any_repair": len(repaired),
        "repair_share": len(repaired) / len(rows) if rows else None,
        "median_seconds": median, "budget": args.budget, "time_limit": args.time_limit}
    print()
    print(f"top repair equivalent to the human-corrected companion: {len(matched)}/{len(with_comp)}"
          f" = {100 * (summary['match_share'] or 0):.0f}% ({kinds['identical']} identical, "
          f"{kinds['proved']} proved, {kinds['verified']} verified equivalent; {solutions} of them "
          f"by the solution value, `at (x = a)` against `<=> x == b`; {others} with another "
          f"statement proved the companion's by value)")
    print(f"refuted claims with a checked repair: {len(repaired)}/{len(rows)} = "
          f"{100 * (summary['repair_share'] or 0):.0f}%")
    print(f"median repair search: {median:.1f} s (budget {args.budget} candidates, "
          f"{args.time_limit:g} s backstop)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"summary": summary, "claims": rows}, indent=2,
                                                  ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
