"""Corrected-constant hints for refuted Monte-Carlo claims.

With r = measured/claimed at each parameter point: when r is stable across points
it is a constant; when it drifts with a parameter p, either it follows a power
(r ∝ p^b, reported as the leading power) or it converges (r = c + β/p, reported as the
limit c).  The constant is matched against a small table (rationals with small
denominators, π, 2/π, √2, e, … and simple products) and reported as
"did you mean (c)·claimed?" — only after a re-check: the claim with the suggested constant
must pass at every point (its ratio within the verification interval plus the default
tolerance), so a hint is never the nearest entry to a noisy ratio, and the simplest entry
that passes is chosen, which keeps it the same across seeds.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from derive import model as m
from derive.engine import Context
from derive.numeric.common import DEFAULT_REL

NAMED = [
    ("π", math.pi), ("1/π", 1 / math.pi), ("2/π", 2 / math.pi), ("π/2", math.pi / 2),
    ("π/4", math.pi / 4), ("√2", math.sqrt(2)), ("1/√2", 1 / math.sqrt(2)), ("√π", math.sqrt(math.pi)),
    ("1/√π", 1 / math.sqrt(math.pi)), ("√(2/π)", math.sqrt(2 / math.pi)),
    ("√(π/2)", math.sqrt(math.pi / 2)), ("e", math.e), ("1/e", 1 / math.e), ("ln 2", math.log(2)),
    ("π²", math.pi ** 2), ("4/π", 4 / math.pi), ("1/(2π)", 1 / (2 * math.pi)), ("2π", 2 * math.pi),
    ("√(2π)", math.sqrt(2 * math.pi)), ("1/√(2π)", 1 / math.sqrt(2 * math.pi)),
    ("1/ln 2", 1 / math.log(2)), ("√e", math.sqrt(math.e)), ("1/√e", 1 / math.sqrt(math.e)),
    ("2/√π", 2 / math.sqrt(math.pi)), ("√(ln 2)", math.sqrt(math.log(2))),
]


def candidates() -> list[tuple[int, str, float]]:
    """(complexity, text, value), simplest first."""
    out: list[tuple[int, str, float]] = []
    seen = set()
    for q in range(1, 7):
        for p in range(1, 6 * q * 4 + 1):
            f = Fraction(p, q)
            if f in seen or not 0.04 <= f <= 24:
                continue
            seen.add(f)
            text = str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
            out.append((q + (1 if f.numerator > 9 else 0), text, float(f)))
    for text, v in NAMED:
        out.append((4, text, v))
    for k in (2, 3, 4, Fraction(1, 2), Fraction(1, 3), Fraction(1, 4)):
        for text, v in NAMED[:12]:
            kt = str(k) if isinstance(k, int) else f"{k.numerator}/{k.denominator}"
            out.append((7, f"{kt}·{text}", float(k) * v))
    out.sort(key=lambda t: t[0])
    return out


CANDIDATES = candidates()


def identify(c: float, se: float) -> tuple[Optional[str], float]:
    """The simplest table entry within max(3·se, 0.4 %) of ``c``; else the nearest."""
    if not math.isfinite(c) or c == 0:
        return None, float("nan")
    sign = "-" if c < 0 else ""
    a = abs(c)
    tol = max(3 * se / a, 0.004)
    for _, text, v in CANDIDATES:
        if abs(a - v) / v <= tol:
            return sign + text, v * (-1 if c < 0 else 1)
    return None, float("nan")


def source_text(ctx: Context, e: m.Expr) -> str:
    """The claim's own spelling of an expression (from its source positions)."""
    pos = getattr(e, "pos", None)
    lines = ctx.claim.text.split("\n")
    if pos is None or not pos.line or pos.line != pos.end_line:
        return "the claimed value"
    row = pos.line - ctx.claim.pos.line
    if not 0 <= row < len(lines):
        return "the claimed value"
    col0 = ctx.claim.pos.column if row == 0 else 1
    text = lines[row]
    return text[pos.column - col0: pos.end_column - col0].strip() or "the claimed value"


