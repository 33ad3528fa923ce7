"""Growth decided from exact counts over many octaves: bounded ratios, not local slopes.

Counting on the ``meta`` device costs nothing at any size, so a growth claim's count is
evaluated far beyond the sweep: along *rays* of sizes 2^8, 2^9, …, up to 2^40 or until a
tensor would exceed 2^60 entries (at least 2^20 is needed to decide).  With several free
sizes the rays cover every regime — all sizes together, and each size alone growing while
the others stay at 2^8 (p ≫ q, q ≫ p, …) — so a cost formula is not checked only where all
sizes are equal.

On each ray the ratio r(n) = count / bound is examined at the top octaves:

* **converging** — successive changes shrink geometrically (each ≤ 0.75 of the last, as
  lower-order terms like 10⁶·n against n² do): the limit r∞ is extrapolated; r∞ > 0 means
  Θ (and O) hold on the ray, r∞ = 0 means the count is slower than the bound (O holds, Θ
  fails);
* **flat** — r changes by less than ``FLAT`` over the last ``SPAN`` octaves: Θ and O hold;
* **growing** — r rises over each of the last octaves and by more than ``FLAT`` over the
  span (a log factor: 5·n·log₂n against n; n³ against n^2.9): Θ and O fail;
* **falling** — the mirror image: O holds, Θ fails.
Anything else is undecided.  A claim is verified when every ray agrees, refuted when one
ray refutes.  Fitted exponents over the sweep stay in the evidence as a description.
"""
from __future__ import annotations

import math
from typing import Any, Optional

import torch

from derive import model as m
from derive.numeric.lower import Evaluator
from derive.timing.flops import CountResult, count
from derive.analysis import SizeError, reachable, size_value
from derive.timing.sizes import int_shape

LOW, HIGH = 8, 40          # octaves: rays run over 2^LOW … 2^HIGH
MIN_TOP = 20               # a ray must reach 2^MIN_TOP to decide
MAX_NUMEL = 1 << 60        # largest tensor on a ray
SPAN = 6                   # octaves the flat/trend test looks back over
FLAT = 0.05                # relative change of the ratio over SPAN octaves that counts as flat
GEOMETRIC = 0.75           # successive changes shrinking at least this fast: converging
DTYPE = torch.float32


class NotWide(Exception):
    """The claim cannot be counted on meta over wide sizes (the sweep rule decides)."""


def meta_env(checked: Any, names: set[str], point: dict[str, int]) -> dict[str, Any]:
    env: dict[str, Any] = {k: int(v) for k, v in point.items()}
    for ident in sorted(names):
        info = checked.symbols.get(ident)
        if info is None or ident in env:
            continue
        if info.role == "tensor":
            shape = int_shape(info.vtype.shape, point)
            if math.prod(shape) > MAX_NUMEL:
                raise SizeError("too large")
            env[ident] = torch.empty((1,) + shape, dtype=DTYPE, device="meta")
        elif info.role in ("dim", "scalar") and ident in point:
            env[ident] = int(point[ident])
        elif info.role in ("sequence", "function"):
            raise NotWide(f"'{ident}' is a {info.role}")
        elif info.role == "scalar":
            env[ident] = 0.5
        elif info.role == "dim":
            raise NotWide(f"'{ident}' has no size on the ray")
    return env


def meta_count(checked: Any, arg: m.Expr, point: dict[str, int]) -> CountResult:
    """FLOPs and bytes of ``arg`` as written at ``point``, counted on the meta device."""
    env = meta_env(checked, reachable(checked, [arg]), point)

    def run() -> torch.Tensor:
        ev = Evaluator(env, torch.device("meta"), DTYPE, checked)
        return ev.tensor(ev.ev(arg))

    try:
        return count(run)
    except SizeError:
        raise
    except Exception as exc:  # noqa: BLE001 - data-dependent: cannot count on meta
        raise NotWide(f"not countable on meta: {type(exc).__name__}") from exc


def measure(checked: Any, costs: list[m.Cost], lhs: m.Expr, point: dict[str, int]) -> float:
    """The claim's left side at ``point`` from meta counts (FLOPs, or peak bytes)."""
    values = {}
    for c in costs:
        res = meta_count(checked, c.arg, point)
        values[c] = float(res.peak_bytes if c.kind == "memory" else res.flops)
    return float(size_value(lhs, point, checked, values))


def rays(gvars: list[str], base: dict[str, int], grid: list[dict[str, int]]
         ) -> list[tuple[str, list[dict[str, int]]]]:
    """Size rays: every swept size together, then each alone (others fixed).

    The sweep's own regime is kept: sizes that stand in a fixed order at every grid
    point (d ≥ m everywhere: the claim is about d ≫ m) keep their ratios on the joint
    ray, and a size the grid keeps below another never grows alone."""
    top = {v: max(p[v] for p in grid) for v in gvars}
    small = min(top.values())
    scale = {v: top[v] / small for v in gvars}

    def at(v: str, k: int) -> int:
        return max(1, int(round(scale[v] * 2 ** k)))

    def below(v: str) -> bool:   # some other size is ≥ v at every grid point, > at one
        return any(all(p[u] >= p[v] for p in grid) and any(p[u] > p[v] for p in grid)
                   for u in gvars if u != v)

    out = []
    together = [{**base, **{v: at(v, k) for v in gvars}} for k in range(LOW, HIGH + 1)]
    out.append(("all sizes together" if len(gvars) > 1 else gvars[0], together))
    if len(gvars) > 1:
        for v in gvars:
            if below(v):
                continue
            pts = [{**base, **{u: at(u, LOW) for u in gvars}, v: at(v, k)}
                   for k in range(LOW, HIGH + 1)]
            out.append((f"{v} ≫ the others", pts))
    return out


