"""Differential fuzzing of the engines: well-typed claims whose truth is known.

Each generated claim is an expression against a rewritten form of itself (commuted,
expanded, a known identity applied, a variable substituted): true by construction; or a
mutation of such a pair (a constant bumped, sin↔cos, an operator flipped, a power
changed): false, *confirmed* by evaluating both sides in plain Python floats at random
points (a mutation that leaves the sides equal is dropped).  Matrix claims come from
identity templates whose leaves are replaced by independent random sub-expressions
(which keeps a true identity true and, generically, a false one false).

:func:`decide_alone` decides one claim with one engine alone (no cross-check), so each
engine's answers are compared with the known truth separately.  benchmarks/engine_fuzz.py
drives it; tests/test_engine_fuzz.py runs a fixed-seed slice.
"""
from __future__ import annotations

import math
import random
import traceback
from dataclasses import dataclass
from typing import Optional

# ------------------------------------------------------------------ scalar expressions
# nodes: ("v", name) ("n", k) ("+", a, b) ("-", a, b) ("*", a, b) ("/a", e) ("^", e, k)
#        ("f", fname, e) ("sqa",) ("loga",)
VARS = ("x", "y", "a")
FUNCS = ("exp", "sin", "cos", "tanh")
HEADER = "  let x, y : real\n  let a : real > 0\n"


def gen(r: random.Random, depth: int) -> tuple:
    if depth <= 0 or r.random() < 0.25:
        c = r.random()
        if c < 0.6:
            return ("v", r.choice(VARS))
        if c < 0.85:
            return ("n", r.randint(1, 5))
        return ("sqa",) if r.random() < 0.5 else ("loga",)
    c = r.random()
    if c < 0.5:
        return (r.choice("+-*"), gen(r, depth - 1), gen(r, depth - 1))
    if c < 0.62:
        return ("/a", gen(r, depth - 1))
    if c < 0.77:
        return ("^", gen(r, depth - 1), r.choice((2, 3)))
    return ("f", r.choice(FUNCS), gen(r, min(depth - 1, 1)))


def render(e: tuple) -> str:
    k = e[0]
    if k == "v":
        return e[1]
    if k == "n":
        return str(e[1])
    if k == "sqa":
        return "sqrt(a)"
    if k == "loga":
        return "log(a)"
    if k in "+-*":
        return f"({render(e[1])} {k} {render(e[2])})"
    if k == "/a":
        return f"({render(e[1])} / a)"
    if k == "^":
        return f"({render(e[1])})^{e[2]}"
    return f"{e[1]}({render(e[2])})"


def value(e: tuple, env: dict) -> float:
    k = e[0]
    if k == "v":
        return env[e[1]]
    if k == "n":
        return float(e[1])
    if k == "sqa":
        return math.sqrt(env["a"])
    if k == "loga":
        return math.log(env["a"])
    if k == "+":
        return value(e[1], env) + value(e[2], env)
    if k == "-":
        return value(e[1], env) - value(e[2], env)
    if k == "*":
        return value(e[1], env) * value(e[2], env)
    if k == "/a":
        return value(e[1], env) / env["a"]
    if k == "^":
        return value(e[1], env) ** e[2]
    return getattr(math, e[1])(value(e[2], env))


def nodes(e: tuple, path=()) -> list:
    out = [path]
    for i, c in enumerate(e):
        if isinstance(c, tuple):
            out.extend(nodes(c, path + (i,)))
    return out


def at(e: tuple, path: tuple) -> tuple:
    for i in path:
        e = e[i]
    return e


def put(e: tuple, path: tuple, new: tuple) -> tuple:
    if not path:
        return new
    i = path[0]
    return e[:i] + (put(e[i], path[1:], new),) + e[i + 1:]


def rewrite(r: random.Random, e: tuple) -> tuple[tuple, str]:
    """A form equal to ``e`` for all x, y and a > 0, and the rewriting's name."""
    path = r.choice(nodes(e))
    s = at(e, path)
    k = s[0]
    if k in "+*" and r.random() < 0.5:
        return put(e, path, (k, s[2], s[1])), "commute"
    if k == "*" and s[1][0] in "+-" and len(s[1]) == 3:
        p, q = s[1][1], s[1][2]
        return put(e, path, (s[1][0], ("*", p, s[2]), ("*", q, s[2]))), "expand"
    if k == "^" and s[2] == 2 and r.random() < 0.7:
        return put(e, path, ("*", s[1], s[1])), "square"
    if k == "f" and s[1] == "exp":
        v = gen(r, 1)
        return put(e, path, ("*", ("f", "exp", ("-", s[2], v)), ("f", "exp", v))), "exp-sum"
    if k == "v" and s[1] in ("x", "y"):
        other = "y" if s[1] == "x" else "x"
        return put(e, path, ("-", ("+", s, ("v", other)), ("v", other))), "substitute"
    c = r.random()
    u = gen(r, 1)
    if c < 0.4:
        one = ("+", ("^", ("f", "sin", u), 2), ("^", ("f", "cos", u), 2))
        return put(e, path, ("*", s, one)), "pythagoras"
    if c < 0.7:
        return put(e, path, ("/a", ("*", s, ("v", "a")))), "times-a-over-a"
    return put(e, path, ("-", ("+", s, u), u)), "add-subtract"


