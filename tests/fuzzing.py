"""Grammar-aware fuzzing of the front end (load, semantic pass, size guards; never the engines).

Two sources of inputs:

* :class:`ClaimGen` builds near-valid claims from the grammar's constructs: every statement
  form, every type form, every operator spelling, calls, indexing, statistics and cost
  brackets, blocks, comprehensions, chains, logic, substitutions, sweeps and recurrences,
  with a small chance of breaking each piece (a missing token, a stray character, a bad
  indent, an absurd number).
* :func:`mutate_bytes` applies byte- and line-level mutations to corpus files
  (``claims/*.claims`` when present, else ``tests/data/*.claims``).

Both draw from a ``random.Random``-like object, so the same code serves the Hypothesis
strategies (:func:`claims`, :func:`mutants`: shrinkable, fixed-seed in CI) and the 100 000-input
benchmark (benchmarks/fuzz.py: plain seeded ``random.Random``, fast).
"""
from __future__ import annotations

import random
import signal
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

ROOT = Path(__file__).resolve().parent.parent

FUNCS1 = ["abs", "sqrt", "exp", "log", "sin", "cos", "tanh", "sigmoid", "relu", "sign", "floor",
          "ceil", "softmax", "logsumexp", "mean", "sum", "prod", "norm", "rms", "trace", "det",
          "logdet", "rank", "numel", "inv", "pinv", "diag", "vec", "svd", "eig", "eigvals", "fft",
          "factorial", "max", "min", "re", "im", "conj", "softplus", "logsigmoid", "gelu",
          "log_softmax", "layer_norm", "var", "rowsum", "colsum", "tr", "Tr", "flip"]
FUNCS2 = ["dot", "matpow", "kron", "outer", "conv", "maxpool", "avgpool", "pad", "binomial",
          "grad", "argmin", "argmax", "logpdf", "pdf", "cdf", "KL", "max", "min", "norm", "concat",
          "cross_entropy", "onehot", "convolve", "topk", "jacobian", "diff"]
UNKNOWN = ["foo", "eval", "exec", "__import__", "open", "getattr", "sympify", "Symbol", "lambda"]
DISTS = ["normal(0, 1)", "normal(0, σ^2)", "uniform(-1, 1)", "bernoulli(0.5)", "rademacher",
         "categorical([0.5, 0.5])", "exponential(2)", "normal(μ, 1)", "normal(0, S)", "beta(1, 2)",
         "gumbel(0, 1)", "student_t(5)"]
PROPS = ["invertible", "symmetric", "psd", "spd", "orthogonal", "diagonal", "full_rank", "nonzero",
         "simplex", "rank(2)", "rank(r)", "smooth", "unit", "positive", "semi_orthogonal", "bogus"]
ADD = ["+", "-", "−"]
MUL = ["*", "/", "@", "⊙", ".*", "·", "×", "∘", "⋅"]
POW = ["^", "^", "^", "^", ".^", ".^"]  # "**" rarely: see ClaimGen.power
CMP = ["==", "!=", "≠", "<=", "≤", ">=", "≥", "<", ">", "≈", "~=", "~"]
TRANSPOSE = ["ᵀ", "'", ".T"]
SUPER = ["²", "³", "⁻¹", "⁴", "⁰", "¹²", "⁻²"]
LOGIC = ["and", "or", "=>", "⇒", "<=>", "⇔", "<->"]
STATS = ["E", "Var", "Std", "P", "Cov"]
COSTS = ["time", "flops", "memory"]
NUMBERS = ["0", "1", "2", "3", "0.5", "1e-3", "2.5e2", "1e400", "1e-400", "2j", "10", "256",
           "9" * 60, "0.000", "7", "1.0", "3.14159", "1e3j", "00012", "4096", "1", "2", "0.5"]
