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


# ------------------------------------------------------------------ scalar function identities
# (template over U, Python check of each side): true ones hold for every U, false ones are
# confirmed false for the U drawn (see ``differ_fn``)
_sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
FN_TRUE = [
    ("relu(U) - relu(-U) == U", lambda u: max(u, 0) - max(-u, 0), lambda u: u),
    ("abs(U) == sqrt((U)^2)", abs, lambda u: math.sqrt(u * u)),
    ("log(exp(U)) == U", lambda u: math.log(math.exp(u)), lambda u: u),
    ("sigmoid(U) + sigmoid(-U) == 1", lambda u: _sig(u) + _sig(-u), lambda u: 1.0),
    ("tanh(U) == 2 * sigmoid(2 * U) - 1", math.tanh, lambda u: 2 * _sig(2 * u) - 1),
    ("exp(U) * exp(-U) == 1", lambda u: math.exp(u) * math.exp(-u), lambda u: 1.0),
    ("abs(U) >= U", None, None), ("(U)^2 + 1 > 0", None, None),
    ("relu(U) >= 0", None, None), ("max(U, 0) == relu(U)", lambda u: max(u, 0), lambda u: max(u, 0)),
]
FN_FALSE = [
    ("relu(U) + relu(-U) == U", lambda u: max(u, 0) + max(-u, 0), lambda u: u),
    ("abs(U) == U", abs, lambda u: u),
    ("sigmoid(U) + sigmoid(-U) == 2", lambda u: _sig(u) + _sig(-u), lambda u: 2.0),
    ("tanh(U) == 2 * sigmoid(U) - 1", math.tanh, lambda u: 2 * _sig(u) - 1),
    ("abs(U) <= U - 1", lambda u: abs(u), lambda u: u - 1),
    ("relu(U) <= U - 1/2", lambda u: max(u, 0), lambda u: u - 0.5),
]


def fn_claim(r: random.Random, truth: bool) -> Optional[tuple[str, str]]:
    text, f, g = r.choice(FN_TRUE if truth else FN_FALSE)
    u = gen(r, r.randint(0, 2))
    if not truth:  # confirm: the sides differ (== ) or the inequality fails somewhere
        le = "<=" in text
        bad = 0
        for _ in range(24):
            env = {"x": r.uniform(-2, 2), "y": r.uniform(-2, 2), "a": r.uniform(0.2, 3)}
            try:
                uv = value(u, env)
                a, b = f(uv), g(uv)
            except (OverflowError, ValueError, ZeroDivisionError):
                return None
            if abs(uv) > 30:
                return None
            if (a > b + 1e-3) if le else abs(a - b) > 1e-3 * (1 + abs(a) + abs(b)):
                bad += 1
        if bad < 3:
            return None
    return HEADER + f"  show {text.replace('U', render(u))}\n", "function-template"


# ------------------------------------------------------------------ indexed sums and vectors
VEC_HEADER = "  let K : dim\n  let v, w, z : vector[K]\n  let c : 1..K\n"
VEC_TRUE = [
    "sum(k = 1..K, P[k] * Q[k]) == P · Q",
    "sum(k = 1..K, (P[k] + Q[k])^2) == norm(P)^2 + 2 * (P · Q) + norm(Q)^2",
    "softmax(P)[c] == exp(P[c]) / sum(k = 1..K, exp(P[k]))",
    "sum(softmax(P)) == 1", "norm(P + Q) <= norm(P) + norm(Q)",
    "abs(P · Q) <= norm(P) * norm(Q)", "mean(P) == sum(P) / K", "logsumexp(P) >= max(P)",
    "sum(k = 1..K, 3 * P[k]) == 3 * sum(P)", "P[c] * Q[c] <= (P[c]^2 + Q[c]^2) / 2",
    "sum(k = 1..K, P[k] * Q[k]) / (1 + norm(P)^2) == (Q · P) / (1 + norm(P)^2)",
]
VEC_FALSE = [
    "sum(k = 1..K, P[k] * Q[k]) == sum(P) * sum(Q)",
    "sum(k = 1..K, (P[k] + Q[k])^2) == norm(P)^2 + norm(Q)^2",
    "softmax(P)[c] == exp(P[c]) / sum(k = 1..K, exp(Q[k]))",
    "norm(P + Q) >= norm(P) + norm(Q)", "abs(P · Q) <= norm(P) * norm(Q) / 2",
    "mean(P) == sum(P) / (K + 1)", "logsumexp(P) <= max(P)",
    "P[c] * Q[c] / (1 + sum(k = 1..K, P[k]^2)) == P[c] / (1 + sum(k = 1..K, P[k]))",
    "P[c] * Q[c] >= (P[c]^2 + Q[c]^2) / 2",
]