def mutate(r: random.Random, e: tuple) -> tuple[tuple, str]:
    """A change that (usually) alters the value; the caller confirms it does."""
    paths = nodes(e)
    for _ in range(20):
        path = r.choice(paths)
        s = at(e, path)
        k = s[0]
        if k == "n":
            return put(e, path, ("n", s[1] + 1)), "constant"
        if k == "f" and s[1] in ("sin", "cos"):
            return put(e, path, ("f", "cos" if s[1] == "sin" else "sin", s[2])), "sin-cos"
        if k in "+-" and len(s) == 3:
            return put(e, path, ("-" if k == "+" else "+", s[1], s[2])), "flip-sign"
        if k == "^":
            return put(e, path, ("^", s[1], 5 - s[2])), "power"
    return ("+", e, ("n", 1)), "plus-one"


def differ(lhs: tuple, rhs: tuple, r: random.Random) -> Optional[bool]:
    """True when the sides clearly differ at several random points, False when they agree
    at all of them, None when evaluation overflows or the answer is borderline."""
    far = 0
    for _ in range(24):
        env = {"x": r.uniform(-2, 2), "y": r.uniform(-2, 2), "a": r.uniform(0.2, 3)}
        try:
            a, b = value(lhs, env), value(rhs, env)
        except (OverflowError, ValueError, ZeroDivisionError):
            return None
        if not (math.isfinite(a) and math.isfinite(b)) or abs(a) > 1e8 or abs(b) > 1e8:
            return None
        gap = abs(a - b) / (1 + abs(a) + abs(b))
        if gap > 1e-3:
            far += 1
        elif gap > 1e-9:
            return None
    if far == 0:
        return False
    return True if far >= 3 else None


# ------------------------------------------------------------------ matrix templates
MATRIX_HEADER = "  let n : dim\n  let A, B, C, D : matrix[n, n]\n  let u, v : vector[n]\n"
MATRIX_TRUE = [
    "(X + Y)ᵀ == Xᵀ + Yᵀ", "(X @ Y)ᵀ == Yᵀ @ Xᵀ", "trace(X @ Y) == trace(Y @ X)",
    "X @ (Y + Z) == X @ Y + X @ Z", "trace(X + Y) == trace(X) + trace(Y)",
    "p · q == qᵀ @ p", "norm(p)^2 == p · p", "(X @ p) · q == p · (Xᵀ @ q)",
    "trace(p @ qᵀ) == p · q", "(X @ Y) @ Z == X @ (Y @ Z)",
]
MATRIX_FALSE = [
    "(X @ Y)ᵀ == Xᵀ @ Yᵀ", "trace(X @ Y) == trace(X) * trace(Y)", "X @ Y == Y @ X",
    "(X + Y) @ (X + Y) == X @ X + 2 * X @ Y + Y @ Y", "norm(p + q)^2 == norm(p)^2 + norm(q)^2",
    "(X @ p) · q == p · (X @ q)", "trace(X @ Y @ Z) == trace(Y @ X @ Z)",
]
MATS = ("A", "B", "C", "D")


def matrix_leaf(r: random.Random, used: list, later: int) -> str:
    """A random matrix sub-expression over names no other leaf uses (``later`` leaves
    still need one each)."""
    free = [x for x in MATS if x not in used]
    a = free[0]
    used.append(a)
    if r.random() < 0.4 or len(free) - 1 <= later:
        return a
    b = free[1]
    used.append(b)
    return r.choice([f"({a} + {b})", f"({a} @ {b})", f"(2 * {a} - {b})", f"({a}ᵀ + {b})"])