ODD_NUMBERS = ["1e999999", "9" * 5000, "1e-999999", "0" * 300 + "1", "1" + "0" * 4000]
SCALARS = ["x", "y", "σ", "η", "β", "a", "b", "t", "μ", "sigma", "eta", "x1", "y₁"]
DIMS = ["n", "m", "d", "k", "d_in", "d_out", "r"]
TENSORS = ["A", "B", "W", "X", "M", "S", "u", "v", "q", "g", "Q", "V", "U"]
NOISE = ["(", ")", "[", "]", ",", ";", ":", "=", "..", "\t", "#", '"', "\\", "\x00", "\u202e",
         "ᵀ", "⁻", "~", "@", "'", "\r", "\n", "   ", "let", "show", "claim", "in", "for", "at",
         "within", "rel", "on", "O(", "->", "\ufeff", "𝑥", "\u200b", "0x1", "_", "é", "∑"]


class ClaimGen:
    """Near-valid claim text from a random source ``r`` (``random.Random`` or Hypothesis')."""

    def __init__(self, r: random.Random, break_rate: float = 0.03, max_depth: int = 3):
        self.r = r
        self.break_rate = break_rate
        self.max_depth = max_depth
        self.declared: dict[str, list[str]] = {"scalar": [], "dim": [], "tensor": []}

    def declare(self, kind: str, names: list[str]) -> None:
        for n in names:
            if n not in self.declared[kind]:
                self.declared[kind].append(n)

    # ---- helpers
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def maybe_break(self, text: str) -> str:
        if not self.chance(self.break_rate) or not text:
            return text
        how = self.r.randrange(5)
        i = self.r.randrange(len(text) + 1)
        if how == 0:
            return text[:i] + self.pick(NOISE) + text[i:]
        if how == 1 and len(text) > 1:
            j = min(len(text), i + self.r.randrange(1, 4))
            return text[:i] + text[j:]
        if how == 2:
            return text[:i] + text[i:i + 3] + text[i:]
        if how == 3:
            return self.pick(NOISE) + " " + text
        return text + " " + self.pick(NOISE)

    # ---- expressions
    def name(self, kind: str = "any") -> str:
        pool = {"scalar": SCALARS, "dim": DIMS, "tensor": TENSORS}.get(kind, SCALARS + DIMS + TENSORS)
        known = self.declared.get(kind) if kind != "any" else \
            self.declared["scalar"] + self.declared["tensor"] + self.declared["dim"]
        if known and self.chance(0.96):
            return self.pick(known)
        if self.chance(0.02):
            return self.pick(UNKNOWN + ["I", "E", "pi", "inf", "fro", "euler", "x" * 40])
        return self.pick(pool)

    def number(self) -> str:
        if self.chance(0.05):
            return str(self.r.randrange(10 ** self.r.randrange(1, 30)))
        if self.chance(0.005):
            return self.pick(ODD_NUMBERS)
        return self.pick(NUMBERS)

    def dim(self, depth: int = 0) -> str:
        roll = self.r.randrange(8)
        if roll < 3 or depth > 2:
            if self.declared["dim"]:
                return self.name("dim")
            return self.pick(["2", "3", "8"]) if self.chance(0.9) else self.pick(DIMS)
        if roll < 5:
            return self.pick(["1", "2", "3", "8", "256", "10^7", "10^12", "0", "-1", "2.5"])
        op = self.pick(["+", "-", "*", "/", "^"])
        return f"{self.dim(depth + 1)} {op} {self.dim(depth + 1)}"

    def atom(self, depth: int) -> str:
        roll = self.r.randrange(10) if depth < self.max_depth else self.r.randrange(5)
        if roll < 3:
            return self.name()
        if roll < 5:
            return self.number()
        if roll == 5:
            if self.chance(0.4):
                return self.textbook(depth)
            return f"({self.expr(depth + 1)})"
        if roll == 6:
            rows = [", ".join(self.expr(depth + 1) for _ in range(self.r.randrange(1, 4)))
                    for _ in range(self.r.randrange(1, 3))]
            return "[" + "; ".join(rows) + "]"
        if roll == 7:
            return (f"[{self.expr(depth + 1)} for i in 1..{self.dim()}"
                    + (f", j in i+1..{self.dim()}" if self.chance(0.4) else "") + "]")
        if roll == 8:
            return f"I[{self.dim()}]"
        return self.pick(STATS) + "[" + self.expr(depth + 1) + (
            ", " + self.expr(depth + 1) if self.chance(0.2) else "") + "]"

    def textbook(self, depth: int) -> str:
        """Textbook notation: bars, norms with subscripts, roots, ⊗, conditionals, slices,
        conditioning."""
        e = self.expr(depth + 1)
        return self.pick([
            f"|{e}|", f"‖{e}‖", f"‖{e}‖{self.pick(['₂', '₁', '_F', '_{F}', '_∞', '_2', '_x'])}",
            f"√{self.postfix(depth + 1)}", f"√({e})", f"({e} ⊗ {self.expr(depth + 1)})",
            f"({e} if {self.condition_simple()} else {self.expr(depth + 1)})",
            f"{self.name()}[{self.pick(['1', '2', 'k', '0'])}..{self.dim()}]",
            f"{self.pick(['E', 'P', 'Var'])}[{e} | {self.condition_simple()}]",
            f"|{e}", f"({e} if {self.condition_simple()})",
        ])

    def postfix(self, depth: int) -> str:
        e = self.atom(depth)
        for _ in range(self.r.randrange(2) if depth < self.max_depth else 0):
            roll = self.r.randrange(6)
            if roll == 0:
                e += self.pick(TRANSPOSE)
            elif roll == 1:
                e += self.pick(SUPER)
            elif roll == 2:
                idx = ", ".join(self.pick(["1", ":", "2", self.dim(3), "1", "0", "-1"])
                                for _ in range(self.r.randrange(1, 3)))
                e += f"[{idx}]"
            else:
                e = self.call(depth + 1)
        return e

    def call(self, depth: int) -> str:
        roll = self.r.randrange(10)
        if roll < 4:
            return f"{self.pick(FUNCS1)}({self.expr(depth + 1)})"
        if roll < 6:
            return f"{self.pick(FUNCS2)}({self.expr(depth + 1)}, {self.expr(depth + 1)})"
        if roll == 6:
            return f"{self.pick(['sum', 'prod', 'integrate'])}({self.pick(['i', 'j', 't'])} = " \
                   f"{self.pick(['1', '0', '-5'])}..{self.dim()}, {self.expr(depth + 1)})"
        if roll == 7:
            key = self.pick(["axis", "stride", "padding", "bogus"])
            return f"{self.pick(['softmax', 'conv', 'mean', 'logsumexp', 'concat'])}(" \
                   f"{self.expr(depth + 1)}, {key} = {self.pick(['1', '2', 'n', 'x'])})"
        if roll == 8:
            return f"{self.pick(COSTS)}[{self.expr(depth + 1)}]"
        if self.chance(0.2):
            return f"{self.pick(UNKNOWN + ['L', 'f', 'φ'])}({self.expr(depth + 1)})"
        return f"{self.pick(FUNCS1)}({self.expr(depth + 1)})"

    def power(self, depth: int) -> str:
        e = self.postfix(depth)
        if depth < self.max_depth and self.chance(0.2):
            op = "**" if self.chance(0.01) else self.pick(POW)
            e += f" {op} {self.unary(depth + 1)}"
        return e

    def unary(self, depth: int) -> str:
        prefix = self.pick(ADD) if self.chance(0.12) else ""
        return prefix + self.power(depth)

    def term(self, depth: int) -> str:
        e = self.unary(depth)
        while depth < self.max_depth and self.chance(0.2):
            e += f" {self.pick(MUL)} {self.unary(depth + 1)}"
        return e

    def expr(self, depth: int = 0) -> str:
        e = self.term(depth)
        while depth < self.max_depth and self.chance(0.2):
            e += f" {self.pick(ADD)} {self.term(depth + 1)}"
        if depth < self.max_depth and self.chance(0.05):
            e += f" at ({self.name()} = {self.term(depth + 1)})"
        return e

    def condition(self) -> str:
        roll = self.r.randrange(10)
        if roll < 6:
            parts = [self.expr()]
            for _ in range(self.r.randrange(1, 3)):
                parts += [self.pick(CMP), self.expr()]
            return " ".join(parts)
        if roll < 8:
            return f"{self.condition_simple()} {self.pick(LOGIC)} {self.condition_simple()}"
        if roll == 8:
            return f"not {self.condition_simple()}"
        return f"{self.pick(COSTS)}[{self.expr()}] in {self.pick(['O', 'Θ', 'Theta', 'X'])}(" \
               f"{self.pick(DIMS)}^{self.pick(['2', '3', '1'])})"

    def condition_simple(self) -> str:
        return f"{self.expr(2)} {self.pick(CMP)} {self.expr(2)}"

    # ---- types and statements
    def scalar_type(self) -> str:
        kind = self.pick(["real", "integer", "complex", "dim", "real", "real"])
        roll = self.r.randrange(5)
        if roll == 0:
            tail = f" {self.pick(['>', '>=', '!=', '<', '≥'])} {self.number()}"
        elif roll == 1:
            lo, hi = self.pick(["[", "("]), self.pick(["]", ")"])
            tail = f" in {lo}{self.number()}, {self.number()}{hi}"
        else:
            tail = ""
        return kind + tail

    def tensor_type(self) -> str:
        kind = self.pick(["vector", "matrix", "tensor"])
        count = {"vector": 1, "matrix": 2}.get(kind, self.r.randrange(1, 4))
        if self.chance(0.1):
            count += self.pick([-1, 1])
        dims = ", ".join(self.dim() for _ in range(max(count, 0)))
        props = " ".join(self.pick(PROPS) for _ in range(self.r.randrange(0, 2)))
        return f"{kind}[{dims}] {props}".rstrip()

    def statement(self) -> str:
        roll = self.r.randrange(20)
        if roll < 4:
            fresh = [self.pick(SCALARS) for _ in range(self.r.randrange(1, 3))]
            dist = f" ~ {self.pick(DISTS)}" if self.chance(0.2) else ""
            text = f"let {', '.join(fresh)} : {self.scalar_type()}{dist}"
            self.declare("scalar", fresh)
            return text
        if roll < 6:
            fresh = self.pick(DIMS)
            self.declare("dim", [fresh])
            return f"let {fresh} : dim"
        if roll < 9:
            fresh = [self.pick(TENSORS) for _ in range(self.r.randrange(1, 3))]
            dist = f" ~ {self.pick(DISTS)}" if self.chance(0.3) else ""
            text = f"let {', '.join(fresh)} : {self.tensor_type()}{dist}"
            self.declare("tensor", fresh)
            return text
        if roll == 9:
            return f"let {self.pick(['z', 'y2', 'h', 'K'])} = {self.expr()}"
        if roll == 10:
            return f"let {self.pick(['L', 'f', 'φ'])}({self.name()}, {self.name()}) = {self.expr()}"
        if roll == 11:
            s = self.pick(["w", "m", "s"])
            return f"let {s}[t+1] = {self.expr(2)} * {s}[t] + {self.expr(3)}, {s}[0] = {self.number()}"
        if roll == 12:
            if self.chance(0.5):
                return f"let {self.pick(DIMS)} in [{', '.join(self.number() for _ in range(3))}]"
            return f"let {self.pick(DIMS)} in {self.number()}..{self.number()}"
        if roll == 13:
            return f"let i : 1..{self.dim()}"
        if roll == 14:
            return f"let f : vector[{self.dim()}] -> real smooth"
        if roll == 15:
            return f"assume {self.condition()}"
        if roll == 16:
            return f'source "{self.pick(["HW1", "notes §3", "%s{0}", "x" * 20])}"'
        if roll == 17:
            return f"expect {self.pick(['holds', 'refuted', 'proved', 'verified', 'any', 'maybe'])}"
        if roll == 18:
            return f"tags {self.pick(['a', 'gd'])}, {self.pick(['b', 'linalg'])}"
        return self.show()

    def show(self) -> str:
        mods = ""
        if self.chance(0.15):
            mods += f" within {self.pick(['1e-3', '0.1', '1', '0'])}"
        if self.chance(0.1):
            mods += f" rel {self.pick(['1e-2', '0.5'])}"
        if self.chance(0.05):
            mods += f" on {self.pick(['cuda', 'cpu', 'tpu'])}"
        return f"show {self.condition()}{mods}"

    def claim(self, index: int = 0) -> str:
        title = f' "{self.pick(["a title", "Var(qᵀk) = dσ⁴", "{0}", "%n"])}"' if self.chance(0.5) else ""
        head = f"claim fuzz.c{index}{title}"
        self.declared = {"scalar": [], "dim": [], "tensor": []}
        body = []
        if self.chance(0.8):  # the usual prologue: sizes, then scalars and tensors
            dims = sorted({self.pick(DIMS) for _ in range(self.r.randrange(1, 3))})
            self.declare("dim", dims)
            body.append(f"let {', '.join(dims)} : dim")
            scalars = sorted({self.pick(SCALARS) for _ in range(self.r.randrange(1, 3))})
            self.declare("scalar", scalars)
            body.append(f"let {', '.join(scalars)} : {self.scalar_type()}")
            if self.chance(0.7):
                tensors = sorted({self.pick(TENSORS) for _ in range(self.r.randrange(1, 3))})
                body.append(f"let {', '.join(tensors)} : {self.tensor_type()}")
                self.declare("tensor", tensors)
        body += [self.statement() for _ in range(self.r.randrange(0, 4))]
        body.append(self.show())
        if self.chance(0.3):
            body.insert(self.r.randrange(len(body) + 1), self.show())
        indent = "  " if not self.chance(0.03) else self.pick(["", " ", "    ", "\t"])
        lines = [self.maybe_break(head)] + [indent + self.maybe_break(b) for b in body]
        if self.chance(0.05):
            k = self.r.randrange(1, len(lines))
            lines[k] = "   " + lines[k]  # an inconsistent indent
        return "\n".join(lines) + "\n"

    def document(self) -> str:
        count = 1 if self.chance(0.7) else self.r.randrange(2, 4)
        prefix = "# fuzz\n" if self.chance(0.2) else ""
        return prefix + "\n".join(self.claim(i) for i in range(count))