def vec_claim(r: random.Random, truth: bool) -> tuple[str, str]:
    text = r.choice(VEC_TRUE if truth else VEC_FALSE)
    p, q = r.choice([("v", "w"), ("w", "v"), ("(v + z)", "w"), ("v", "(w - z)"),
                     ("(2 * v)", "w"), ("(v ⊙ z)", "w")])
    return VEC_HEADER + f"  show {text.replace('P', p).replace('Q', q)}\n", "vector-template"


# ------------------------------------------------------------------ statistics
STAT_HEADER = ("  let c : real\n  let a : real > 0\n  let p : real in (0, 1)\n"
               "  let x, y : real ~ normal(0, 1)\n  let t : real ~ exponential(a)\n"
               "  let b : real ~ bernoulli(p)\n")
STAT_PAIRS = [  # (true, false)
    ("E[(x + c)^2] == 1 + c^2", "E[(x + c)^2] == 2 + c^2"),
    ("Var[c * x + y] == c^2 + 1", "Var[c * x + y] == c^2 + 2"),
    ("E[x * y] == 0", "E[x * x] == 0"), ("Var[x * y] == 1", "Var[x * y] == 2"),
    ("E[exp(x)] == exp(1/2)", "E[exp(x)] == 1"), ("P[x > 0] == 1/2", "P[x > 0] == 1/3"),
    ("E[abs(x)] == sqrt(2 / pi)", "E[abs(x)] == 1"), ("E[t] == 1 / a", "E[t] == 2 / a"),
    ("Var[t] == 1 / a^2", "Var[t] == 2 / a^2"), ("E[b^2] == p", "E[b^2] == p^2 / 2"),
    ("Var[b] == p * (1 - p)", "Var[b] == p"), ("E[a * t] == 1", "E[a * t] == 1/2"),
]


def stat_claim(r: random.Random, truth: bool) -> tuple[str, str]:
    pair = r.choice(STAT_PAIRS)
    return STAT_HEADER + f"  show {pair[0] if truth else pair[1]}\n", "statistic-template"


# ------------------------------------------------------------------ constructs that crashed once
SPECIAL_PAIRS = [  # (header, true statement, false statement)
    ("  let z, w : complex\n", "abs(z * w) == abs(z) * abs(w)", "abs(z + w) == abs(z) + abs(w)"),
    ("  let z, w : complex\n", "z * conj(z) == abs(z)^2", "z^2 == abs(z)^2"),
    ("  let z, w : complex\n", "re(z) <= abs(z)", "re(z * w) == re(z) * re(w)"),
    ("  let n : dim\n  let S : matrix[n, n] psd\n  let x : vector[n] ~ normal(0, S)\n",
     "E[x · x] == trace(S)", "E[x · x] == n"),
    ("  let n : dim\n  let A : matrix[n, n]\n  let x : vector[n] ~ normal(0, A @ Aᵀ)\n",
     "E[sum(x)] == 0", "E[x · x] == trace(A)"),
    ("  let m, n : dim\n  let A : matrix[m, n]\n  let U, S, V = svd(A)\n",
     "norm(S)^2 == norm(A, fro)^2", "sum(S) == norm(A, fro)"),
]


def special_claim(r: random.Random, truth: bool) -> tuple[str, str]:
    header, good, bad = r.choice(SPECIAL_PAIRS)
    return header + f"  show {good if truth else bad}\n", "special-template"


# ------------------------------------------------------------------ the claims
@dataclass
class FuzzClaim:
    id: str
    text: str
    truth: bool
    how: str


def claims(seed: int, count: int) -> list[FuzzClaim]:
    """``count`` claims, about half true: half scalar expressions against rewritten forms,
    the rest matrix, function, vector/indexed-sum and statistic templates."""
    r = random.Random(seed)
    out: list[FuzzClaim] = []
    i = 0
    while len(out) < count:
        i += 1
        truth = r.random() < 0.5
        cid = f"fz.{seed}.{i}"
        kind = r.random()
        if kind < 0.12:
            body, how = matrix_claim(r, truth)
        elif kind < 0.27:
            made = fn_claim(r, truth)
            if made is None:
                continue
            body, how = made
        elif kind < 0.42:
            body, how = vec_claim(r, truth)
        elif kind < 0.50:
            body, how = stat_claim(r, truth)
        elif kind < 0.56:
            body, how = special_claim(r, truth)
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
    from derive.decide import engines
    from derive.limits import TimeLimit
    from derive.limits import time_limit as limit
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
