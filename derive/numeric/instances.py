"""Random instances that respect a claim's declarations.

Sizes go from 1 to moderate; scalars fall inside their bounds/intervals; matrices
are built to be invertible (condition number at most ``COND``), symmetric, spd/psd,
orthogonal, diagonal, … as declared; arbitrary smooth functions become small tanh
networks; random names are drawn from their distributions (``normal(μ, variance)``).
``assume`` conditions are met by bounded rejection: when no instance satisfies them the
caller reports *inconclusive* and says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import sympy as sp
import torch

from derive import model as m
from derive.analysis import SizeError, dim_at, reachable, sweep_values
from derive.numeric import adversarial
from derive.numeric.base import as_float as _num, scalar_range
from derive.numeric.lower import Evaluator, LoweringError, Value, rank
from derive.semantics import CheckedClaim, SymbolInfo, walk
from derive.vocabulary.distributions import Declined, args_of, law_of

COND = 10.0           # target condition number of 'invertible' matrices
SIZE_MENU = (1, 2, 3, 4, 5, 7, 8)
REJECTION_TRIES = 64
LARGE_INTEGER_OFFSETS = (60, 1000, 10 ** 6)  # integer scalars far from their lower bound
SIMPLE_VALUES = (1.0, 2.0, 0.5, -1.0, 3.0, -2.0, 0.25, 0.1, 0.9, 10.0, 0.0)


class Unsatisfiable(Exception):
    """No instance met the claim's assumptions within the rejection budget."""


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(seed)
    return g


@dataclass
class Instance:
    """One environment (batched values), with the sizes and parameters it used."""

    env: dict[str, Value]
    sizes: dict[str, int] = field(default_factory=dict)
    params: dict[str, float] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {**self.sizes, **{k: _rounded(v) for k, v in self.params.items()}}


def _rounded(v: Any) -> Any:
    """A parameter for the evidence (JSON): a complex value as text such as '0.5-1.2j'."""
    if isinstance(v, complex):
        return f"{v.real:.6g}{v.imag:+.6g}j"
    return round(v, 6)


# ---------------------------------------------------------------- shapes
def shape_of(info: SymbolInfo, sizes: dict[str, int]) -> tuple[int, ...]:
    """Concrete shape of a declared tensor from its symbolic dims."""
    out = []
    for d in info.vtype.shape:
        if d is None:
            raise LoweringError(f"the shape of '{info.text}' is unknown")
        out.append(concrete_dim(d, sizes))
    return tuple(out)


def concrete_dim(d: Any, sizes: dict[str, int]) -> int:
    """A SymPy size with the sizes substituted (:func:`derive.analysis.dim_at`)."""
    try:
        return int(dim_at(d, sizes))
    except SizeError as exc:
        raise LoweringError(f"size {d} has no value") from exc


def dim_names(checked: CheckedClaim) -> list[str]:
    """Free sizes: dims, integer scalars used in shapes, sweep variables."""
    names = []
    in_shapes = set()
    for v in checked.symbols.values():
        for d in (v.vtype.shape if v.role == "tensor" else ()):
            if d is not None and hasattr(d, "free_symbols"):
                in_shapes |= {s.name for s in d.free_symbols}
    for k, v in checked.symbols.items():
        if v.role in ("dim", "sweep") and not v.random:
            names.append(k)
        elif v.role == "scalar" and v.domain == "integer" and not v.random and k in in_shapes:
            names.append(k)
    return names


# ---------------------------------------------------------------- scalars
def excluded(info: SymbolInfo, ev: Evaluator) -> list[float]:
    spec = info.statement.type if isinstance(info.statement, m.Decl) else None
    out = []
    if isinstance(spec, m.ScalarType):
        out = [_num(ev.ev(b)) for op, b in spec.bounds if op == "!="]
        if "nonzero" in {p.name for p in spec.props}:
            out.append(0.0)
    return out