# ------------------------------------------------------------------ byte mutations
INTERESTING = [b"(", b")", b"[", b"]", b"^", b"@", b"\xe1\xb5\x80", b"\xe2\x81\xbb\xc2\xb9", b"\x00",
               b"\t", b"\r", b"\n", b"\n  ", b"\"", b"\\", b"#", b"~", b"..", b"=", b"claim ",
               b"  show ", b"  let ", b"1e999999", b"9" * 50, b"\xff", b"\xc3", b"\xe2\x80\xae",
               b"(" * 70, b"-" * 300, b"a^" * 50, b"x" * 200, b"\xef\xbb\xbf", b" at (", b" in O(",
               b"[", b";", b",", b":", b" for i in 1..n", b" within 0", b"\xe2\x89\xa4"]


def mutate_bytes(r: random.Random, data: bytes, pool: list[bytes], rounds: int = 0) -> bytes:
    """One to eight random mutations: flips, inserts, deletions, duplications, line swaps,
    splices with another corpus file, and interesting tokens."""
    data = bytearray(data)
    for _ in range(rounds or r.randrange(1, 9)):
        how = r.randrange(10)
        n = len(data)
        i = r.randrange(n + 1)
        if how == 0 and n:
            data[min(i, n - 1)] = r.randrange(256)
        elif how == 1:
            data[i:i] = r.choice(INTERESTING)
        elif how == 2 and n:
            j = min(n, i + r.randrange(1, 40))
            del data[i:j]
        elif how == 3 and n:
            j = min(n, i + r.randrange(1, 60))
            data[i:i] = data[i:j]
        elif how == 4:
            lines = bytes(data).split(b"\n")
            if len(lines) > 2:
                a, b = r.randrange(len(lines)), r.randrange(len(lines))
                lines[a], lines[b] = lines[b], lines[a]
                data = bytearray(b"\n".join(lines))
        elif how == 5 and pool:
            other = r.choice(pool)
            if other:
                j = r.randrange(len(other))
                data[i:i] = other[j:j + r.randrange(1, 200)]
        elif how == 6:
            lines = bytes(data).split(b"\n")
            if lines:
                k = r.randrange(len(lines))
                del lines[k]
                data = bytearray(b"\n".join(lines))
        elif how == 7:
            data[i:i] = bytes([r.randrange(32, 127)])
        elif how == 8:
            data[i:i] = r.choice(["ᵀ", "⁻¹", "σ", "≈", "⊙", "→", "∘", "²", "𝕩", "\u202e", "é"]).encode()
        else:
            lines = bytes(data).split(b"\n")
            if lines:
                k = r.randrange(len(lines))
                lines.insert(k, lines[k])
                data = bytearray(b"\n".join(lines))
    return bytes(data)


