"""Identities, inequalities and conditions over random instances, in float64.

A statement with no ``E/Var/Std/Cov/P`` is a claim for *all* declared values, so it is
tested on batches of random instances (sizes from 1 up, scalars in their domains,
structured matrices as declared).  ``==`` passes when the discrepancy is within the
rounding tolerance ``C·n·eps·cond`` of the largest intermediate magnitude; an
inequality additionally gets a gradient-ascent search for a violation.  A clear
counterexample refutes (and is shrunk); an error between rounding level and a clear
counterexample is inconclusive.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Optional

import torch

from derive import model as m
from derive.analysis import reachable
from derive.engine import Context, budget_scale, is_cost_statement
from derive.numeric import adversarial, common, precise, surface
from derive.numeric.base import Value
from derive.numeric.functions import feasible
from derive.numeric.batch import SETTLE_ALL_MAX, SETTLE_ALL_S, SETTLE_MAX, Batch, counterexample, domain_conditions, pair, sides_at
from derive.numeric.instances import (SIZE_MENU, Instance, Unsatisfiable, assumptions, choose_sizes,
                                      holds, instances, needed_names)
from derive.numeric.lower import (CONDITION_ATOL, CONDITION_RTOL, Evaluator, IllDefined,
                                  LoweringError, finite_support)
from derive.numeric.affine import affine_draws
from derive.numeric.search import ascend
from derive.numeric.shrink import shrink
from derive.outcome import Outcome, Verdict
from derive.semantics import walk

EPS64 = float(torch.finfo(torch.float64).eps)
ROUNDING_C = 64.0          # tol = C · n · eps · cond (relative to the largest intermediate)
NUDGE_REL = 1e-10          # … and a random relative nudge of every float input (full rank:
NUDGE_SEED = 20261206      #     an exactly rank-1 G no longer hides amplified svd noise)
CHAOS_SHARE = 0.01         # a discrepancy its own rounding moves by this share of itself is no evidence
CLEAR_MARGIN = 1e3         # a counterexample must exceed the tolerance this many times …
CLEAR_FLOOR = 1e-7         # … and this relative size
SINGLE = {"argmin", "argmax", "integrate"}   # lowerings that use the batch axis themselves
MODERATE_MENU = (12, 16, 24, 32)
LARGE_MENU = (64, 100, 1000, 4096)
TENSOR_LARGE_MENU = adversarial.LARGE_SIZES  # one round of tensor sizes up to 128
LARGE_BATCH = 4
STEP_PLAN = adversarial.STEP_PLAN
SCALAR_BATCH = 64  # instances per round when every name is a scalar: cheap, and conditions
                   # (``a < 1 and b < 1 <=> η < c``) need many points to meet a thin region
OPTIMISER_TOL = 1e-6      # relative precision expected of argmin/argmax
PRECISION_RATIO = 5e6    # float32/float64 discrepancy ratio that marks rounding: the eps ratio
                         # 2^29 ≈ 5.4e8 with a factor 100 of slack (a real gap that float32
                         # noise swamps stays unclear)
BEATEN_REL = 1e-6         # f(optimiser's point) this much better than f(claimed): refuted
COMPARE_OPS = {"==", "!=", "<", "<=", ">", ">=", "≈"}
SAFETY_STOP_S = 20.0
NEAR_REL = 1e-9            # a comparison this close to equality may be rounding's choice
TIES_MAX = 16              # failing members whose equation ties are re-decided per batch
ILL_COND = 1e12            # members inverting worse-conditioned matrices are not judged
COND_CAP = 1e16            # condition numbers beyond this are singular: the cap keeps tol finite
PASS_COND_CAP = 1e8        # … and beyond this the float64 values are doubtful (re-checked)       # a statement still running after this is inconclusive


def applies(statement: m.Expr) -> bool:
    """Deterministic conditions: comparisons and logic without statistics or costs."""
    if is_cost_statement(statement) or common.has(statement, (m.Stat, m.Cond)):
        return False
    if isinstance(statement, m.Compare):
        return all(op in COMPARE_OPS for op in statement.ops)
    return isinstance(statement, m.Logic)


def exact_statistics(statement: m.Expr, checked) -> bool:
    """Whether every statistic the statement uses (directly or through definitions) has
    only categorical indices as its randomness, or is the mean or covariance of an affine
    function of normal draws, and no random name is read outside one: then each statistic
    is exact (a weighted sum, :meth:`Evaluator.exact_stat`; or the affine moments of
    :mod:`derive.numeric.affine`) and the statement is a for-all statement over the other
    inputs."""

    if is_cost_statement(statement) or not isinstance(statement, (m.Compare, m.Logic)) or \
            (isinstance(statement, m.Compare) and not all(op in COMPARE_OPS for op in statement.ops)):
        return False
    stats: list[m.Stat] = []
    seen: set[str] = set()
    stack: list[m.Expr] = [statement]
    while stack:
        for node in common.walk_outside_stats(stack.pop(), stats):
            if not isinstance(node, m.Name) or node.id in seen:
                continue
            seen.add(node.id)
            info = checked.symbols.get(node.id)
            if info is None:
                continue
            if info.random:
                return False  # read outside any statistic: not a for-all statement
            st = info.statement
            if info.role == "define" and isinstance(st, m.Define):
                stack.append(st.value)
            elif info.role == "funcdef" and isinstance(st, m.FuncDef):
                stack.append(st.body)
    return bool(stats) and all(finite_support(checked, s) is not None
                               or affine_draws(checked, s) is not None for s in stats)


def relation(op: str, x: torch.Tensor, y: torch.Tensor, scale: torch.Tensor, tol: torch.Tensor,
             show: m.Show) -> tuple[torch.Tensor, torch.Tensor]:
    """(excess, allowed) per member: excess ≤ allowed passes; see :func:`clear_limit`."""
    if x.is_complex() or y.is_complex():
        diff = (x - y).abs()
    else:
        diff = x - y
    if op in ("==", "≈", "!="):
        d = diff.abs().amax(-1)
        allowed = tol * scale
        if show.within is not None:
            allowed = allowed + float(show.within)
        elif show.rel is not None or op == "≈":
            r = float(show.rel) if show.rel is not None else 1e-2
            allowed = allowed + r * y.abs().amax(-1)
        if op == "!=":  # refuted only by an exact (rounding-level) equality
            return (d <= allowed).to(d.dtype), torch.full_like(d, 0.5)
        return d, allowed
    if op in ("<", "<="):
        v = diff.real.amax(-1) if diff.is_complex() else diff.amax(-1)
    else:
        v = (-diff).amax(-1)
    allowed = tol * scale + (float(show.within) if show.within is not None else 0.0)
    return v, allowed


SWEPT_STEPS = 12  # a round's step range up to this long is checked at every step


def other_steps(ctx: Context, inst: Instance, params: Optional[dict],
                steps: Optional[tuple[int, int]]) -> list[Instance]:
    """The same instance at the round's other recurrence steps.  One drawn step per
    environment misses claims false at one step only (a logistic map with r > 4 leaves
    [0, 1] at t = 1 and is negative from t = 2 on); the step costs nothing to vary, so a
    short range is checked at every step, a long one also at its ends.  Not when an
    ``assume`` mentions the step (the instance's premise mask would not carry over)."""
    lo, hi = steps or (0, 11)
    names = [k for k, info in ctx.checked.symbols.items()
             if info.role == "seq_index" and k in inst.env and k not in (params or {})]
    if len(names) != 1:
        return []
    t = names[0]
    if any(isinstance(st, m.Assume) and any(isinstance(n, m.Name) and n.id == t
                                            for n in walk(st.condition))
           for st in ctx.claim.statements):
        return []
    drawn = inst.env[t]
    ks = range(lo, hi + 1) if hi - lo < SWEPT_STEPS else (lo, hi)
    return [Instance({**inst.env, t: k}, {**inst.sizes, t: k}, dict(inst.params))
            for k in ks if k != drawn]


class IdentityStrategy:
    """For-all statements checked on random float64 instances."""

    name = "random-instances"
    kinds = ("plain",)
    handles_grad = False  # statements with grad(…) belong to the autograd subclass

    def __init__(self, rounds: int = 4, batch: int = 6):
        self.rounds, self.batch = rounds, batch

    def wants(self, statement: m.Expr) -> bool:
        return applies(statement) and not common.calls(statement, common.DERIVATIVES)

    def attempt(self, ctx: Context) -> Optional[Outcome]:
        # E over categorical indices is a weighted sum: then the statement is for-all
        exact = exact_statistics(ctx.statement, ctx.checked) and \
            common.calls(ctx.statement, common.DERIVATIVES) == self.handles_grad
        if not exact and (not self.wants(ctx.statement)
                          or common.reaches_stat(ctx.statement, ctx.checked)):
            return None  # a statistic through a definition makes it a Monte-Carlo statement
        common.set_threads()
        device = common.device_of(ctx)
        g, seed = common.generator_for(ctx, self.name, device)
        try:
            out = self.run(ctx, g, seed, device)
            if exact:
                out = replace(out, summary=out.summary + "; statistics are exact (over "
                              "categorical indices: exact weighted sums over their values; of "
                              "affine functions of normal draws: their exact moments)")
            return out
        except Unsatisfiable as exc:
            return common.outcome(Verdict.INCONCLUSIVE, f"cannot build instances: {exc}",
                                  common.evidence(ctx, seed, device, torch.float64, samples=0,
                                                  estimate=None, interval=None, error_rate=None,
                                                  tolerance=None, parameter_points=[],
                                                  reason=str(exc)))
        except IllDefined as exc:
            return common.ill_defined(ctx, exc, seed, device, torch.float64)
        except LoweringError as exc:
            ctx.notes.append(f"numeric: {exc}")
            return None

    # ------------------------------------------------------------ the loop
    def run(self, ctx: Context, g: torch.Generator, seed: int, device: torch.device) -> Outcome:
        start = time.perf_counter()
        single = common.calls(ctx.statement, SINGLE)
        batch = 1 if single else SCALAR_BATCH if scalars_only(ctx.checked) else self.batch
        rounds = self.rounds * (3 if single else 1)
        tried = undefined = 0
        worst_ratio = worst_rel = 0.0
        points: list[dict] = []
        unclear = 0
        search_report: dict = {}
        fixed = sized_by_defines(ctx)
        plan = [SIZE_MENU] * rounds + [MODERATE_MENU] + (
            [TENSOR_LARGE_MENU] if not single and loop_free(ctx) else [])
        if formula_only(ctx.checked) and not single:
            # no tensor is built: sizes are only numbers in formulas, so many rounds and
            # large sizes cost nothing (``1/10⁴ < ω(h)`` fails only from h = 14 on)
            plan = [SIZE_MENU] * (3 * rounds) + [MODERATE_MENU] * rounds + [LARGE_MENU] * rounds
        if has_steps(ctx.checked):
            # recurrences: the base steps, small, moderate and far steps each get a round
            while len(plan) < len(STEP_PLAN):
                plan.insert(0, SIZE_MENU)
        searched: set[int] = set()
        last_error: Optional[str] = None
        unsatisfiable: Optional[Unsatisfiable] = None
        by_precision = 0  # members above the tolerance whose float32 rerun showed rounding
        why: dict[str, int] = {}
        blind = sensitive = 0
        for r, menu in enumerate(plan):
            try:
                sizes = choose_sizes(ctx.checked, g, fixed, menu=menu)
            except Unsatisfiable:
                if r == 0:
                    raise
                continue
            try:
                res = self.check(ctx, g, device, sizes, batch if menu is SIZE_MENU else
                                 LARGE_BATCH if menu is TENSOR_LARGE_MENU else 2,
                                 large=menu is LARGE_MENU, steps=STEP_PLAN[r % len(STEP_PLAN)])
            except Unsatisfiable as exc:
                # these sizes admit no instance (‖o − mean o‖ > 0 at C = 1): other sizes may
                unsatisfiable = exc
                continue
            except (RuntimeError, ValueError, ZeroDivisionError, OverflowError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            tried += res.tried
            undefined += res.undefined
            for k, v in res.why.items():
                why[k] = why.get(k, 0) + v
            blind += res.blind
            sensitive += res.sensitive
            points.append(res.instance.describe() if res.instance is not None else dict(sizes))
            worst_ratio = max(worst_ratio, res.worst)
            worst_rel = max(worst_rel, res.worst_rel)
            unclear += res.unclear
            by_precision += res.precision_checked
            if res.clear is not None:
                return self.refute(ctx, g, seed, device, res, sizes, tried, points, start)
            if r == 0 and not single:
                found = surface.search(self, ctx, g, device, sizes, search_report)
                if found is not None:
                    return self.refute(ctx, g, seed, device, found, sizes, tried + found.tried,
                                       points, start, how="points on the equation's surface")
            if id(menu) not in searched and menu is not MODERATE_MENU and self.searchable(ctx):
                # a search at the first round's sizes, and again at large sizes
                # (``sum(x) <= 4·norm(x)`` fails only from n = 17 on)
                found = self.search(ctx, g, device, sizes, report=search_report)
                searched.add(id(menu))
                if found is not None:
                    return self.refute(ctx, g, seed, device, found, sizes, tried + found.tried,
                                       points, start, how="gradient-ascent search")
            if time.perf_counter() - start > SAFETY_STOP_S * budget_scale():
                # The number of instances is fixed by the seed and sizes, never by the clock;
                # this only stops a pathological statement, and says so.
                return common.outcome(
                    Verdict.INCONCLUSIVE,
                    f"ran out of time after {tried} instances ({SAFETY_STOP_S:g} s safety stop)",
                    common.evidence(ctx, seed, device, torch.float64, samples=tried,
                                    estimate=worst_rel, interval=[0.0, worst_rel], error_rate=None,
                                    tolerance=None, parameter_points=points, instances=tried))
        ev = common.evidence(ctx, seed, device, torch.float64, samples=tried,
                             estimate=worst_rel, interval=[0.0, worst_rel], error_rate=None,
                             tolerance=f"{ROUNDING_C:g}·n·eps·cond" + (
                                 f" + within {float(ctx.show.within):g}" if ctx.show.within else "") + (
                                 f" + rel {float(ctx.show.rel):g}" if ctx.show.rel else ""),
                             parameter_points=points, instances=tried, largest_error=worst_rel,
                             largest_error_over_tolerance=worst_ratio, undefined=undefined,
                             rounding_by_precision=by_precision,
                             undefined_why=dict(why), passed_on_model_only=blind,
                             seconds=round(time.perf_counter() - start, 3))
        if search_report:
            ev["violation_search"] = dict(search_report)
            if search_report.get("cut_short"):
                ev["violation_search"]["note"] = (
                    f"gradient-ascent search stopped by its {search_report['budget_s']:g} s budget "
                    f"after {search_report['steps']} of {search_report['of']} steps")
                # The planned search is part of what 'verified' means; a clock that cut it
                # short would make the verdict depend on the machine's load.
                return common.outcome(Verdict.INCONCLUSIVE,
                                      f"no counterexample on {tried} instances, but the "
                                      + ev["violation_search"]["note"], ev)
        if tried == 0 and unsatisfiable is not None and not points:
            raise unsatisfiable
        if last_error and tried == 0:
            ev["reason"] = last_error
            return common.outcome(Verdict.INCONCLUSIVE, f"evaluation failed: {last_error}", ev)
        if tried == 0 or tried == undefined:
            if isinstance(ctx.statement, m.Logic) and ctx.statement.op in ("<=>", "=>"):
                return common.outcome(Verdict.INCONCLUSIVE,
                                      "no sampled instance met a side of the condition (an "
                                      "equivalence or implication is evidence only where a side "
                                      "holds)", ev)
            return common.outcome(Verdict.INCONCLUSIVE,
                                  "no instance where both sides are defined" + (
                                      " (an integral that does not converge — divergent, or not "
                                      "resolved by the quadrature — is undefined)"
                                      if common.calls(ctx.statement, {"integrate"}) else ""), ev)
        if unclear:
            ev["unclear"] = True  # no clear counterexample: doubtful members only
            ev["largest_relative_error"] = float(worst_rel)
            if sensitive:
                ev["sensitive_members"] = sensitive
                return common.outcome(
                    Verdict.INCONCLUSIVE,
                    f"{sensitive} instance(s) differ by up to {common.fmt(worst_rel)} relative, but "
                    f"the computation's own rounding moves that difference (float32 against "
                    f"float64 on the same inputs): float64 cannot judge it there (chaotic or "
                    f"ill-conditioned), and there is no clear counterexample elsewhere", ev)
            return common.outcome(Verdict.INCONCLUSIVE,
                                  f"errors above the rounding tolerance but below a clear "
                                  f"counterexample (largest relative error {common.fmt(worst_rel)})", ev)
        return common.outcome(Verdict.VERIFIED,
                              f"holds on {tried - undefined} random instances "
                              f"(largest relative error {common.fmt(worst_rel)}" + (
                                  f"; {by_precision} above the rounding model of the compared "
                                  f"values were shown to be rounding by re-evaluation (float32 "
                                  f"growth ≥{PRECISION_RATIO:g}×, or 60 digits)"
                                  if by_precision else "") + (
                                  f"; {blind} passed on the intermediate-magnitude model alone"
                                  if blind else "") + ")" + undefined_note(tried, undefined, why), ev)

    # ------------------------------------------------------------ one batch
    def check(self, ctx: Context, g: torch.Generator, device: torch.device, sizes: dict[str, int],
              batch: int, simple: bool = False, params: Optional[dict] = None,
              large: bool = False, steps: Optional[tuple[int, int]] = None) -> Batch:
        inst, mask = instances(ctx.checked, g, device, sizes, batch, torch.float64, simple=simple,
                               params=params, large=large, wild=wildness(ctx.statement), steps=steps,
                               only=needed_names(ctx.checked, ctx.statement))
        res = self.evaluate(ctx, inst, mask, sizes, device)
        if res.clear is not None:
            return res
        others = list(on_equation_surfaces(ctx, inst, mask, device))
        for stepped in other_steps(ctx, inst, params, steps):
            others.append((stepped, mask))
        for surface_inst, surface_mask in others:
            more = self.evaluate(ctx, surface_inst, surface_mask, sizes, device)
            if more.clear is not None:
                more.tried += res.tried
                more.undefined += res.undefined
                return more
            res.tried += more.tried
            res.undefined += more.undefined
            for k, v in more.why.items():
                res.why[k] = res.why.get(k, 0) + v
            res.blind += more.blind
            res.sensitive += more.sensitive
            res.worst = max(res.worst, more.worst)
            res.worst_rel = max(res.worst_rel, more.worst_rel)
            res.unclear = res.unclear or more.unclear
            res.precision_checked += more.precision_checked
        return res

    def evaluate(self, ctx: Context, inst: Instance, mask: Optional[torch.Tensor],
                 sizes: dict[str, int], device: torch.device) -> Batch:
        batch = max([v.shape[0] for v in inst.env.values() if isinstance(v, torch.Tensor)] + [1])
        ev = Evaluator(inst.env, device, torch.float64, ctx.checked).track(batch)
        excess, allowed, tol_rel, beaten = self.measure(ctx, ev, sizes)
        n = max(excess.shape[0], allowed.shape[0], ev.scale.shape[0],
                mask.numel() if mask is not None else 1)
        excess, allowed = excess.expand(n), allowed.expand(n)
        defined = torch.isfinite(excess) & torch.isfinite(allowed)
        if mask is not None:
            mask = mask.reshape(-1).expand(n) if mask.numel() == 1 else mask.reshape(-1)
            mask = mask & ~assumed_by_rounding(ctx, inst, device, n)
            defined = defined & mask
        ill = (getattr(ev, "judged", {}) or {}).get("ill")
        if ill is not None and bool(ill.any()):
            # a matrix inverted at condition number > 1e12 (XXᵀ of a 1e8-conditioned X):
            # float64 keeps too few digits to judge; counted as undefined, said so
            defined = defined & ~ill.expand(n)
        out = Batch(tried=int(mask.sum()) if mask is not None else n, instance=inst, tol_rel=tol_rel)
        judged = getattr(ev, "judged", {}) or {}
        one_sided = judged.get("one_sided")
        if one_sided is not None:
            one_sided = one_sided.reshape(-1).expand(n) & (mask if mask is not None else True)
            out.one_sided = int(one_sided.sum())
            if out.one_sided:
                # one side defined and the other not: refuted if the high-precision
                # evaluation agrees that one side has no real value there
                bad = self.settle(ctx, ev, inst, one_sided, want_undefined=True)
                if bad is not None:
                    out.clear, out.settled = bad, "high-precision re-evaluation: one side undefined"
                    out.worst_rel = math.inf
                    return out
        out.undefined = out.tried - int(defined.sum())
        out.why = undefined_reasons(ctx, excess, mask, ill, one_sided, n)
        if not bool(defined.any()):
            return out
        scale = ev.scale.expand(n).clamp_min(1e-300)
        ratio = torch.where(defined, excess / allowed.clamp_min(1e-300), torch.zeros_like(excess))
        rel = torch.where(defined, excess / scale, torch.zeros_like(excess))
        out.worst = float(ratio.max())
        out.worst_rel = float(rel.max())
        clear = defined & (excess > self.clear_limit(ctx, allowed, scale))
        if beaten is not None and beaten.numel() in (1, n):
            clear = clear | (defined & (excess > allowed) & beaten.reshape(-1).expand(n))
        if bool(clear.any()) and isinstance(ctx.statement, m.Logic):
            clear, held = self.settle_condition(ctx, ev, inst, clear, out)
            excess = torch.where(held, torch.zeros_like(excess), excess)
        elif bool(clear.any()) and "!=" in getattr(ctx.statement, "ops", ()) and not self.bracketed:
            clear, held = self.settle_equal(ctx, ev, inst, clear, out)
            excess = torch.where(held, torch.zeros_like(excess), excess)
        if bool(clear.any()) and self.nudgeable(ctx):
            chaotic = self.sensitive(ctx, inst, sizes, device, excess, clear)
            if bool(chaotic.any()):
                # the discrepancy is the rounding of a chaotic or ill-conditioned computation
                # (99 Newton–Schulz steps at singular values above √3): no evidence either way
                out.sensitive += int(chaotic.sum())
                clear = clear & ~chaotic
                out.unclear = True
        if bool(clear.any()):
            out.clear = int(torch.nonzero(clear)[0])
            return out
        unclear = defined & (excess > allowed)
        doubtful = judged.get("doubtful")
        if doubtful is not None:
            # above the rounding model of the compared values (or a strict inequality tied
            # up to rounding): not a pass until rounding is shown to explain it
            unclear = unclear | (defined & doubtful.reshape(-1).expand(n))
        if bool(unclear.any()):
            strict_tie = self.strict(ctx) and doubtful is not None
            self._float32_unavailable = None
            explained = None if strict_tie else self.rounding_explains(ctx, inst, sizes, device, n)
            if explained is not None:
                out.precision_checked += int((unclear & explained).sum())
                unclear = unclear & ~explained
            if bool(unclear.any()):
                verdicts = self.settle_all(ctx, ev, inst, unclear)
                if verdicts is not None:
                    held, failed = verdicts
                    if failed is not None:
                        out.clear, out.settled = failed, "high-precision re-evaluation"
                        return out
                    out.precision_checked += int((unclear & held).sum())
                    unclear = unclear & ~held
            if bool(unclear.any()) and not strict_tie and doubtful is not None:
                # no re-evaluation could run (float32 overflows at a^1024 or underflows, no
                # SymPy lowering): within the intermediate-based model it passes, and the
                # summary counts it; where float32 ran and did not show rounding, it stays open
                blind = torch.ones_like(unclear) if explained is None else (
                    self._float32_unavailable if self._float32_unavailable is not None
                    else torch.zeros_like(unclear))
                agree = blind & (excess <= allowed)
                out.blind += int((unclear & agree).sum())
                unclear = unclear & ~agree
            out.unclear = bool(unclear.any()) or out.sensitive > 0
        return out

    def settle_condition(self, ctx: Context, ev: Evaluator, inst: Instance, failing: torch.Tensor,
                         out: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Failing members of a condition that are certain.  A comparison within rounding
        of its boundary (``|1 − 2ησ²| < 1`` at η = σ = 10⁻⁶ reads ``1 < 1``) can flip
        either way: such a member is re-decided in high precision, and is no
        counterexample (only undecided) when that is not available."""
        n = failing.shape[0]
        near = torch.zeros_like(failing)
        for a in _compare_atoms(ctx.statement):
            # an equation read as a tie (inf == inf by overflow counts) or at the edge of
            # its rounding allowance is settled below, by whether the rounding of the
            # inputs explains it; any other comparison within rounding of flipping is
            # re-decided here
            if not _equation(a):
                near = near | near_boundary(a, ev, n, equal_ties=True).to(near.device)
        certain = failing & ~near
        held = torch.zeros_like(failing)
        self.settle_ties(ctx, ev, inst, certain, held, out)
        for i in torch.nonzero(failing & near).reshape(-1).tolist()[:SETTLE_MAX]:
            v = precise.decide_condition(ctx.checked, ctx.statement, inst.env, i, _ref(ev, i))
            if v is False:
                certain[i] = True
                out.settled = "high-precision re-evaluation"
            elif v is None:
                out.unclear = True
            else:
                out.precision_checked += 1
                held[i] = True
        return certain, held

    def settle_ties(self, ctx: Context, ev: Evaluator, inst: Instance, certain: torch.Tensor,
                    held: torch.Tensor, out: Batch) -> None:
        """The counterexample to report, when it rests on an equation that float64 reads as
        a tie: ``exp(c·x) == exp(c·y) <=> x == y`` fails at c = −1000 only because both
        exponentials underflow to 0.  Only an equation whose other reading would make the
        condition hold is re-decided (:func:`precise.input_rounding_explains`): a tie that
        the rounding of the float64 inputs explains stands (a point placed on the
        surface); sides that are clearly apart make the member no counterexample — it holds
        when the condition holds with them apart, and is undecided when that cannot be
        judged.  Members are taken in order until one is confirmed (the reported one)."""
        from derive.numeric import precise
        every = _compare_atoms(ctx.statement)
        atoms = [a for a in every if _equation(a)]
        if not atoms:
            return
        n = certain.shape[0]
        try:
            with torch.no_grad(), ev.untracked():
                reads = {id(a): ev.tensor(ev.ev(a)).reshape(-1).bool() for a in every}
            edge = {id(a): near_boundary(a, ev, n).to(certain.device) for a in atoms}
        except (LoweringError, RuntimeError, ValueError):
            return
        for k, i in enumerate(torch.nonzero(certain).reshape(-1).tolist()):
            if k >= TIES_MAX:
                certain[i] = False  # not looked at: undecided rather than a counterexample
                out.unclear = True
                continue
            truth = {key: bool(v[i if v.shape[0] > i else 0]) for key, v in reads.items()}
            tied = [a for a in atoms if truth[id(a)] == (a.ops[0] == "==") or bool(edge[id(a)][i])][:6]
            if not any(_holds(ctx.statement, {**truth, **{
                    id(a): not truth[id(a)] for j, a in enumerate(tied) if sub >> j & 1}})
                    for sub in range(1, 2 ** len(tied))):
                return  # this failure does not rest on a tie: the reported counterexample
            exact = dict(truth)
            for a in tied:
                v = precise.input_rounding_explains(ctx.checked, a, inst.env, i)
                if v is None:
                    exact = None
                    break
                exact[id(a)] = v == (a.ops[0] == "==")
            if exact is not None and _holds(ctx.statement, exact) is False:
                return  # false with its ties read exactly: confirmed
            certain[i] = False
            if exact is not None and _holds(ctx.statement, exact):
                held[i] = True
                out.precision_checked += 1
            else:
                out.unclear = True

    # set while judging points bisected onto a ``!=`` surface: there the sides changed
    # sign across a bracket of one ulp, so by continuity they are equal inside it (the
    # intermediate value theorem) — the float64 equality is the evidence, not rounding
    bracketed = False

    def settle_equal(self, ctx: Context, ev: Evaluator, inst: Instance, equal: torch.Tensor,
                     out: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Members where ``a != b`` fails in float64 (the sides agree to rounding): a
        counterexample only when the sides are equal in high precision too (``exp(x) != 0``
        reads ``0 != 0`` at x = −10⁶ by underflow); undecided when that cannot be run."""
        certain = torch.zeros_like(equal)
        held = torch.zeros_like(equal)
        for i in torch.nonzero(equal).reshape(-1).tolist()[:SETTLE_MAX]:
            v = precise.decide(ctx.checked, ctx.statement, inst.env, i, _ref(ev, i))
            if v is False:
                certain[i] = True
                out.settled = "high-precision re-evaluation"
                break
            if v is True:
                held[i] = True
                out.precision_checked += 1
            else:
                out.unclear = True
        return certain, held

    def nudgeable(self, ctx: Context) -> bool:
        """A comparison of values (not ``!=``, whose evidence is an exact tie, nor a point
        placed on a surface, nor a condition) can be checked for sensitivity."""
        st = ctx.statement
        return isinstance(st, m.Compare) and "!=" not in st.ops and not self.bracketed

    def sensitive(self, ctx: Context, inst: Instance, sizes: dict[str, int], device: torch.device,
                  excess: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        """Members whose discrepancy the computation's own rounding reaches: rounding the
        inputs to float32, computing in float32, or nudging every input by ``NUDGE_REL``
        (a fixed random pattern) moves a side by more than ``CHAOS_SHARE`` of the
        discrepancy.  A wrong formula's discrepancy keeps its size in both
        precisions (float32 moves it by ~10⁻⁷ of the values); a chaotic iteration's or an
        ill-conditioned computation's does not (99 Newton–Schulz steps at singular values
        above √3; a logistic map at r = 3.99, even from its critical point, where nudging
        the input alone changes nothing).  Not judged where float32 cannot run."""
        st = ctx.statement
        if ctx.show.within is not None or ctx.show.rel is not None or "≈" in st.ops or \
                common.calls(st, SINGLE) or \
                any(callable(v) and not isinstance(v, torch.Tensor) for v in inst.env.values()):
            return torch.zeros_like(members)
        n = members.shape[0]

        def rounded(v: Any, real: torch.dtype, cplx: torch.dtype) -> Any:
            if isinstance(v, torch.Tensor) and v.is_complex():
                return v.to(torch.complex64).to(cplx)
            if isinstance(v, torch.Tensor) and v.is_floating_point():
                return v.to(torch.float32).to(real)
            return v
        g = torch.Generator(device="cpu").manual_seed(NUDGE_SEED)

        def nudged(v: Any) -> Any:
            if isinstance(v, torch.Tensor) and v.is_floating_point() and v.numel():
                u = torch.rand(v.shape, generator=g, dtype=torch.float64) * 2 - 1
                return v * (1 + NUDGE_REL * u.to(device=v.device, dtype=v.dtype))
            return v
        envs = [(torch.float64, dict(inst.env)),
                (torch.float64, {k: rounded(v, torch.float64, torch.complex128)
                                 for k, v in inst.env.items()}),
                (torch.float32, {k: rounded(v, torch.float32, torch.complex64)
                                 for k, v in inst.env.items()}),
                (torch.float64, {k: nudged(v) for k, v in inst.env.items()})]
        sides = []
        try:
            for real, env in envs:
                ev = Evaluator(env, device, real, ctx.checked)
                with torch.no_grad():
                    vals = []
                    for x in st.operands:
                        t = ev.tensor(ev.ev(x))
                        t = t.reshape(1, 1) if t.dim() == 0 else t.reshape(t.shape[0], -1)
                        if t.shape[0] not in (1, n):
                            return torch.zeros_like(members)
                        vals.append(t.expand(n, t.shape[1]).to(torch.complex128 if t.is_complex()
                                                                else torch.float64))
                sides.append(vals)
        except Exception:  # noqa: BLE001 - a failed re-evaluation is no evidence of chaos
            return torch.zeros_like(members)
        # how far each side moves, per member, when its inputs are rounded to float32 (a
        # ~10⁻⁸ nudge) and when it is then computed in float32: the computation's own
        # sensitivity to rounding, which a wrong formula's discrepancy dwarfs and chaos
        # makes O(1) — two independent looks, so a chaotic member is not missed by chance
        err = torch.zeros(n, dtype=torch.float64)
        orig, r64, r32, nudge = sides
        for first, second in ((orig, r64), (r64, r32), (orig, nudge)):
            for a, b in zip(first, second):
                if a.shape != b.shape:
                    return torch.zeros_like(members)
                d = (a - b).abs().reshape(n, -1).amax(-1).to(torch.float64)
                err = torch.maximum(err, torch.where(torch.isfinite(d), d,
                                                     torch.full_like(d, math.inf)))
        base = excess.to(torch.float64).abs().reshape(-1).expand(n)
        return members & (err.to(members.device) > CHAOS_SHARE * base.to(members.device))

    def strict(self, ctx: Context) -> bool:
        return any(op in ("<", ">") for op in getattr(ctx.statement, "ops", ()))

    def settle(self, ctx: Context, ev: Evaluator, inst: Instance, members: torch.Tensor,
               want_undefined: bool = False) -> Optional[int]:
        """The first member (of at most SETTLE_MAX) that high precision shows failing."""
        st = ctx.statement
        if not isinstance(st, m.Compare):
            return None
        for i in torch.nonzero(members).reshape(-1).tolist()[:SETTLE_MAX]:
            # a side undefined in high precision too, or defined (complex principal
            # values: sqrt(a)·sqrt(b) = −sqrt(ab) for a, b < 0) and different: fails
            if precise.decide(ctx.checked, st, inst.env, i, _ref(ev, i)) is False:
                return i
        return None

    def settle_all(self, ctx: Context, ev: Evaluator, inst: Instance, members: torch.Tensor
                   ) -> Optional[tuple[torch.Tensor, Optional[int]]]:
        """High-precision verdicts on doubtful members: (held mask, first failing member).
        ``None`` when the statement has no high-precision evaluation."""
        st = ctx.statement
        if not isinstance(st, m.Compare):
            return None
        held = torch.zeros_like(members)
        idx = torch.nonzero(members).reshape(-1).tolist()
        if len(idx) > SETTLE_ALL_MAX:
            return None  # too many to re-evaluate: they stay undecided
        deadline = time.perf_counter() + SETTLE_ALL_S
        for k, i in enumerate(idx):
            if k >= SETTLE_MAX and time.perf_counter() > deadline:
                # beyond the first few, only while re-evaluation is cheap (a recurrence
                # unrolled in mpmath): the rest stay undecided
                return None if not bool(held.any()) else (held, None)
            v = precise.decide(ctx.checked, st, inst.env, i, _ref(ev, i))
            if v is None:
                return None if not bool(held.any()) else (held, None)
            if v is False:
                return held, i
            held[i] = True
        return held, None

    def rounding_explains(self, ctx: Context, inst: Instance, sizes: dict[str, int],
                          device: torch.device, n: int) -> Optional[torch.Tensor]:
        """Members whose discrepancy is rounding: on the same inputs (rounded to float32) it
        is at least PRECISION_RATIO times larger in float32 than in float64.  A real
        difference keeps its size in both precisions.  ``None`` when the test does not
        apply: optimisers and quadrature (their error does not scale with precision),
        tolerances written in the claim, conditions, or arbitrary functions (evaluated in
        float64 whatever the precision asked)."""
        st = ctx.statement
        if isinstance(st, m.Logic) or ctx.show.within is not None or ctx.show.rel is not None or \
                "≈" in getattr(st, "ops", ()) or common.calls(st, SINGLE) or \
                any(callable(v) and not isinstance(v, torch.Tensor) for v in inst.env.values()):
            return None

        def rounded(v: Any, dtype_real: torch.dtype, dtype_complex: torch.dtype) -> Any:
            if not isinstance(v, torch.Tensor):
                return v
            if v.is_complex():
                return v.to(torch.complex64).to(dtype_complex)
            if v.is_floating_point():
                return v.to(torch.float32).to(dtype_real)
            return v

        try:
            excess = []
            for real, cplx in ((torch.float64, torch.complex128), (torch.float32, torch.complex64)):
                env = {k: rounded(v, real, cplx) for k, v in inst.env.items()}
                batch = max([v.shape[0] for v in env.values() if isinstance(v, torch.Tensor)] + [1])
                ev = Evaluator(env, device, real, ctx.checked).track(batch)
                e, _, _, _ = self.measure(ctx, ev, sizes)
                excess.append(e.to(torch.float64).reshape(-1).expand(n))
                cs = ev.judged.get("compared") if isinstance(ev.judged, dict) else None
        except (LoweringError, RuntimeError, ValueError, ZeroDivisionError, OverflowError):
            return None
        e64, e32 = excess
        # overflow, underflow, or a float32 error far below the float64 one: no evidence
        # either way; likewise float32 saturated (its error the size of the compared values,
        # 100× the float64 one: (x + 10⁸) − 10⁸ keeps no digit of a small x in float32)
        saturated = torch.zeros_like(e32, dtype=torch.bool)
        if cs is not None:
            cs32 = cs.to(torch.float64).reshape(-1).expand(n)
            saturated = (e32 >= 0.5 * cs32) & (e32 >= 100 * e64)
        self._float32_unavailable = ~torch.isfinite(e32) | (e32 < 0.1 * e64) | (e32 == 0) | saturated
        return torch.isfinite(e32) & (e32 >= PRECISION_RATIO * e64) & (e32 > 0)

    def clear_limit(self, ctx: Context, allowed: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        if ctx.show.within is not None or ctx.show.rel is not None:
            return allowed
        if isinstance(ctx.statement, m.Logic) or "!=" in getattr(ctx.statement, "ops", ()):
            return allowed
        return torch.maximum(allowed * CLEAR_MARGIN, scale * CLEAR_FLOOR)

    def measure(self, ctx: Context, ev: Evaluator, sizes: dict[str, int]
                ) -> tuple[torch.Tensor, torch.Tensor, float, Optional[torch.Tensor]]:
        """Per-member (excess, allowed) of the whole statement, the relative tolerance, and
        the members whose claimed optimum the optimiser beat (certain counterexamples)."""
        st = ctx.statement
        if isinstance(st, m.Logic):
            truth = ev.tensor(ev.ev(st)).reshape(-1)
            n = max(truth.shape[0], ev.scale.shape[0])
            excess = (~truth.bool().expand(n)).to(torch.float64)
            informative = informative_members(st, ev, n)
            if informative is not None:  # vacuous members (no side holds) are no evidence
                excess = torch.where(informative, excess, torch.full_like(excess, float("nan")))
            return excess, torch.full_like(excess, 0.5), 0.0, None
        values = [ev.ev(x) for x in st.operands]
        n = max([1] + [v for v in sizes.values() if isinstance(v, int)] +
                [max(v.shape[1:]) for v in values if isinstance(v, torch.Tensor) and v.dim() > 1] +
                # t steps of a recurrence accumulate t roundings
                [v for k, v in ev.env.items() if isinstance(v, int) and getattr(
                    ctx.checked.symbols.get(k), "role", None) == "seq_index"])
        cond = torch.ones(1, dtype=torch.float64, device=ev.scale.device)
        for c in ev.conds or ():  # per member: one ill-conditioned member widens only its own
            c = c.reshape(-1).to(cond.device)
            cond = torch.maximum(cond, c if c.shape[0] in (1, ev.scale.shape[0]) else c.amax().reshape(1))
        tol_m = ROUNDING_C * n * EPS64 * cond.clamp(1.0, COND_CAP)
        tol_pass = ROUNDING_C * n * EPS64 * cond.clamp(1.0, PASS_COND_CAP)
        if common.calls(st, {"argmin", "argmax"}):
            tol_m = tol_m.clamp_min(OPTIMISER_TOL)  # an optimiser's answer is good to ~√eps
            tol_pass = tol_pass.clamp_min(OPTIMISER_TOL)
        tol_rel = float(tol_m.max())
        for a in values:  # plain numbers are not tracked as intermediates
            t = ev.tensor(a)
            if t.dtype != torch.bool and t.numel():
                mag = t.detach().abs().reshape(t.shape[0], -1).amax(-1).to(torch.float64)
                mag = torch.where(torch.isfinite(mag), mag, torch.zeros_like(mag))
                ev.scale = torch.maximum(ev.scale, mag)
        scale = ev.scale.clamp_min(1e-300)
        excess_all = allowed_all = beaten = None
        doubtful = one_sided = compared = None
        quad = float(getattr(ev, "quad_error", 0.0))  # a quadrature's estimated error
        for op, a, b in zip(st.ops, values, values[1:]):
            x, y = pair(a, b, ev)
            nb = max(x.shape[0], scale.shape[0])
            x, y = x.expand(nb, x.shape[1]), y.expand(nb, y.shape[1])
            sc = scale.expand(nb)
            excess, allowed = relation(op, x, y, sc, tol_m.expand(nb), ctx.show)
            allowed = allowed + quad  # a discrepancy inside the estimate never refutes
            if op == "==":
                excess, beaten = optimum_check(ev, st.operands, values, excess, allowed)
            # the pass test is relative to the *compared* values, never to an intermediate:
            # ``log Σ exp(x + 50) − 50`` carries e⁵⁰ inside but is compared at size ~1
            passing = pass_threshold(op, x, y, tol_pass.expand(nb), ctx.show) + quad
            d = excess >= passing if op in ("<", ">") else excess > passing  # a tie is no pass
            if op == "==" and beaten is not None:
                d = d & ~(excess <= allowed)  # the optimiser's own shortfall (see optimum_check)
            doubtful = d if doubtful is None else (doubtful | d)
            c = torch.maximum(x.abs(), y.abs())
            c = torch.where(torch.isfinite(c), c, torch.zeros_like(c)).amax(-1).to(torch.float64)
            c = c.real if c.is_complex() else c
            compared = c if compared is None else torch.minimum(compared, c)
            o = one_side_undefined(x, y) & ~ev.overflow.expand(nb) if op in ("==", "≈") else \
                torch.zeros(nb, dtype=torch.bool, device=x.device)
            one_sided = o if one_sided is None else (one_sided | o)
            ratio = excess / allowed.clamp_min(1e-300)
            if excess_all is None:
                excess_all, allowed_all = excess, allowed
            else:
                worse = ratio > excess_all / allowed_all.clamp_min(1e-300)
                excess_all = torch.where(worse, excess, excess_all)
                allowed_all = torch.where(worse, allowed, allowed_all)
        ev.judged = {"doubtful": doubtful, "one_sided": one_sided, "compared": compared,
                     "ill": cond.reshape(-1) > ILL_COND}
        return excess_all, allowed_all, tol_rel, beaten

    # ------------------------------------------------------------ search
    def searchable(self, ctx: Context) -> bool:
        st = ctx.statement
        return isinstance(st, m.Compare) and any(op in ("<", "<=", ">", ">=") for op in st.ops)

    def search(self, ctx: Context, g: torch.Generator, device: torch.device,
               sizes: dict[str, int], steps: int = 40, report: Optional[dict] = None
               ) -> Optional[Batch]:
        """Gradient ascent on (left − right) over the free unstructured inputs (time-boxed)."""
        return ascend(self, ctx, g, device, sizes, steps, report=report)

    # ------------------------------------------------------------ refutation
    def refute(self, ctx: Context, g: torch.Generator, seed: int, device: torch.device, res: Batch,
               sizes: dict[str, int], tried: int, points: list, start: float,
               how: str = "random instances") -> Outcome:
        small = shrink(self, ctx, g, device, sizes)
        witness = counterexample(res)
        ev = common.evidence(ctx, seed, device, torch.float64, samples=tried,
                             estimate=res.worst_rel, interval=[res.worst_rel, res.worst_rel],
                             error_rate=0.0, tolerance=f"{ROUNDING_C:g}·n·eps·cond = {res.tol_rel:.3g}",
                             parameter_points=points, instances=tried,
                             largest_error=res.worst_rel, counterexample=witness,
                             found_by=how, seconds=round(time.perf_counter() - start, 3))
        if res.settled:
            ev["confirmed_by"] = res.settled
        sides = sides_at(ctx, res)
        if sides:
            ev["sides"] = sides
        if small is not None:
            ev["shrunk"] = small  # re-checked at its sizes: it still fails there
            if small.get("sides"):
                sides = small["sides"]  # the summary speaks of the shrunk instance
        where = ", ".join(f"{k}={v}" for k, v in ((small or {}).get("sizes") or witness.get("sizes", {})).items())
        if sides and "worst_entry" in sides:
            j = sides["worst_entry"]
            what = (f"entry {j} of the sides differs by {common.fmt(sides['difference'])} "
                    f"(relative {common.fmt(sides['relative'])})")
        elif sides and "difference" in sides:
            what = (f"lhs = {common.fmt(sides['lhs'])}, rhs = {common.fmt(sides['rhs'])}: "
                    f"they differ by {common.fmt(sides['difference'])} "
                    f"(relative {common.fmt(sides['relative'])})")
        else:
            what = f"relative error {common.fmt(res.worst_rel)}"
        return common.outcome(Verdict.REFUTED,
                              f"counterexample ({how}): {what}" + (f" at {where}" if where else ""), ev)


def pass_threshold(op: str, x: torch.Tensor, y: torch.Tensor, tol: torch.Tensor,
                   show: m.Show) -> torch.Tensor:
    """The largest excess (as :func:`relation` measures it) that passes outright: the
    rounding model ``tol`` relative to the compared values themselves.  A strict
    inequality passes only when the gap exceeds rounding: equality up to rounding is no
    evidence that ``<`` holds."""
    cs = torch.maximum(x.abs(), y.abs())
    cs = torch.where(torch.isfinite(cs), cs, torch.zeros_like(cs)).amax(-1).to(torch.float64)
    if x.is_complex() or y.is_complex():
        cs = cs.real if cs.is_complex() else cs
    base = tol * cs
    if op == "!=":
        return torch.full_like(base, 0.5)
    if op in ("==", "≈"):
        if show.within is not None:
            base = base + float(show.within)
        elif show.rel is not None or op == "≈":
            r = float(show.rel) if show.rel is not None else 1e-2
            base = base + r * y.abs().amax(-1).to(torch.float64)
        return base
    extra = float(show.within) if show.within is not None else 0.0
    if op in ("<", ">"):
        return extra - base
    return base + extra


def _ref(ev: Evaluator, i: int) -> float:
    """The float64 run's largest intermediate at member ``i`` (the high-precision
    comparison's reference size)."""
    if ev.scale is None or not ev.scale.numel():
        return 0.0
    return float(ev.scale.reshape(-1)[i if ev.scale.numel() > i else 0])


def wildness(st: m.Expr) -> Any:
    """How adversarial the instances are: fully, except for conditions holding equations
    (read up to an absolute rounding allowance, so tiny and huge magnitudes would decide
    them by that allowance rather than by the claim)."""
    if isinstance(st, m.Logic):
        if any(isinstance(x, m.Compare) and any(op in ("==", "!=", "≈") for op in x.ops)
               for x in walk(st)):
            return "tame"
    return True


def undefined_reasons(ctx: Context, excess: torch.Tensor, mask: Optional[torch.Tensor],
                      ill: Optional[torch.Tensor], one_sided: Optional[torch.Tensor], n: int
                      ) -> dict[str, int]:
    """Why members were not judged, for the summary."""
    out: dict[str, int] = {}
    live = mask if mask is not None else torch.ones(n, dtype=torch.bool, device=excess.device)

    def add(key: str, sel: torch.Tensor) -> None:
        k = int(sel.sum())
        if k:
            out[key] = out.get(key, 0) + k

    ill_m = ill.expand(n) if ill is not None else torch.zeros_like(live)
    one = one_sided.reshape(-1).expand(n) if one_sided is not None else torch.zeros_like(live)
    nan = ~torch.isfinite(excess) & live & ~ill_m
    if isinstance(ctx.statement, m.Logic):
        add("no side of the condition held", nan)
    else:
        add("one side undefined, the other not", nan & one)
        add("both sides undefined or overflowing", nan & ~one)
    add("inverted a matrix of condition number > 1e12", ill_m & live)
    return out


def undefined_note(tried: int, undefined: int, why: dict[str, int]) -> str:
    """``; 6 of 26 instances undefined (…)`` — never hidden."""
    if not undefined:
        return ""
    parts = ", ".join(f"{k}: {v}" for k, v in sorted(why.items(), key=lambda kv: -kv[1]))
    return f"; {undefined} of {tried} instances not judged" + (f" ({parts})" if parts else "")


def assumed_by_rounding(ctx: Context, inst: Instance, device: torch.device, n: int) -> torch.Tensor:
    """Members whose assumptions hold only within rounding of their boundary (a constant
    vector meets ``norm(o − mean(o)) > 0`` by rounding noise): no evidence either way."""
    conds = assumptions(ctx.checked)
    out = torch.zeros(n, dtype=torch.bool)
    if not conds:
        return out
    ev = Evaluator(inst.env, device, torch.float64, ctx.checked).track(n)
    for c in conds:
        try:
            out = out | near_boundary(c, ev, n, exact_integers=True).to(out.device)
        except (LoweringError, RuntimeError, ValueError):
            continue
    return out


def near_boundary(st: m.Expr, ev: Evaluator, n: int, exact_integers: bool = False,
                  equal_ties: bool = False) -> torch.Tensor:
    """Members where some comparison inside a condition is within rounding of flipping:
    its sides differ by less than ``NEAR_REL`` of their size (an equation, true up to
    ``CONDITION_RTOL``, counts when its sides differ by between a tenth and ten times that).
    With ``equal_ties`` a comparison of two overflowed sides counts too: ``exp(c·x) ==
    exp(c·y)`` at c = −1000 reads inf == inf although the sides differ, so a failing member
    resting on it is re-decided in high precision before it may refute."""
    out = torch.zeros(n, dtype=torch.bool, device=ev.scale.device if ev.scale is not None else None)
    stack = [st]
    while stack:
        e = stack.pop()
        if isinstance(e, m.Logic):
            stack.extend(e.args)
            continue
        if not isinstance(e, m.Compare):
            continue
        try:
            with torch.no_grad(), ev.untracked():
                vals = [ev.tensor(ev.ev(x)) for x in e.operands]
        except (LoweringError, RuntimeError, ValueError):
            return torch.ones_like(out)
        for op, a, b in zip(e.ops, vals, vals[1:]):
            if a.dtype == torch.bool or b.dtype == torch.bool:
                continue
            a, b = ev.align(a, b)
            a = a.reshape(a.shape[0], -1).to(torch.complex128 if a.is_complex() else torch.float64)
            b = b.reshape(b.shape[0], -1).to(a.dtype if not b.is_complex() else torch.complex128)
            gap = (a - b).abs()
            size = torch.maximum(a.abs(), b.abs())
            if ev.scale is not None and ev.scale.shape[0] in (1, size.shape[0]):
                # relative to the largest intermediate too: ‖o − mean o‖ > 0 compares with 0
                size = torch.maximum(size, ev.scale.reshape(-1, 1).to(size.device))
            if op in ("==", "!="):
                # read up to rounding by definition: only a gap at that allowance is in doubt
                allowance = CONDITION_RTOL * b.abs() + CONDITION_ATOL
                near = ((gap > 0.1 * allowance) & (gap < 10 * allowance)).any(-1)
            else:
                near = gap <= NEAR_REL * size
                if exact_integers:  # sizes and indices compare exactly: a tie is no rounding
                    near = near & ~((a.real == torch.round(a.real)) & (b.real == torch.round(b.real))
                                    & (a.abs() < 2 ** 52) & (b.abs() < 2 ** 52))
                near = near.any(-1)
            # a NaN gap (inf − inf: both sides overflowed) decides nothing; with ties it is
            # re-decided in high precision like any other doubtful member
            near = torch.where(torch.isnan(gap).any(-1),
                               torch.full_like(near, equal_ties), near)
            out = out | near.reshape(-1).expand(n).to(out.device)
    return out


def _equation(a: m.Compare) -> bool:
    return len(a.ops) == 1 and a.ops[0] in ("==", "!=")


def _compare_atoms(st: m.Expr) -> list:
    """The comparisons a condition is built from."""
    if isinstance(st, m.Logic):
        return [c for a in st.args for c in _compare_atoms(a)]
    return [st] if isinstance(st, m.Compare) else []


def _holds(st: m.Expr, truth: dict) -> Optional[bool]:
    """A condition's truth from the truth of its comparisons (by identity)."""
    if isinstance(st, m.Compare):
        return truth.get(id(st))
    if not isinstance(st, m.Logic):
        return None
    vals = [_holds(a, truth) for a in st.args]
    if any(v is None for v in vals):
        return None
    return m.connective(st.op, vals)


def one_side_undefined(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Members where one side is NaN (outside its function's domain) and the other is
    finite: a counterexample to an identity, not an instance to drop."""
    nx, ny = torch.isnan(x).any(-1), torch.isnan(y).any(-1)
    fx, fy = torch.isfinite(x).all(-1), torch.isfinite(y).all(-1)
    return (nx & fy) | (ny & fx)


def optimum_check(ev: Evaluator, operands: tuple, values: list, excess: torch.Tensor,
                  allowed: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``argmin(v, f) == c``: an optimiser that stopped short is no counterexample.

    Where the claimed point ``c`` is at least as good for ``f`` as the optimiser's
    answer, the discrepancy is the optimiser's, not the claim's.  Where the optimiser's
    point is clearly better (the returned mask), ``c`` is certainly no optimum: a
    refutation even when the two points are close.

    When both sides are optimisers (``argmin(v, f) == argmin(v, g)``), each answer is
    judged by the other's objective too: a point at least as good for either objective
    as that objective's own answer agrees with the claim (one optimiser stopped short on
    an ill-conditioned problem), and only a pair each clearly beaten by the other in its
    own objective is certain evidence.
    """
    judged = [_optimum_judgement(ev, e, values[1 - k], values[k])
              for k, e in enumerate(operands[:2]) if _is_optimiser(e)]
    judged = [j for j in judged if j is not None]
    if not judged or len(judged) < sum(_is_optimiser(e) for e in operands[:2]):
        return excess, None
    n = max([excess.shape[0]] + [g.shape[0] for g, _ in judged])
    as_good = torch.zeros(n, dtype=torch.bool, device=excess.device)
    beaten = torch.ones(n, dtype=torch.bool, device=excess.device)
    for good, bad in judged:
        as_good = as_good | good.to(excess.device).expand(n)
        beaten = beaten & bad.to(excess.device).expand(n)
    return torch.where(as_good, torch.minimum(excess, allowed), excess), beaten


def _is_optimiser(e: object) -> bool:
    return (isinstance(e, m.Call) and e.func in ("argmin", "argmax") and len(e.args) == 2
            and isinstance(e.args[0], m.Name))


def _optimum_judgement(ev: Evaluator, e: m.Call, claimed: Value, found: Value
                       ) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
    """Per member: whether ``claimed`` is at least as good for ``e``'s objective as the
    optimiser's ``found`` point, and whether ``found`` is clearly better (None when the
    objective cannot be evaluated at them)."""
    sign = 1.0 if e.func == "argmin" else -1.0
    try:
        with torch.no_grad(), ev.untracked():
            fc = ev.tensor(ev.ev(e.args[1], {e.args[0].id: claimed})).reshape(-1)
            ff = ev.tensor(ev.ev(e.args[1], {e.args[0].id: found})).reshape(-1)
    except (LoweringError, RuntimeError, ValueError):
        return None
    n = max(fc.shape[0], ff.shape[0])
    fc, ff = fc.expand(n), ff.expand(n)
    as_good = sign * (fc - ff) <= 1e-9 * (fc.abs() + ff.abs() + 1e-300)
    # the optimiser found a clearly better point: the claimed one is no optimum (exact
    # evidence, whatever the distance between the points)
    beaten = sign * (fc - ff) > BEATEN_REL * (fc.abs() + ff.abs()) + 1e-300
    try:
        with torch.no_grad(), ev.untracked():
            inside = feasible(ev, e, claimed).to(as_good.device).expand(n)
    except (LoweringError, RuntimeError, ValueError):
        return None
    # a claimed optimiser outside the feasible set is no optimiser, however good its value
    return as_good & inside, beaten | ~inside


def formula_only(checked) -> bool:
    """No tensor and nothing random: every instance is a handful of numbers."""
    return not any(info.role in ("tensor", "sequence") or info.random
                   for info in checked.symbols.values())


def loop_free(ctx: Context) -> bool:
    """Whether the statement (through its definitions) runs no Python-level loop over a
    size — comprehensions, ``sum(i = 1..n, …)`` binders, recurrences — and reads no tensor
    of more than two axes, so that sizes up to 128 cost about what sizes up to 32 do (a structural test: the plan never depends on
    the clock)."""

    names = reachable(ctx.checked, [ctx.statement], shapes=False)
    exprs: list[m.Expr] = [ctx.statement]
    for name in names:
        info = ctx.checked.symbols.get(name)
        if info is None:
            continue
        if info.role == "sequence":
            return False
        if info.role == "tensor" and len(info.vtype.shape) > 2:
            return False  # 128⁴ entries: vectors and matrices only
        st = info.statement
        if isinstance(st, m.Define):
            exprs.append(st.value)
        elif isinstance(st, m.FuncDef):
            exprs.append(st.body)
    for e in exprs:
        for node in walk(e):
            if isinstance(node, m.Comprehension):
                return False
            if isinstance(node, m.Call) and any(isinstance(v, m.Range) for _, v in node.kwargs):
                return False
    return True


def has_steps(checked) -> bool:
    """Whether the claim reads a recurrence at a free step."""
    return any(info.role == "seq_index" for info in checked.symbols.values())


def scalars_only(checked) -> bool:
    """No sizes, tensors or sweeps: one more instance costs next to nothing."""
    return not any(info.role in ("dim", "sweep", "tensor") for info in checked.symbols.values())


def sized_by_defines(ctx: Context) -> dict[str, int]:
    """No dims are fixed by default; defines (``let n = 256``) fix themselves."""
    return {}


# ---------------------------------------------------------------- conditions
def informative_members(st: m.Logic, ev: Evaluator, n: int) -> Optional[torch.Tensor]:
    """Members that say something about ``a => b`` (a holds) or ``a <=> b`` (a side holds).

    At random points an equation is almost never true, so ``x == 1 <=> y == 2`` would be
    "true" everywhere for the wrong reason; only members where a side holds count.
    """
    if st.op not in ("<=>", "=>"):
        return None
    left = ev.tensor(ev.ev(st.args[0])).reshape(-1).bool().expand(n)
    if st.op == "=>":
        return left
    right = ev.tensor(ev.ev(st.args[1])).reshape(-1).bool().expand(n)
    return left | right


def equation_bindings(ctx: Context) -> list[tuple[str, m.Expr]]:
    """``name == expr`` sides of a condition whose name is a free, non-random scalar."""
    st = ctx.statement
    if not isinstance(st, m.Logic) or st.op not in ("<=>", "=>"):
        return []
    out = []
    for side in st.args:
        if not (isinstance(side, m.Compare) and side.ops == ("==",)):
            continue
        for name, other in ((side.operands[0], side.operands[1]), (side.operands[1], side.operands[0])):
            info = ctx.checked.symbols.get(name.id) if isinstance(name, m.Name) else None
            if info is None or info.role != "scalar" or info.random:
                continue
            if any(isinstance(x, m.Name) and x.id == name.id for x in walk_expr(other)):
                continue
            out.append((name.id, other))
    return out


def walk_expr(e: m.Expr):
    return walk(e)


def on_equation_surfaces(ctx: Context, inst: Instance, mask: Optional[torch.Tensor],
                         device: torch.device):
    """Instances moved onto each equation side (``η := 1/(σ1² + σs²)``), keeping only members
    that still satisfy the name's declared domain and the assumptions."""
    for name, expr in equation_bindings(ctx):
        env = dict(inst.env)
        ev = Evaluator(env, device, torch.float64, ctx.checked)
        try:
            value = ev.tensor(ev.ev(expr))
        except (LoweringError, RuntimeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        if value.dim() > 1 or (value.dim() == 1 and value.shape[0] > 1
                               and not isinstance(inst.env.get(name), torch.Tensor)):
            continue
        env[name] = value
        moved = Instance(env, inst.sizes, inst.params)
        check = Evaluator(env, device, torch.float64, ctx.checked)
        try:
            ok = holds(check, assumptions(ctx.checked) + domain_conditions(ctx, name))
        except (LoweringError, RuntimeError, ValueError):
            continue
        ok_t = ok if isinstance(ok, torch.Tensor) else torch.tensor([bool(ok)])
        ok_t = ok_t.reshape(-1).bool() & torch.isfinite(value.reshape(-1))
        if mask is not None:
            ok_t = ok_t & mask.reshape(-1).bool()
        if not bool(ok_t.any()):
            continue
        yield moved, ok_t