def classify(r: list[float]) -> tuple[str, Optional[float]]:
    """'flat' | 'converging' | 'vanishing' | 'growing' | 'falling' | 'unclear' (and r∞)."""
    if len(r) < SPAN + 1 or any(not math.isfinite(x) or x <= 0 for x in r):
        return "unclear", None
    d = [b - a for a, b in zip(r, r[1:])]
    last3 = d[-3:]
    if all(abs(x) <= 1e-12 * abs(r[-1]) for x in last3):
        return "flat", r[-1]
    same_sign = all(x > 0 for x in last3) or all(x < 0 for x in last3)
    if same_sign and all(abs(b) <= GEOMETRIC * abs(a) for a, b in zip(last3, last3[1:])):
        q = last3[-1] / last3[-2]
        limit = r[-1] + last3[-1] * q / (1 - q)
        if limit <= 1e-9 * max(r):
            return "vanishing", 0.0
        return "converging", limit
    change = r[-1] / r[-1 - SPAN]
    if abs(math.log(change)) <= math.log(1 + FLAT):
        return "flat", r[-1]
    if change > 1 and all(x > 0 for x in last3):
        return "growing", None
    if change < 1 and all(x < 0 for x in last3):
        return "falling", None
    return "unclear", None


def decide(checked: Any, costs: list[m.Cost], lhs: m.Expr, bound: m.Expr, gvars: list[str],
           base: dict[str, int], big_o, grid: list[dict[str, int]], keep=None
           ) -> Optional[tuple[str, str, dict]]:
    """('verified' | 'refuted' | 'inconclusive', summary, evidence), or None (sweep rule).

    ``keep(point)`` filters sizes by the claim's size assumptions."""
    rows = []
    outcomes = []
    for label, pts in rays(gvars, base, grid):
        ratios, sizes = [], []
        for p in pts:
            if keep is not None and not keep(p):
                if sizes:
                    break
                continue
            try:
                value = measure(checked, costs, lhs, p)
                g = float(size_value(bound, p, checked))
            except SizeError:
                break
            except NotWide:
                if sizes:
                    break   # countable up to here (e.g. an index overflows beyond)
                return None
            if not g > 0:
                return None
            ratios.append(abs(value) / g)   # |value|, as the sweep rule reads it: a value
            sizes.append(p)                 # that reaches 0 or turns negative is no Θ
        top = max(max(p[v] for v in gvars) for p in sizes) if sizes else 0
        if top < 2 ** MIN_TOP:
            return None
        kind, limit = classify(ratios)
        outcomes.append((label, kind))
        rows.append({"ray": label, "sizes": f"2^{LOW}…2^{int(math.log2(top))}", "shape": kind,
                     "ratio_first": _r(ratios[0]), "ratio_last": _r(ratios[-1]),
                     "ratio_min": _r(min(ratios)), "ratio_max": _r(max(ratios)),
                     **({"limit": _r(limit)} if limit is not None else {})})
    evidence = {"rule": "count / bound over rays of sizes 2^8 … 2^40 (meta-device counts): "
                        "bounded and without trend for Θ, bounded for O", "rays": rows}
    bounded = {"flat", "converging", "vanishing", "falling"}
    theta = {"flat", "converging"}
    kinds = [k for _, k in outcomes]
    if big_o == "Ω":  # a lower bound: count / bound must stay away from 0
        evidence["rule"] = ("count / bound over rays of sizes 2^8 … 2^40 (meta-device counts): "
                            "bounded away from 0 for Ω")
        bad = [lab for lab, k in outcomes if k == "vanishing"]
        if bad:
            return "refuted", f"count / bound falls to 0 along {bad[0]} (out to 2^{HIGH} or the " \
                              "largest countable size): not Ω", evidence
        if all(k in ("flat", "converging", "growing") for k in kinds):
            return "verified", "count / bound stays away from 0 along every ray of sizes (out " \
                               f"to 2^{HIGH} or the largest countable size)", evidence
        return "inconclusive", "count / bound falls along some ray without a clear limit", evidence
    if big_o:
        bad = [lab for lab, k in outcomes if k == "growing"]
        if bad:
            return "refuted", f"count / bound keeps growing along {bad[0]} (out to 2^{HIGH} or the largest countable size): not O", evidence
        if all(k in bounded for k in kinds):
            return "verified", "count / bound stays bounded along every ray of sizes (out to 2^" \
                               f"{HIGH} or the largest countable size)", evidence
        return "inconclusive", "count / bound has no clear trend along some ray", evidence
    bad = [(lab, k) for lab, k in outcomes if k in ("growing", "falling", "vanishing")]
    if bad:
        lab, k = bad[0]
        how = "faster than" if k == "growing" else "slower than"
        return "refuted", f"the count grows {how} the bound along {lab} (count / bound {k})", evidence
    if all(k in theta for k in kinds):
        return "verified", "count / bound stays within constant bounds with no trend along every " \
                           "ray of sizes", evidence
    return "inconclusive", "count / bound has no clear trend along some ray", evidence


def _r(x: Optional[float]) -> Optional[float]:
    if x is None or x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.5g}")