def seed_files() -> list[Path]:
    """The corpus the mutations start from: claims/*.claims, else tests/data/*.claims."""
    files = sorted((ROOT / "claims").glob("*.claims"))
    if not files:
        files = sorted((ROOT / "tests" / "data").glob("*.claims"))
    return files


def seed_corpus() -> list[bytes]:
    """Seed inputs: each corpus file, and each of its claims on its own (shorter is faster)."""
    out = []
    for path in seed_files():
        data = path.read_bytes()
        out.append(data)
        chunks = data.split(b"\nclaim ")
        out.extend((b"claim " + c if k else c) for k, c in enumerate(chunks) if c.strip())
    return out


# ------------------------------------------------------------------ the system under test
def front_end(data: bytes) -> int:
    """Load, semantic check and size guards of one input; returns the number of claims that
    passed.  Any exception escaping is a crash of the front end."""
    from derive import guards
    from derive.language.load import load_text
    from derive.semantics import check_claim

    loaded = load_text(data, "<fuzz>")
    lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    passed = 0
    for claim in loaded.claims:
        checked, diags = check_claim(claim, lines)
        for d in diags:
            d.render()
        if checked is not None:
            for d in guards.check(checked):
                d.render()
            passed += 1
    for b in loaded.broken:
        for d in b.diagnostics:
            d.render()
    return passed


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` if the body runs longer than ``seconds`` (main thread, POSIX)."""
    def on_alarm(signum, frame):  # noqa: ARG001
        raise Hang()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def signature(exc: BaseException) -> str:
    """Exception type plus the innermost derive frame: one signature per distinct bug."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/derive/" in f.filename]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    loc = f"{Path(where.filename).name}:{where.lineno} in {where.name}" if where else "?"
    return f"{type(exc).__name__} at {loc}"


def crash_of(data: bytes, hard_limit: float = 10.0) -> Optional[str]:
    """The crash signature of an input, or None when the front end handles it."""
    try:
        with deadline(hard_limit):
            front_end(data)
    except Hang:
        return None
    except Exception as exc:  # noqa: BLE001 - every escaping exception is a finding
        return signature(exc)
    return None


def minimize(data: bytes, still_fails: Callable[[bytes], bool], budget_s: float = 20.0) -> bytes:
    """Delta-debugging light: drop lines, then shrinking chunks of bytes, while it still fails."""
    stop = time.monotonic() + budget_s
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and time.monotonic() < stop:
        trial = lines[:i] + lines[i + 1:]
        if trial and still_fails(b"\n".join(trial)):
            lines = trial
        else:
            i += 1
    data = b"\n".join(lines)
    chunk = max(1, len(data) // 4)
    while chunk >= 1 and time.monotonic() < stop:
        i, changed = 0, False
        while i < len(data) and time.monotonic() < stop:
            trial = data[:i] + data[i + chunk:]
            if trial and still_fails(trial):
                data, changed = trial, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return data


# ------------------------------------------------------------------ Hypothesis strategies
def claims():
    """Hypothesis: near-valid claim documents built from the grammar's constructs."""
    from hypothesis import strategies as st

    return st.randoms(use_true_random=False).map(lambda r: ClaimGen(r).document())


def mutants():
    """Hypothesis: byte mutations of the corpus files."""
    from hypothesis import strategies as st

    pool = seed_corpus()
    return st.tuples(st.sampled_from(pool), st.randoms(use_true_random=False)).map(
        lambda pair: mutate_bytes(pair[1], pair[0], pool))