def hint(ctx: Context, results: list) -> Optional[dict[str, Any]]:
    """A corrected constant or power for a refuted ``a == b`` Monte-Carlo claim."""
    st = ctx.statement
    if not isinstance(st, m.Compare) or len(st.ops) != 1 or st.ops[0] not in ("==", "≈"):
        return None
    rows = []
    for r in results:
        est = r.estimate
        if est.left.numel() != 1 or float(est.right.reshape(-1)[0]) == 0:
            continue
        if float(est.spread.reshape(-1)[0]) == 0:
            return None  # no randomness: the claim is simply false at these values
        right = float(est.right.reshape(-1)[0])
        zv = getattr(r, "zv", 3.3)
        rows.append((r.point, float(est.left.reshape(-1)[0]) / right,
                     max(float(est.se.reshape(-1)[0]) / abs(right), 1e-12),
                     zv if math.isfinite(zv) else 3.3))
    if not rows:
        return None
    ratios = np.array([x[1] for x in rows])
    ses = np.array([x[2] for x in rows])
    plain_rows = [(p, r, s) for p, r, s, _ in rows]
    claimed = source_text(ctx, st.operands[1])
    out: dict[str, Any] = {"ratios": [round(float(x), 5) for x in ratios],
                           "points": [x[0] for x in rows]}
    w = 1 / ses ** 2
    mean = float((w * ratios).sum() / w.sum())
    mean_se = float(1 / math.sqrt(w.sum()))
    stable = bool(np.all(np.abs(ratios - mean) <= 4 * ses + 0.01 * abs(mean)))
    if stable or len(rows) < 2:
        return finish(out, mean, mean_se, claimed, "stable across the parameter points", rows)
    fit = drift(plain_rows)
    if fit is None:
        out["message"] = "measured/claimed drifts across the points; no single parameter explains it"
        return out
    name, power, c, c_se = fit
    if power is not None:
        out["power"] = {"parameter": name, "exponent": power}
        msg = f"measured/claimed grows like {name}^{power:g}"
        res = finish(out, c, c_se, f"{claimed} · {name}^{power:g}", msg)
        return res
    return finish(out, c, c_se, claimed, f"tends to a constant as {name} grows (fit c + b/{name})")


def drift(rows: list) -> Optional[tuple[str, Optional[float], float, float]]:
    """Best single-parameter explanation of a drifting ratio."""
    names = set().union(*(set(p.keys()) for p, _, _ in rows))
    best = None
    for name in sorted(names):
        xs = np.array([float(p.get(name, np.nan)) for p, _, _ in rows])
        rs = np.array([r for _, r, _ in rows])
        ses = np.array([s for _, _, s in rows])
        if np.any(~np.isfinite(xs)) or np.any(xs <= 0) or len(set(xs.tolist())) < 2 or np.any(rs <= 0):
            continue
        lx, lr = np.log(xs), np.log(rs)
        b, a = np.polyfit(lx, lr, 1)
        resid = float(np.abs(lr - (a + b * lx)).max())
        if abs(b) >= 0.35:
            p = round(b * 2) / 2
            c = float(np.exp(np.mean(lr - p * lx)))
            score = resid
            cand = (name, p, c, c * float(np.max(ses / rs)))
        else:
            X = np.stack([np.ones_like(xs), 1 / xs], 1)
            W = np.diag(1 / ses ** 2)
            cov = np.linalg.pinv(X.T @ W @ X)
            coef = cov @ X.T @ W @ rs
            score = float(np.abs(rs - X @ coef).max())
            cand = (name, None, float(coef[0]), float(math.sqrt(max(cov[0, 0], 0))))
        if best is None or score < best[0]:
            best = (score, cand)
    return None if best is None else best[1]


def recheck(rows: list, value: float) -> bool:
    """The claim times ``value`` verifies at every point: |r − v| ≤ zv·se + 0.4 %·|v|."""
    for row in rows:
        r, se, zv = row[1], row[2], row[3] if len(row) > 3 else 3.3
        if not abs(r - value) <= zv * se + DEFAULT_REL * abs(value):
            return False
    return True


def finish(out: dict, c: float, c_se: float, claimed: str, how: str,
           rows: Optional[list] = None) -> dict[str, Any]:
    text, value = identify(c, c_se)
    if text is not None and rows is not None and "power" not in out and not recheck(rows, value):
        out["rechecked"] = {"candidate": text, "passes": False}
        text, value = None, float("nan")
    elif text is not None and rows is not None and "power" not in out:
        out["rechecked"] = {"candidate": text, "passes": True}
    out.update({"constant": round(c, 5), "constant_se": round(c_se, 5), "how": how})
    if text == "1" and "^" in claimed and "power" in out:
        out["candidate"] = "1"
        out["message"] = f"did you mean {claimed}? ({how})"
    elif text is not None and text != "1":
        out["candidate"] = text
        out["message"] = f"did you mean ({text})·{claimed}? (measured/claimed ≈ {c:.4g}; {how})"
    elif text == "1":
        out["message"] = f"measured/claimed ≈ {c:.4g} ({how})"
    else:
        out["message"] = f"measured/claimed ≈ {c:.4g}, no simple constant matches ({how})"
    return out
