"""The timing engine's strategies, tried in order on one ``show`` statement."""
from __future__ import annotations

from typing import Optional

from derive import model as m
from derive.engine import Context
from derive.outcome import Outcome, Verdict
from derive.semantics import walk
from derive.timing import values, verdicts
from derive.timing.bench import Bench
from derive.timing.measure import cuda_available


def wants_cuda(ctx: Context) -> bool:
    return ctx.show.device == "cuda" or ctx.options.device == "cuda"


def bench_for(ctx: Context) -> Bench:
    """CPU unless the statement says ``on cuda`` (or the run asks for ``--device cuda``)."""
    return Bench(ctx.checked, ctx.options.seed, "cuda" if wants_cuda(ctx) else "cpu")


class DeviceGuard:
    """``on cuda`` without a GPU: skipped, with the reason."""

    name = "device"

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        if wants_cuda(ctx) and not cuda_available():
            where = "the statement says 'on cuda'" if ctx.show.device == "cuda" else \
                "the run asked for device cuda"
            return Outcome(Verdict.SKIPPED, "timing", self.name,
                           f"needs a GPU ({where}); none is available here",
                           {"device": "cuda", "cuda_available": False})
        if ctx.show.device not in (None, "cuda", "cpu"):
            return Outcome(Verdict.SKIPPED, "timing", self.name,
                           f"unknown device '{ctx.show.device}'", {"device": ctx.show.device})
        return None


class Growth:
    """``a ~ f(n)`` (Θ) and ``a in O(f(n))`` over the sweep: costs from exact counts, other
    quantities exactly (formulas) or by Monte Carlo (random ones)."""

    name = "growth"

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        if isinstance(st, m.BigO):
            lhs, bound, big_o = st.expr, st.bound, ("Ω" if st.kind == "Ω" else True)
        elif isinstance(st, m.Compare) and st.ops == ("~",) and len(st.operands) == 2:
            (lhs, bound), big_o = st.operands, False
        else:
            return None
        if any(isinstance(n, m.Cost) for n in walk(bound)):
            return Outcome(Verdict.UNSUPPORTED, "timing", self.name,
                           "the bound of a growth claim must be a formula of sizes", {})
        if not verdicts.costs_in(lhs):
            return values.decide_value_growth(ctx, lhs, bound, big_o, self.name)
        return verdicts.decide_growth(ctx, bench_for(ctx), lhs, bound, big_o, self.name)


class Comparison:
    """Cost comparisons (``time[A] < time[B] / 4``, ``flops[A] == 2*n^3``) at every size,
    also inside conditions on sizes (``d_out >= 4*d_in => time[A] < time[B]``)."""

    name = "comparison"

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        st = ctx.statement
        nodes = list(walk(st))
        if not any(isinstance(n, m.Cost) for n in nodes):
            return None
        if any(isinstance(n, m.BigO) or (isinstance(n, m.Compare) and "~" in n.ops) for n in nodes):
            return Outcome(Verdict.UNSUPPORTED, "timing", self.name,
                           "a growth claim ('~', 'in O(…)') must be the whole statement", {})
        return verdicts.decide_comparison(ctx, bench_for(ctx), self.name)


class Leftover:
    """Growth of something that is not a cost, and other statements routed here."""

    name = "leftover"

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        return Outcome(Verdict.UNSUPPORTED, "timing", self.name,
                       "the timing engine decides costs (time[…], flops[…], memory[…]) and their "
                       "growth; this statement has no cost in a form it knows", {})