def draw_scalar(info: SymbolInfo, ev: Evaluator, g: torch.Generator, batch: int,
                simple: bool = False, large: bool = False, wild: bool = False) -> Value:
    """A value inside the declared domain; integers stay Python ints (shared by the batch).

    ``large`` (claims made of formulas only) lets an integer with no upper bound be far
    from its lower one (+60, +1000, +10⁶): ``log L · log n ≤ depth`` can fail only there.
    """
    lo, hi = scalar_range(info, ev)
    avoid = excluded(info, ev)
    if info.domain == "integer":
        a = int(math.ceil(lo)) if math.isfinite(lo) else (-4 if not math.isfinite(hi) else int(hi) - 8)
        b = int(math.floor(hi)) if math.isfinite(hi) else a + 8
        choices = [v for v in range(a, b + 1) if v not in avoid] or [a]
        if large and not math.isfinite(hi):
            choices = [a + k for k in LARGE_INTEGER_OFFSETS if a + k not in avoid] or choices
        elif wild:
            far = adversarial.wild_integer(a, b, math.isfinite(hi), avoid, g)
            if far is not None:
                return far
        return choices[int(torch.randint(len(choices), (1,), generator=g, device=g.device))]
    if simple:
        for c in SIMPLE_VALUES:
            if lo <= c <= hi and c not in avoid:
                return torch.full((batch,), c, dtype=ev.dtype, device=g.device)
    for _ in range(32):
        u = torch.rand(batch, generator=g, device=g.device, dtype=torch.float64)
        if math.isfinite(lo) and math.isfinite(hi):
            x = lo + (hi - lo) * (0.02 + 0.96 * u)
        elif math.isfinite(lo):
            x = lo + torch.exp(math.log(0.2) + u * math.log(15.0))  # loguniform offset 0.2..3
        elif math.isfinite(hi):
            x = hi - torch.exp(math.log(0.2) + u * math.log(15.0))
        else:
            sign = torch.where(torch.rand(batch, generator=g, device=g.device) < 0.5, -1.0, 1.0)
            x = sign.to(torch.float64) * torch.exp(math.log(0.2) + u * math.log(15.0))
        if all(bool((x - a).abs().min() > 0.05 * max(1.0, abs(a))) for a in avoid):
            break
    if wild and info.domain == "real":
        x = adversarial.special_reals(x, lo, hi, avoid, g, tame=wild == "tame")
    if info.domain == "complex":
        return x.to(ev.dtype) + 1j * torch.randn(batch, generator=g, device=g.device,
                                                 dtype=torch.float64).to(ev.dtype)
    return x.to(ev.dtype)


