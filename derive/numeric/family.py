"""Moment-only draws (``X ~ any(mean = μ, var = v)``) checked over a family of laws.

``any(…)`` stands for *every* law with that mean and variance, so a statement about it is
true only when it holds for each.  The numeric engine cannot draw from "every law"; it
decides the statement once per member of the law's ``family`` (derive/vocabulary: the
normal, uniform, two-point ±√v, skewed two-point, laplace and Student-t (ν = 5) laws, all
shifted and scaled to mean μ and variance v), with every ``any`` declaration of the claim
drawn from that member, and combines:

* refuted when some member refutes (the evidence names it) — the false-refutation rate
  α of the options is split evenly over the runs (Bonferroni), so a true statement
  is refuted with probability ≤ α in all;
* a finitely-valued member (the two-point laws) runs twice, its atoms nudged by 1e-11
  outward and inward: an atom exactly on a boundary of the statement (Cantelli's bound is
  attained at μ + 2σ) would otherwise be put on one side by rounding; it counts as
  decided only when both runs agree;
* verified only when every member verifies;
* otherwise inconclusive (or unsupported/no answer when no member is decided at all).

Members run in a fixed order with the claim's seed, so the same seed gives the same
verdict.  A statement that uses no ``any`` draw runs once, unchanged in meaning.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Optional

from derive import model as m
from derive.engine import Context, Engine
from derive.analysis import reachable
from derive.outcome import Outcome, Verdict
from derive.semantics import CheckedClaim
from derive.vocabulary.distributions import Law, args_of, law_of


def moment_only(checked: CheckedClaim) -> dict[str, Law]:
    """The random names of the claim declared with a moment-only law, each with that law."""
    out = {}
    for name, info in checked.symbols.items():
        law = law_of(info.dist) if info.dist is not None else None
        if info.random and law is not None and law.family:
            out[name] = law
    return out


def as_member(checked: CheckedClaim, group: int, variant: int = 0) -> CheckedClaim:
    """The claim with every moment-only draw taken from one member of its family (group
    ``group``, variant ``variant``), with the same parameters given in order: member laws
    take (mean, var)."""
    def swap(dist: m.Expr) -> m.Expr:
        law = law_of(dist)
        if law is None or not law.family:
            return dist
        return m.Call(law.family[group][variant].name, tuple(args_of(dist)), (), dist.pos)

    symbols = {name: dataclasses.replace(info, dist=swap(info.dist))
               if info.dist is not None else info for name, info in checked.symbols.items()}
    statements = tuple(dataclasses.replace(st, dist=swap(st.dist))
                       if isinstance(st, m.Decl) and st.dist is not None else st
                       for st in checked.claim.statements)
    claim = dataclasses.replace(checked.claim, statements=statements)
    return dataclasses.replace(checked, claim=claim, symbols=symbols)


DECIDED = (Verdict.REFUTED, Verdict.VERIFIED, Verdict.PROVED)
FINAL = (Verdict.REFUTED, Verdict.ERROR, Verdict.SKIPPED)   # stop: no later member can change it


class FamilyEngine(Engine):
    """The numeric engine, run once per member of each moment-only law (see module doc)."""

    def decide(self, ctx: Context) -> Optional[Outcome]:
        laws = moment_only(ctx.checked)
        if not laws:
            return super().decide(ctx)
        families = {law.family for law in laws.values()}
        if len(families) != 1:
            raise ValueError("moment-only laws with different families")
        family = families.pop()
        if not set(laws) & reachable(ctx.checked, [ctx.statement], shapes=False):
            family = family[:1]   # the statement draws no moment-only name: its law cannot matter
        runs = sum(len(group) for group in family)
        options = dataclasses.replace(
            ctx.options, false_refutation_rate=ctx.options.false_refutation_rate / runs)
        results: list[tuple[str, Optional[Outcome]]] = []
        for g, group in enumerate(family):
            outcomes = []
            for v, law in enumerate(group):
                member = self._member_context(ctx, g, v, options)
                outcomes.append(super().decide(member))
                self._merge(ctx, member, law.name)
                if outcomes[-1] is None or outcomes[-1].verdict not in DECIDED:
                    break   # a nudged twin cannot make this member decided
            words = group[0].doc.split(": ", 1)[1]   # a law's doc is "name: words"
            results.append((words, settle_ties(outcomes, len(group))))
            if results[-1][1] is not None and results[-1][1].verdict in FINAL:
                break
        outcome = combine(results, len(family))
        if outcome is not None and runs > 1:
            outcome.evidence["family_false_refutation_rate"] = options.false_refutation_rate
        return outcome

    @staticmethod
    def _member_context(ctx: Context, group: int, variant: int, options) -> Context:
        member = copy.copy(ctx)   # keeps cross_checking and any other flag a caller set
        member.checked = as_member(ctx.checked, group, variant)
        member.options = options
        member.notes, member.internal_errors, member.declined = [], [], []
        return member

    @staticmethod
    def _merge(ctx: Context, member: Context, name: str) -> None:
        """A member's faults and declines, kept in the statement's evidence under its name."""
        ctx.internal_errors.extend({**r, "family_member": name} for r in member.internal_errors)
        ctx.declined.extend({**r, "family_member": name} for r in member.declined)
        ctx.notes.extend(f"[{name}] {n}" for n in member.notes)


def settle_ties(outcomes: list[Optional[Outcome]], variants: int) -> Optional[Outcome]:
    """One member's outcome from its nudged twins: decided only when both agree (a tie at
    an atom, where rounding picks the side, shows as a disagreement)."""
    if variants == 1 or not outcomes:
        return outcomes[0] if outcomes else None
    last = outcomes[-1]
    if last is None or last.verdict not in DECIDED:
        return last
    if len(outcomes) == variants and len({o.verdict for o in outcomes}) == 1:
        return outcomes[0]
    verdicts = ", ".join(o.verdict.value for o in outcomes)
    return Outcome(Verdict.INCONCLUSIVE, last.engine, last.strategy,
                   f"a tie at an atom: the verdict changes when the atoms move by 1e-11 "
                   f"(outward, inward: {verdicts}), so rounding decides it: {last.summary}",
                   {**last.evidence, "tie_at_an_atom": verdicts})


def combine(results: list[tuple[str, Optional[Outcome]]], count: int) -> Optional[Outcome]:
    """One outcome from the members' (see module doc); ``count`` members were to run."""
    table = {name: (o.verdict.value if o is not None else "no strategy applies")
             for name, o in results}
    for name, o in results:
        if o is not None and o.verdict in (Verdict.REFUTED, Verdict.ERROR, Verdict.SKIPPED):
            what = "fails" if o.verdict == Verdict.REFUTED else o.verdict.value
            return _named(o, o.verdict, f"{what} for {name} (a law with the stated mean and "
                          f"variance): {o.summary}", name, table)
    decided = [(n, o) for n, o in results if o is not None]
    if not decided:
        return None
    if count == 1:
        return decided[0][1]
    if len(decided) == count and all(o.verdict in (Verdict.VERIFIED, Verdict.PROVED)
                                     for _, o in decided):
        name, last = decided[-1]
        return _named(last, Verdict.VERIFIED, f"holds for each of the {count} laws checked with "
                      f"the stated mean and variance; the last, {name}: {last.summary}",
                      name, table)
    if all(o.verdict == Verdict.UNSUPPORTED for _, o in decided):
        name, first = decided[0]
        return _named(first, Verdict.UNSUPPORTED, first.summary, name, table)
    open_ = [n for n, o in results if o is None or o.verdict not in (Verdict.VERIFIED,
                                                                     Verdict.PROVED)]
    name, first = next((n, o) for n, o in decided if n in open_) if any(
        n in open_ for n, _ in decided) else decided[0]
    return _named(first, Verdict.INCONCLUSIVE, f"not decided for {', '.join(open_)} (each law "
                  f"with the stated mean and variance must be checked): {first.summary}",
                  name, table)


def _named(o: Outcome, verdict: Verdict, summary: str, member: str, table: dict) -> Outcome:
    return Outcome(verdict, o.engine, o.strategy, summary,
                   {**o.evidence, "family_member": member, "family": table})