def matrix_claim(r: random.Random, truth: bool) -> tuple[str, str]:
    template = r.choice(MATRIX_TRUE if truth else MATRIX_FALSE)
    leaves = [x for x in ("X", "Y", "Z") if x in template]
    used: list = []
    out = template
    for j, leaf in enumerate(leaves):
        out = out.replace(leaf, matrix_leaf(r, used, len(leaves) - j - 1))
    vecs = ["u", "v"] if r.random() < 0.5 else ["v", "u"]
    out = out.replace("p", vecs[0]).replace("q", vecs[1])
    return MATRIX_HEADER + f"  show {out}\n", "matrix-template"


# ------------------------------------------------------------------ the claims
@dataclass
class FuzzClaim:
    id: str
    text: str
    truth: bool
    how: str


def claims(seed: int, count: int) -> list[FuzzClaim]:
    """``count`` claims, about half true; 80 % scalar, 20 % matrix."""
    r = random.Random(seed)
    out: list[FuzzClaim] = []
    i = 0
    while len(out) < count:
        i += 1
        truth = r.random() < 0.5
        cid = f"fz.{seed}.{i}"
        if r.random() < 0.2:
            body, how = matrix_claim(r, truth)
        else:
            lhs = gen(r, r.randint(1, 3))
            rhs, how = rewrite(r, lhs)
            if r.random() < 0.4:
                rhs, how2 = rewrite(r, rhs)
                how += "+" + how2
            if not truth:
                rhs, m = mutate(r, rhs)
                how += "/" + m
            d = differ(lhs, rhs, r)
            if d is None or d != (not truth):
                continue  # overflow, borderline, or a mutation that changed nothing
            if r.random() < 0.15:  # an inequality: (lhs − rhs)² ≥ 0 true; ≤ 0 only if equal
                stmt = f"({render(lhs)} - {render(rhs)})^2 {'>=' if truth else '<='} 0"
                if not truth:
                    how += "/square-le-0"
            else:
                stmt = f"{render(lhs)} == {render(rhs)}"
            body = HEADER + f"  show {stmt}\n"
        expect = "" if truth else "  expect refuted\n"
        out.append(FuzzClaim(cid, f"claim {cid} \"{how}\"\n{expect}{body}", truth, how))
    return out


# ------------------------------------------------------------------ deciding
@dataclass
class Finding:
    claim: FuzzClaim
    engine: str
    verdict: str
    summary: str
    kind: str  # "disagreement" | "failure"


PASSES = ("proved", "verified")


def decide_alone(fc: FuzzClaim, engine_names=("symbolic", "numeric"), time_limit: float = 2.0,
                 seed: int = 0) -> list[tuple[str, str, str]]:
    """(engine, verdict, summary) for each engine alone; "crash" when one raised."""
    from derive.decide import TimeLimit, engines
    from derive.decide import time_limit as limit
    from derive.engine import Context, Options
    from derive.language.load import load_text
    from derive.semantics import check_claim

    loaded = load_text(fc.text)
    if loaded.diagnostics or not loaded.claims:
        return [("front-end", "crash", "; ".join(d.message for d in loaded.diagnostics))]
    claim = loaded.claims[0]
    checked, diags = check_claim(claim, fc.text.split("\n"))
    if checked is None:
        return [("front-end", "crash", "; ".join(d.message for d in diags))]
    out = []
    opts = Options(seed=seed, symbolic_time_limit=time_limit)
    installed = engines()  # imported outside the time limit: an alarm mid-import breaks torch
    for name in engine_names:
        ctx = Context(checked, claim.shows[0], 0, opts)
        try:
            with limit(time_limit if name == "symbolic" else 0):
                o = installed[name].decide(ctx)
            out.append((name, "none" if o is None else o.verdict.value,
                        "" if o is None else o.summary[:300]))
        except TimeLimit:
            out.append((name, "inconclusive", "time limit"))
        except Exception as exc:  # noqa: BLE001 - a crash is this fuzzer's finding
            out.append((name, "crash", f"{type(exc).__name__}: {exc} | "
                        + traceback.format_exc().strip().splitlines()[-3][:200]))
    return out


def judge(fc: FuzzClaim, results: list[tuple[str, str, str]]) -> list[Finding]:
    """Disagreements with the known truth and internal failures."""
    found = []
    for engine, verdict, summary in results:
        if verdict in ("crash", "error"):
            found.append(Finding(fc, engine, verdict, summary, "failure"))
        elif fc.truth and verdict == "refuted":
            found.append(Finding(fc, engine, verdict, summary, "disagreement"))
        elif not fc.truth and verdict in PASSES:
            found.append(Finding(fc, engine, verdict, summary, "disagreement"))
    return found