# ---------------------------------------------------------------- tensors
def _randn(g: torch.Generator, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(shape, generator=g, device=g.device, dtype=dtype)


def _orthogonal(g: torch.Generator, batch: int, n: int, k: int, dtype) -> torch.Tensor:
    q, r = torch.linalg.qr(_randn(g, (batch, n, k), dtype))
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


def structured(props: frozenset, shape: tuple[int, ...], g: torch.Generator, batch: int,
               dtype: torch.dtype, rank_arg: Optional[int] = None, wild: bool = False
               ) -> torch.Tensor:
    """A batch of tensors with the declared structure; ``wild`` adds extreme members
    (condition numbers up to 1e8, one-hot, signed permutations, the zero psd matrix)."""
    t = _structured(props, shape, g, batch, dtype, rank_arg, wild)
    return adversarial.wild_structured(props, t, g) if wild and props else t


def _log_spread(g: torch.Generator, batch: int, k: int, dtype: torch.dtype, wild: bool) -> torch.Tensor:
    """Log singular values/eigenvalues in [0, log COND] (wider when ``wild``)."""
    if wild:
        return adversarial.wild_log_cond(g, batch, k, dtype, COND)
    return torch.rand(batch, k, generator=g, device=g.device, dtype=dtype) * math.log(COND)


def _structured(props: frozenset, shape: tuple[int, ...], g: torch.Generator, batch: int,
                dtype: torch.dtype, rank_arg: Optional[int], wild: bool) -> torch.Tensor:
    if len(shape) != 2:
        t = _randn(g, (batch,) + shape, dtype)
        if "positive" in props:
            t = t.abs() + 0.1
        if "unit" in props:
            t = t / t.reshape(batch, -1).norm(dim=-1).reshape((batch,) + (1,) * len(shape))
        if "simplex" in props:
            t = torch.softmax(t.reshape(batch, -1), -1).reshape((batch,) + shape)
        return t
    a, b = shape
    n = a
    if "permutation" in props:
        if a != b:
            raise LoweringError(f"a permutation matrix must be square, not {a}×{b}")
        # uniformly random permutations: P[i, perm[i]] = 1, one per batch member
        perm = torch.argsort(torch.rand(batch, n, generator=g, device=g.device), dim=-1)
        return torch.nn.functional.one_hot(perm, n).to(dtype)
    if "orthogonal" in props or "semi_orthogonal" in props:
        if a >= b:
            return _orthogonal(g, batch, a, b, dtype)
        return _orthogonal(g, batch, b, a, dtype).transpose(-1, -2)
    if "diagonal" in props and a == b:
        d = _randn(g, (batch, n), dtype)
        if props & {"spd", "positive"}:
            d = d.abs() + 0.2
        elif props & {"invertible", "nonzero"}:
            d = torch.sign(d) * torch.exp(_log_spread(g, batch, n, dtype, wild))
        elif "psd" in props:
            d = d.abs()
        return torch.diag_embed(d)
    if props & {"spd", "psd"} and a == b:
        q = _orthogonal(g, batch, n, n, dtype)
        ev = torch.exp(_log_spread(g, batch, n, dtype, wild)) / 3
        if "psd" in props and "spd" not in props and n > 1:
            ev = ev * (torch.rand(batch, n, generator=g, device=g.device) > 0.3).to(dtype)
        return (q * ev.unsqueeze(-2)) @ q.transpose(-1, -2)
    if "symmetric" in props and a == b:
        if "invertible" in props:
            q = _orthogonal(g, batch, n, n, dtype)
            s = torch.exp(_log_spread(g, batch, n, dtype, wild))
            s = s * torch.sign(_randn(g, (batch, n), dtype))
            return (q * s.unsqueeze(-2)) @ q.transpose(-1, -2)
        t = _randn(g, (batch, n, n), dtype)
        t = (t + t.transpose(-1, -2)) / 2
        if "adjacency" in props:
            t = (t > 0).to(dtype) * (1 - torch.eye(n, dtype=dtype, device=g.device))
        return t
    if "adjacency" in props and a == b:
        t = _randn(g, (batch, n, n), dtype)
        t = ((t + t.transpose(-1, -2)) > 0).to(dtype)
        return t * (1 - torch.eye(n, dtype=dtype, device=g.device))
    if "invertible" in props or "full_rank" in props:
        k = min(a, b)
        u = _orthogonal(g, batch, a, k, dtype)
        v = _orthogonal(g, batch, b, k, dtype)
        s = torch.exp(_log_spread(g, batch, k, dtype, wild))
        s = s / math.sqrt(COND)
        return (u * s.unsqueeze(-2)) @ v.transpose(-1, -2)
    if "rank" in props and rank_arg is not None:
        r = max(0, min(rank_arg, a, b))
        return _randn(g, (batch, a, r), dtype) @ _randn(g, (batch, r, b), dtype) / math.sqrt(max(r, 1))
    t = _randn(g, (batch, a, b), dtype)
    if "positive" in props:
        t = t.abs() + 0.1
    return t


class SmoothNet:
    """An arbitrary smooth function: a small random tanh network, batched."""

    def __init__(self, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                 g: torch.Generator, dtype: torch.dtype, hidden: int = 8):
        self.in_shape, self.out_shape = in_shape, out_shape
        n_in = int(math.prod(in_shape)) if in_shape else 1
        n_out = int(math.prod(out_shape)) if out_shape else 1
        self.w1 = _randn(g, (n_in, hidden), dtype) / math.sqrt(n_in)
        self.b1 = _randn(g, (hidden,), dtype) * 0.5
        self.w2 = _randn(g, (hidden, n_out), dtype) / math.sqrt(hidden)
        self.b2 = _randn(g, (n_out,), dtype) * 0.5

    def __call__(self, *args: Value) -> torch.Tensor:
        x = args[0]
        if not isinstance(x, torch.Tensor):
            x = torch.tensor([float(x)], dtype=self.w1.dtype, device=self.w1.device)
        batch = x.shape[0]
        h = torch.tanh(x.reshape(batch, -1).to(self.w1.dtype) @ self.w1 + self.b1)
        y = h @ self.w2 + self.b2
        return y.reshape((batch,) + self.out_shape)


def _spec_shape(spec: Any, ev: Evaluator) -> tuple[int, ...]:
    if isinstance(spec, m.TensorType):
        return tuple(ev.as_int(ev.ev(d), "a size") for d in spec.shape)
    return ()


# ---------------------------------------------------------------- distributions
class BadParameter(LoweringError):
    """A distribution parameter outside its domain on an instance.  The semantic pass
    proves every parameter inside its domain from the declarations and ``assume`` lines,
    so this is met only on instances an ``assume`` rejects (drawn before the check) or
    through a gap of that proof: never a verdict, the numeric engine passes."""


def covariance_root(cov: torch.Tensor) -> torch.Tensor:
    """A factor R with R Rᵀ = cov for a positive *semi*definite covariance.

    Cholesky fails on a singular covariance (a declared ``psd`` matrix is often rank
    deficient), so: the eigendecomposition of the symmetric part, with eigenvalues that
    are negative only by rounding clipped to 0.  A clearly indefinite or non-symmetric
    matrix is not a covariance: that is an error, not a draw.
    """
    if cov.dim() != 2 or cov.shape[0] != cov.shape[1]:
        raise LoweringError(f"a covariance must be a square matrix, found shape {tuple(cov.shape)}")
    scale = float(cov.abs().max()) if cov.numel() else 0.0
    tol = 1e-9 * max(scale, 1e-300) * cov.shape[0]  # rounding of a float64 psd matrix
    if not bool(torch.isfinite(cov).all()) or float((cov - cov.T).abs().max()) > tol:
        raise BadParameter("the covariance of normal(μ, Σ) is not symmetric")
    vals, vecs = torch.linalg.eigh((cov + cov.T) / 2)
    if float(vals.min()) < -tol:
        raise BadParameter("the covariance of normal(μ, Σ) is not positive semidefinite "
                           f"(an eigenvalue is {float(vals.min()):.3g})")
    return vecs * vals.clamp(min=0).sqrt()


def _require(ok: Any, message: str, value: Any, invalid: list) -> None:
    """Record the batch members whose parameter is outside its domain (their draws become
    NaN; the assumptions reject them); raise when no member is valid."""
    if isinstance(ok, torch.Tensor) and ok.dim() > 0 and ok.shape[0] > 1 and bool(ok.any()):
        if not bool(ok.all()):
            invalid.append(~ok.reshape(ok.shape[0], -1).all(dim=1))
        return
    if isinstance(ok, torch.Tensor):
        ok = bool(ok.all())
    if not ok:
        shown = value if not isinstance(value, torch.Tensor) else value.reshape(-1)[:4].tolist()
        raise BadParameter(f"{message}, found {shown}")


def draw(dist: m.Expr, shape: tuple[int, ...], ev: Evaluator, g: torch.Generator,
         batch: int, dtype: torch.dtype) -> torch.Tensor:
    """``batch`` draws of a tensor of ``shape`` with iid entries (normal's 2nd arg = variance).

    Members whose parameters leave the distribution's domain draw NaN (see ``_require``)."""
    invalid: list = []
    out = _draw(dist, shape, ev, g, batch, dtype, invalid)
    for bad in invalid:
        out = out.masked_fill(bad.reshape((-1,) + (1,) * (out.dim() - 1)), float("nan"))
    return out


class _Draws:
    """The numeric engine's side of a law's sampler (see derive.vocabulary.Draws):
    seeded tensors of the full (batch, *shape) size, per-member parameters, and domain
    checks whose failures mark members invalid (``_require``)."""

    def __init__(self, ev: Evaluator, g: torch.Generator, batch: int,
                 shape: tuple[int, ...], dtype: torch.dtype, invalid: list) -> None:
        self.ev, self.g, self.batch, self.shape = ev, g, batch, shape
        self.full, self.dtype, self.device, self.invalid = (batch,) + shape, dtype, g.device, invalid

    def rand(self) -> torch.Tensor:
        return torch.rand(self.full, generator=self.g, device=self.device, dtype=self.dtype)

    def randn(self) -> torch.Tensor:
        return torch.randn(self.full, generator=self.g, device=self.device, dtype=self.dtype)

    def randbit(self) -> torch.Tensor:
        return torch.randint(0, 2, self.full, generator=self.g, device=self.device).to(self.dtype)

    def num(self, v: Value) -> Any:
        if isinstance(v, torch.Tensor):
            if v.is_complex():
                raise BadParameter("a distribution parameter must be real, found a complex value")
            if v.numel() == 1:
                return float(v.reshape(-1)[0])
            if v.dim() == 1 and v.shape[0] == self.batch:  # one parameter per batch member
                return v.to(self.dtype).reshape((self.batch,) + (1,) * len(self.shape))
            return v.to(self.dtype)
        if isinstance(v, complex):
            raise BadParameter("a distribution parameter must be real, found a complex value")
        return float(v)

    def vector(self, v: Value) -> torch.Tensor:
        return self.ev.tensor(v)[0].to(self.dtype)

    def is_matrix(self, v: Value) -> bool:
        return isinstance(v, torch.Tensor) and rank(v) == 2

    def mvn(self, mean: Any, cov: torch.Tensor) -> torch.Tensor:
        root = covariance_root(cov[0].to(torch.float64)).to(self.dtype)  # eigh in float64
        return (self.randn() @ root.transpose(-1, -2)) + \
            (mean[0] if isinstance(mean, torch.Tensor) else mean)

    def multinomial(self, p: torch.Tensor) -> torch.Tensor:
        idx = torch.multinomial(p, int(math.prod(self.full)), replacement=True, generator=self.g)
        return idx.to(self.dtype).reshape(self.full)

    def require(self, ok: Any, message: str, value: Any) -> None:
        _require(ok, message, value, self.invalid)


def _draw(dist: m.Expr, shape: tuple[int, ...], ev: Evaluator, g: torch.Generator,
          batch: int, dtype: torch.dtype, invalid: list) -> torch.Tensor:
    law = law_of(dist)
    if law is None:
        raise LoweringError(f"cannot draw from '{getattr(dist, 'func', dist)}'")
    try:
        sample = law.need("sample", "numeric")
    except Declined as exc:
        raise LoweringError(str(exc)) from exc
    return sample([ev.ev(a) for a in args_of(dist)], _Draws(ev, g, batch, shape, dtype, invalid))


# ---------------------------------------------------------------- environments
def needed_names(checked: CheckedClaim, statement: m.Expr) -> set[str]:
    """The names a statement and the claim's assumptions read (through definitions,
    functions, recurrences and distributions): what an instance must hold."""
    return reachable(checked, [statement, *assumptions(checked)], shapes=False)


def sample_environment(checked: CheckedClaim, sizes: dict[str, int], generator: torch.Generator,
                       device: torch.device, dtype: torch.dtype = torch.float64,
                       batch: int = 1, mc_batch: int = 0, params: Optional[dict[str, Value]] = None,
                       random_dtype: Optional[torch.dtype] = None, simple: bool = False,
                       only: Optional[set[str]] = None, large: bool = False, wild: bool = False,
                       steps: Optional[tuple[int, int]] = None) -> Instance:
    """One batched environment: ``batch`` deterministic instances (scalars, tensors), and
    ``mc_batch`` samples of the random names when ``mc_batch`` > 0 (then ``batch`` is 1).

    ``sizes`` fixes every dim; ``params`` may fix scalars (for Monte-Carlo parameter
    points and shrinking).  Assumptions are not checked here (see :func:`instances`).
    ``wild`` mixes interesting values into the batch (:mod:`derive.numeric.adversarial`);
    ``steps`` is the range recurrence steps are drawn from (default 0..11).
    ``only`` (see :func:`needed_names`) leaves out the tensors, functions and random
    names nothing reads: a 4-axis weight tensor beside ``numel(b) == F`` costs 10⁶ draws
    per instance otherwise.
    """
    env: dict[str, Value] = dict(sizes)
    ev = Evaluator(env, device, dtype, checked)
    inst = Instance(env, dict(sizes), {})
    params = params or {}
    for name, info in checked.symbols.items():
        if name in env:
            continue
        if name in params and info.role != "scalar":
            env[name] = params[name]  # a value fixed by the caller (Monte-Carlo chunks)
            continue
        if info.role == "scalar" and not info.random:
            v = params[name] if name in params else draw_scalar(info, ev, generator, batch, simple,
                                                                 large, wild if not simple else False)
            env[name] = v
            if isinstance(v, torch.Tensor):
                first = v.reshape(-1)[0]  # a complex scalar is kept complex (float() fails)
                inst.params[name] = complex(first) if first.is_complex() else float(first)
            elif isinstance(v, complex):
                inst.params[name] = v
            elif isinstance(v, (int, float)):
                inst.params[name] = float(v)
        elif info.role == "index":
            lo, hi = ev.e_Range(info.statement.type.range, {})
            if hi < lo:
                raise Unsatisfiable(f"the range of '{info.text}' is empty")
            # half the draws sit on an end of the range: claims fail at i = 1 or i = n
            # far more often than in the middle (boundary-value testing)
            pick = int(torch.randint(4, (1,), generator=generator, device=generator.device))
            env[name] = lo if pick == 0 else hi if pick == 1 else \
                lo + int(torch.randint(hi - lo + 1, (1,), generator=generator, device=generator.device))
            twin = _coincide(checked, name, env, lo, hi, generator)
            env[name] = env[name] if twin is None else twin
            inst.sizes[name] = env[name]
        elif info.role == "seq_index":
            lo_s, hi_s = steps or (0, 11)
            env[name] = params.get(name, lo_s + int(torch.randint(hi_s - lo_s + 1, (1,), generator=generator,
                                                                  device=generator.device)))
            inst.sizes[name] = env[name]
        elif info.role in ("tensor", "function") and only is not None and name not in only:
            continue  # not read by the statement or the assumptions: no draws, no memory
        elif info.role == "tensor" and not info.random:
            shape = shape_of(info, {**sizes, **{k: v for k, v in env.items() if isinstance(v, int)}})
            rank_arg = None
            spec = info.statement.type
            for p in getattr(spec, "props", ()):
                if p.name == "rank" and p.arg is not None:
                    rank_arg = ev.as_int(ev.ev(p.arg), "a rank")
            env[name] = structured(info.props, shape, generator, batch, dtype, rank_arg,
                                   wild and not simple)
            if not info.props and batch > 1:
                # plain tensors at several scales (0.1× to 10× for every other member): premises such as
                # ‖ΔW‖₂ ≤ √dout are met by some members, and scale-dependent errors show
                u = torch.rand(batch, generator=generator, device=generator.device, dtype=torch.float64)
                scale = torch.exp((2 * u - 1) * math.log(10.0))
                scale[::2] = 1.0  # every other member at unit scale, as before
                scale = scale.to(env[name].dtype)
                env[name] = env[name] * scale.reshape((batch,) + (1,) * (env[name].dim() - 1))
                if wild and not simple:
                    env[name] = adversarial.wild_plain(env[name], generator)
        elif info.role == "function":
            spec: m.FunctionType = info.statement.type
            env[name] = SmoothNet(_spec_shape(spec.domain, ev), _spec_shape(spec.codomain, ev),
                                  generator, dtype)
    if wild and not simple:
        adversarial.tie_scalars(env, checked, generator, lambda info: (scalar_range(info, ev),
                                                                       excluded(info, ev)))
    # random names last: their parameters may depend on the scalars above
    rdt = random_dtype or dtype
    n = mc_batch if mc_batch > 0 else batch
    for name, info in checked.symbols.items():
        if name in env or not info.random or info.role not in ("scalar", "tensor"):
            continue
        if only is not None and name not in only:
            continue  # not used by the statement: do not spend draws on it
        shape = shape_of(info, {**sizes, **{k: v for k, v in env.items() if isinstance(v, int)}}) \
            if info.role == "tensor" else ()
        env[name] = draw(info.dist, shape, ev, generator, n, rdt)
    return inst


def size_constraints_ok(checked: CheckedClaim, sizes: dict[str, int]) -> bool:
    """Every declared shape is positive for these sizes."""
    for info in checked.symbols.values():
        if info.role == "tensor":
            try:
                if any(d < 1 for d in shape_of(info, sizes)):
                    return False
            except (LoweringError, TypeError, ValueError):
                return False
    return True


def assumptions(checked: CheckedClaim) -> list[m.Expr]:
    return [st.condition for st in checked.claim.statements if isinstance(st, m.Assume)]


def holds(ev: Evaluator, conds: list[m.Expr]) -> torch.Tensor | bool:
    """Which batch members satisfy every assumption."""
    ok: Any = True
    for c in conds:
        v = ev.ev(c)
        v = v if isinstance(v, torch.Tensor) else torch.tensor([bool(v)])
        ok = v.bool() if ok is True else (ok & v.bool())
    return ok


def choose_sizes(checked: CheckedClaim, g: torch.Generator, fixed: Optional[dict[str, int]] = None,
                 menu: tuple[int, ...] = SIZE_MENU, tries: int = REJECTION_TRIES,
                 distinct: bool = False) -> dict[str, int]:
    """Dims from ``menu`` (sweeps from their lists) meeting the size-only assumptions.

    ``distinct`` prefers draws where the free dims differ (for the first half of the
    tries): equal sizes hide formulas like ``m = n − k + 1`` behind ``m = 1``.
    """
    fixed = dict(fixed or {})
    names = [n for n in dim_names(checked) if n not in fixed]
    ev0 = Evaluator({}, g.device, torch.float64, checked)
    conds = [c for c in assumptions(checked) if _only_sizes(c, checked)]
    free = [n for n in names if checked.symbols[n].role == "dim"]
    for attempt in range(tries):
        sizes = dict(fixed)
        for n in names:
            info = checked.symbols[n]
            if info.role == "sweep":
                vals = sweep_values(checked, info)
                sizes[n] = min(vals)
            elif info.role == "scalar":  # an integer scalar used in shapes (a padding)
                lo, hi = scalar_range(info, ev0)
                a = int(math.ceil(lo)) if math.isfinite(lo) else 0
                b = min(int(math.floor(hi)) if math.isfinite(hi) else a + 3, a + 3)
                sizes[n] = a + int(torch.randint(max(b - a + 1, 1), (1,), generator=g, device=g.device))
            else:
                sizes[n] = menu[int(torch.randint(len(menu), (1,), generator=g, device=g.device))]
        if distinct and attempt < tries // 2 and len({sizes[n] for n in free}) < min(len(free), len(menu)):
            continue
        if not size_constraints_ok(checked, sizes):
            continue
        ev = Evaluator(dict(sizes), g.device, torch.float64, checked)
        try:
            if all(bool(torch.as_tensor(ev.ev(c)).all()) for c in conds):
                return sizes
        except LoweringError:
            return sizes
    raise Unsatisfiable("no sizes satisfy the size assumptions")


def _only_sizes(c: m.Expr, checked: CheckedClaim) -> bool:
    sizes = set(dim_names(checked))
    for node in walk(c):
        if isinstance(node, m.Name):
            info = checked.symbols.get(node.id)
            if info is not None and node.id not in sizes:
                return False
    return True


def instances(checked: CheckedClaim, g: torch.Generator, device: torch.device, sizes: dict[str, int],
              batch: int, dtype: torch.dtype = torch.float64, simple: bool = False,
              params: Optional[dict[str, Value]] = None, large: bool = False,
              wild: bool = False, steps: Optional[tuple[int, int]] = None,
              only: Optional[set[str]] = None) -> tuple[Instance, Optional[torch.Tensor]]:
    """A batch of instances with the assumptions checked; returns the mask of valid members.

    Raises :class:`Unsatisfiable` when rejection finds none.
    """
    conds = assumptions(checked)
    for _ in range(8):
        inst = sample_environment(checked, sizes, g, device, dtype, batch=batch, params=params,
                                  simple=simple, large=large, wild=wild, steps=steps, only=only)
        if not conds:
            return inst, None
        ev = Evaluator(inst.env, device, dtype, checked)
        ok = holds(ev, conds)
        ok = ok.reshape(-1)
        if bool(ok.any()):
            return inst, ok
    raise Unsatisfiable("no random instance satisfied the assumptions "
                        f"({len(conds)} condition(s), {8 * batch} tries)")


def _coincide(checked, name: str, env: dict, lo: int, hi: int, generator) -> Optional[int]:
    """Every third draw of an index repeats an index drawn before it that lies in its
    range: a claim about entry [i, j] that fails only at i = j (a Jacobian's diagonal)
    is otherwise missed whenever the ends and the uniform draws never coincide."""
    earlier = [v for other, v in env.items() if other != name and isinstance(v, int) and
               getattr(checked.symbols.get(other), "role", None) == "index" and lo <= v <= hi]
    if not earlier or int(torch.randint(3, (1,), generator=generator, device=generator.device)) != 0:
        return None
    return earlier[int(torch.randint(len(earlier), (1,), generator=generator, device=generator.device))]
