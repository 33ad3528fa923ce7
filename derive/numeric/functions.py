"""Torch lowerings of the built-in functions of :mod:`derive.language.functions`.

Each lowering takes batched values (leading batch axis, see :mod:`derive.numeric.lower`)
and follows docs/semantics.md: 1-based axes, spectral norm for matrices, conv as
cross-correlation, thin SVD with ``X = U diag(S) Vᵀ``.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Optional

import torch
import torch.nn.functional as F

from derive import model as m
from derive.numeric import integrals as quadrature
from derive.numeric.base import (IllDefined, LoweringError, Value, is_tensor, leggauss, rank,
                                 reaches_stat, scalar_range)
from derive.numeric.lapack import lapack
from derive.semantics import walk
from derive.vocabulary.distributions import Declined, args_of, law_of

if TYPE_CHECKING:
    from derive.numeric.lower import Evaluator

ELEMENTWISE: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "abs": torch.abs, "sqrt": torch.sqrt, "exp": torch.exp, "log": torch.log,
    "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
    "relu": torch.relu, "sign": torch.sign, "floor": torch.floor, "ceil": torch.ceil,
    "conj": torch.conj,
    "softplus": lambda t: _softplus(t),
    "logsigmoid": F.logsigmoid,
    "gelu": lambda t: F.gelu(t, approximate="none"),
    "re": lambda t: t.real if t.is_complex() else t,
    "im": lambda t: t.imag if t.is_complex() else torch.zeros_like(t),
}


def _softplus(t: torch.Tensor) -> torch.Tensor:
    """log(1 + eˣ), exact to rounding for every x (torch's softplus returns x itself above
    a threshold, an approximation a '>' claim could trip over) and with the exact
    derivatives everywhere.  Written as max(x, 0) + log1p(e^{−|x|}) it has a seam at 0
    where autograd takes one-sided slopes (d/dx read 1, not σ(0) = 1/2); here each side
    has its own smooth formula, fed only its own side's inputs (the other side sees 0),
    so no branch's derivative is a subgradient or an inf·0."""
    pos = t > 0
    zero = torch.zeros_like(t)
    hi, lo = torch.where(pos, t, zero), torch.where(pos, zero, t)
    return torch.where(pos, hi + torch.log1p(torch.exp(-hi)), torch.log1p(torch.exp(lo)))


def flat(t: torch.Tensor) -> torch.Tensor:
    """All entries of each batch element in one axis."""
    return t.reshape(t.shape[0], -1)


def axis_of(ev: Evaluator, e: m.Call, scope: dict) -> Any:
    a = e.kwarg("axis")
    return None if a is None else ev.as_int(ev.ev(a, scope), "an axis")


def call(ev: Evaluator, e: m.Call, scope: dict) -> Value:
    """Evaluate a built-in call (dispatch on the name)."""
    f = e.func
    binders = [(k, v) for k, v in e.kwargs if isinstance(v, m.Range)]
    if binders:
        return binder(ev, e, binders, scope)
    if f == "argmin" or f == "argmax":
        return optimise(ev, e, scope)
    if f == "grad":
        return gradient(ev, e, scope)
    if f == "jacobian":
        return jacobian(ev, e, scope)
    if f in ("logpdf", "pdf", "cdf", "KL"):
        return density(ev, e, scope)
    if f == "norm":
        return norm(ev, e, scope)
    if f in ("I", "zeros", "ones"):
        dims = [ev.as_int(ev.ev(a, scope), "a size") for a in e.args]
        if f == "I":
            return torch.eye(dims[0], dtype=ev.dtype, device=ev.device).unsqueeze(0)
        fill = torch.zeros if f == "zeros" else torch.ones
        return fill(1, *dims, dtype=ev.dtype, device=ev.device)
    args = [ev.ev(a, scope) for a in e.args]
    if f in ELEMENTWISE:
        x = ev.tensor(args[0])
        out = ELEMENTWISE[f](x)
        if f == "exp" and x.dtype != torch.bool:
            # exp(x) carries an absolute rounding error of about |exp(x)|·|x|·eps (the
            # argument's own error, amplified): e^{iπ·a/(a−b)} for a ≈ b is far from exact
            ev.note_scale(out.abs() * x.abs())
        return out
    handler = HANDLERS.get(f)
    if handler is None:
        raise LoweringError(f"no numeric lowering for '{f}'")
    return handler(ev, e, scope, args)


# ---------------------------------------------------------------- reductions
def _reduce(fn: Callable, ev: Evaluator, e: m.Call, scope: dict, x: Value) -> Value:
    t = ev.tensor(x)
    axis = axis_of(ev, e, scope)
    if axis is None or rank(t) == 0:
        return fn(flat(t), -1)
    return fn(t, axis)


def h_sum(ev, e, scope, args):
    return _reduce(lambda t, d: t.sum(d), ev, e, scope, args[0])


def h_prod(ev, e, scope, args):
    return _reduce(lambda t, d: t.prod(d), ev, e, scope, args[0])


def h_mean(ev, e, scope, args):
    return _reduce(lambda t, d: t.mean(d), ev, e, scope, args[0])


def h_logsumexp(ev, e, scope, args):
    return _reduce(lambda t, d: torch.logsumexp(t, d), ev, e, scope, args[0])


def h_softmax(ev, e, scope, args):
    t = ev.tensor(args[0])
    axis = axis_of(ev, e, scope)
    if rank(t) <= 1:
        return torch.softmax(t, -1) if rank(t) == 1 else torch.ones_like(t)
    return torch.softmax(t, axis if axis is not None else -1)


def _maxmin(big: bool):
    def h(ev, e, scope, args):
        if len(args) == 1:
            t = flat(ev.tensor(args[0]))
            return t.amax(-1) if big else t.amin(-1)
        if not any(is_tensor(a) for a in args):
            return max(args) if big else min(args)
        out = args[0]
        for a in args[1:]:
            x, y = ev.align(ev.tensor(out), ev.tensor(a))
            out = torch.maximum(x, y) if big else torch.minimum(x, y)
        return out
    return h


def h_rms(ev, e, scope, args):
    t = flat(ev.tensor(args[0]))
    return (t * t).mean(-1).sqrt()


def as_mat(t: torch.Tensor) -> torch.Tensor:
    """A 1×1 result was made a scalar; matrix functions take it back as 1×1."""
    if rank(t) == 0 or (rank(t) == 1 and t.shape[1] == 1):
        return t.reshape(t.shape[0], 1, 1)
    return t




def h_trace(ev, e, scope, args):
    return torch.diagonal(as_mat(ev.tensor(args[0])), dim1=-2, dim2=-1).sum(-1)


def h_det(ev, e, scope, args):
    t = as_mat(ev.tensor(args[0]))
    ev.note_cond(t)
    return lapack(torch.linalg.det, t)


def h_logdet(ev, e, scope, args):
    t = as_mat(ev.tensor(args[0]))
    ev.note_cond(t)
    return lapack(torch.logdet, t)


def h_rank(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 1:
        t = t.unsqueeze(-1)
    return lapack(torch.linalg.matrix_rank, t).to(ev.dtype)


def h_numel(ev, e, scope, args):
    t = ev.tensor(args[0])
    return int(flat(t).shape[1]) if rank(t) > 0 else 1


def h_dot(ev, e, scope, args):
    return ev.inner(args[0], args[1])


# ---------------------------------------------------------------- linear algebra
def h_inv(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 0:
        return 1.0 / t
    ev.note_cond(t)
    return lapack(torch.linalg.inv, t)


def h_pinv(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 1:
        return lapack(torch.linalg.pinv, t.unsqueeze(-1))[:, 0, :]
    return lapack(torch.linalg.pinv, t)


def h_matpow(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 0:
        return ev.power(t, args[1])
    ev.note_cond(t)
    return ev.matpow(t, args[1])


def h_diag(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 1:
        return torch.diag_embed(t)
    if rank(t) == 0:
        return t
    return torch.diagonal(t, dim1=-2, dim2=-1)


def h_vec(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 2:
        return t.transpose(-1, -2).reshape(t.shape[0], -1)
    return flat(t)


def _as_matrix(t: torch.Tensor) -> torch.Tensor:
    return t.unsqueeze(-1) if rank(t) == 1 else t


def h_kron(ev, e, scope, args):
    a, b = ev.tensor(args[0]), ev.tensor(args[1])
    if rank(a) == 0 or rank(b) == 0:
        return ev.elementwise(a, b, lambda x, y: x * y)
    vec = rank(a) == 1 and rank(b) == 1
    A, B = _as_matrix(a), _as_matrix(b)
    out = torch.einsum("bij,bkl->bikjl", A, B)
    out = out.reshape(out.shape[0], A.shape[1] * B.shape[1], A.shape[2] * B.shape[2])
    return out[..., 0] if vec else out


def h_outer(ev, e, scope, args):
    a, b = flat(ev.tensor(args[0])), flat(ev.tensor(args[1]))
    return a.unsqueeze(-1) * b.unsqueeze(-2)


def h_concat(ev, e, scope, args):
    ts = [ev.tensor(a) for a in args]
    axis = axis_of(ev, e, scope) or 1
    batch = max(t.shape[0] for t in ts)
    ts = [t.expand(batch, *t.shape[1:]) if rank(t) > 0 else t.expand(batch).unsqueeze(-1)
          for t in ts]
    try:
        return torch.cat(ts, dim=axis)
    except RuntimeError as exc:
        raise IllDefined(f"the parts do not fit together: shapes "
                         f"{[tuple(t.shape[1:]) for t in ts]}") from exc


def _matrix_arg(ev, e, args) -> torch.Tensor:
    """The batched matrix argument of a decomposition: a vector or scalar would be
    decomposed across the batch of instances, mixing them, so it is refused."""
    t = ev.tensor(args[0])
    if rank(t) != 2:
        raise LoweringError(f"{e.func} needs a matrix, found a {'vector' if rank(t) == 1 else 'scalar'}")
    return t


def h_svd(ev, e, scope, args):
    U, S, Vh = lapack(torch.linalg.svd, _matrix_arg(ev, e, args), full_matrices=False)
    return (U, S, Vh.transpose(-1, -2))


def _real_if_close(t: torch.Tensor) -> torch.Tensor:
    if t.is_complex() and bool((t.imag.abs() <= 1e-9 * (1 + t.abs())).all()):
        return t.real
    return t


def h_eigvals(ev, e, scope, args):
    t = _matrix_arg(ev, e, args)
    if bool(torch.allclose(t, t.transpose(-1, -2))):
        return lapack(torch.linalg.eigvalsh, t)
    return _real_if_close(lapack(torch.linalg.eigvals, t))


def h_eig(ev, e, scope, args):
    t = _matrix_arg(ev, e, args)
    if bool(torch.allclose(t, t.transpose(-1, -2))):
        vals, vecs = lapack(torch.linalg.eigh, t)
        return (vals, vecs)
    vals, vecs = lapack(torch.linalg.eig, t)
    return (_real_if_close(vals), _real_if_close(vecs))


def h_fft(ev, e, scope, args):
    return torch.fft.fft(ev.tensor(args[0]), dim=-1)


def h_ifft(ev, e, scope, args):
    return torch.fft.ifft(ev.tensor(args[0]), dim=-1)


def h_pad(ev, e, scope, args):
    t = ev.tensor(args[0])
    p = ev.as_int(args[1], "a padding")
    return F.pad(t, (p, p) * rank(t))


# ---------------------------------------------------------------- convolution
def _conv_args(ev: Evaluator, e: m.Call, scope: dict) -> tuple[int, int]:
    s = e.kwarg("stride")
    p = e.kwarg("padding")
    stride = 1 if s is None else ev.as_int(ev.ev(s, scope), "a stride")
    padding = 0 if p is None else ev.as_int(ev.ev(p, scope), "a padding")
    return stride, padding


def h_convolve(ev, e, scope, args):
    """True convolution: conv with the kernel's spatial axes reversed (docs/semantics.md)."""
    x, w = ev.tensor(args[0]), ev.tensor(args[1])
    spatial = rank(x) - 1 if rank(w) == rank(x) + 1 else rank(w)
    return h_conv(ev, e, scope, [x, torch.flip(w, tuple(range(w.dim() - spatial, w.dim())))])


def h_conv_channels(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int,
                    groups: int) -> torch.Tensor:
    """x : (B, C, …), w : (B, F, C/g, …) → (B, F, out…); a kernel per batch member runs
    as one grouped convolution of the batch stacked along the channels."""
    dims = rank(x) - 1
    conv = F.conv1d if dims == 1 else F.conv2d
    c, f, per = x.shape[1], w.shape[1], w.shape[2]
    if c != per * groups or f % groups:
        raise LoweringError(f"conv: {c} channels do not fit a kernel reading {per} per group "
                            f"× {groups} groups into {f} outputs")
    if w.shape[0] == 1:
        return conv(x, w[0], stride=stride, padding=padding, groups=groups)
    batch = max(x.shape[0], w.shape[0])
    xs = x.expand(batch, *x.shape[1:]).reshape(1, batch * c, *x.shape[2:])
    ws = w.expand(batch, *w.shape[1:]).reshape(batch * f, per, *w.shape[3:])
    out = conv(xs, ws, stride=stride, padding=padding, groups=batch * groups)
    return out.reshape(batch, f, *out.shape[2:])


def h_conv(ev, e, scope, args):
    """Cross-correlation (no kernel flip), 1-D or 2-D, single channel or with channels
    (w one axis more than x, ``groups = g``), batched."""
    x, w = ev.tensor(args[0]), ev.tensor(args[1])
    stride, padding = _conv_args(ev, e, scope)
    dims = rank(x)
    g = e.kwarg("groups")
    groups = 1 if g is None else ev.as_int(ev.ev(g, scope), "a number of groups")
    if rank(w) == dims + 1 and dims in (2, 3) and groups >= 1:
        return h_conv_channels(x, w, stride, padding, groups)
    if groups != 1:
        raise LoweringError("conv(…, groups = g) needs channels")
    if dims not in (1, 2) or rank(w) != dims:
        raise LoweringError("conv needs two vectors or two matrices")
    conv = F.conv1d if dims == 1 else F.conv2d
    bx, bw = x.shape[0], w.shape[0]
    if bw == 1:
        out = conv(x.unsqueeze(1), w.unsqueeze(1), stride=stride, padding=padding)
        return out[:, 0]
    # a kernel per batch member (Monte-Carlo samples): strided patch views and one
    # batched contraction (im2col is slow for many small images)
    batch = max(bx, bw)
    if dims == 1:
        x, w = x.unsqueeze(1), w.unsqueeze(1)  # as 1 × n images
        pad, st = (0, padding), (1, stride)
    else:
        pad, st = (padding, padding), (stride, stride)
    kh, kw = w.shape[-2], w.shape[-1]
    if pad[0] or pad[1]:
        x = F.pad(x, (pad[1], pad[1], pad[0], pad[0]))
    patches = x.unfold(-2, kh, st[0]).unfold(-2, kw, st[1])          # (B, oh, ow, kh, kw)
    patches = patches.expand(batch, *patches.shape[1:])
    out = torch.einsum("bijkl,bkl->bij", patches, w.expand(batch, kh, kw))
    return out[:, 0] if dims == 1 else out


def _pool(kind: str):
    def h(ev, e, scope, args):
        x = ev.tensor(args[0])
        k = ev.as_int(args[1], "a pool size")
        s = e.kwarg("stride")
        stride = k if s is None else ev.as_int(ev.ev(s, scope), "a stride")
        dims = rank(x)
        fn = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d,
              ("avg", 1): F.avg_pool1d, ("avg", 2): F.avg_pool2d}.get((kind, dims))
        if fn is None:
            raise LoweringError("pooling needs a vector or a matrix")
        return fn(x.unsqueeze(1), k, stride=stride)[:, 0]
    return h


# ---------------------------------------------------------------- combinatorics
def h_binomial(ev, e, scope, args):
    n, k = args
    if isinstance(n, int) and isinstance(k, int):
        return math.comb(n, k) if 0 <= k <= n else 0
    n, k = ev.tensor(n), ev.tensor(k)
    return torch.exp(torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(n - k + 1))


def h_factorial(ev, e, scope, args):
    n = args[0]
    if isinstance(n, int) and 0 <= n <= 170:
        return float(math.factorial(n))
    return torch.exp(torch.lgamma(ev.tensor(n) + 1))


# ---------------------------------------------------------------- binders
def binder(ev: Evaluator, e: m.Call, binders: list, scope: dict) -> Value:
    """``sum(i = 1..n, body)``, ``prod(…)`` by iteration; ``integrate`` by quadrature."""
    if e.func == "integrate":
        return integrate(ev, e, binders, scope)
    if e.func not in ("sum", "prod"):
        raise LoweringError(f"{e.func} takes no index binder")

    def loop(k: int, sc: dict, acc: Value) -> Value:
        if k == len(binders):
            v = ev.ev(e.args[0], sc)
            if tracked[0] is not None and isinstance(v, torch.Tensor) and v.numel() \
                    and v.dtype != torch.bool:
                mag = v.detach().abs().reshape(v.shape[0], -1).amax(-1).to(torch.float64)
                mag = torch.where(torch.isfinite(mag), mag, torch.zeros_like(mag))
                if mag.shape[0] not in (1, tracked[0].shape[0]):
                    mag = mag.amax().reshape(1)
                tracked[0] = torch.maximum(tracked[0], mag)
            if acc is None:
                return v
            return ev.binop("+" if e.func == "sum" else "*", acc, v)
        name, rng = binders[k]
        lo, hi = ev.e_Range(rng, sc)
        for i in range(lo, hi + 1):
            acc = loop(k + 1, {**sc, name: i}, acc)
        return acc

    tracked = [ev.scale]  # per-node tracking is costly in loops: track each term instead
    ev.scale = None
    try:
        out = loop(0, dict(scope), None)
    finally:
        ev.scale = tracked[0]
    if out is None:
        return 0 if e.func == "sum" else 1
    return out


def integrate(ev: Evaluator, e: m.Call, binders: list, scope: dict) -> Value:
    """Tanh-sinh quadrature with an error estimate (:mod:`derive.numeric.integrals`); the
    estimate is recorded on the evaluator (``quad_error``) and widens the tolerance of the
    comparison; an integral that does not converge (divergent) is undefined (NaN)."""

    if len(binders) != 1:
        raise LoweringError("integrate takes one variable")
    name, rng = binders[0]
    lo, hi = float(ev.tensor(ev.ev(rng.lo, scope)).reshape(-1)[0]), \
        float(ev.tensor(ev.ev(rng.hi, scope)).reshape(-1)[0])
    batched = [False]

    def f(x: torch.Tensor) -> torch.Tensor:
        with ev.untracked():
            vals = ev.tensor(ev.ev(e.args[0], {**scope, name: x.to(ev.dtype)}))
        if vals.shape[0] != x.shape[0]:
            if vals.shape[0] == 1:
                return vals.expand((x.shape[0],) + tuple(vals.shape[1:]))
            batched[0] = True
            raise LoweringError("integrate over a batched environment is not supported")
        return vals

    est = quadrature.integrate(f, lo, hi, ev.dtype, ev.device)
    top = ev
    while getattr(top, "parent", None) is not None:
        top = top.parent
    top.quad_error = max(getattr(top, "quad_error", 0.0), est.error if est.converged else 0.0)
    if not est.converged:
        top.quad_divergent = True
    return est.value.to(ev.dtype) if not est.value.is_complex() else est.value


# ---------------------------------------------------------------- grad, argmin
def _traced(ev: Evaluator, e: m.Call, scope: dict, what: str) -> tuple:
    """``f`` evaluated at a copy of ``x`` that autograd tracks (one copy per batch member
    when ``x`` is shared by a batch); returns ``(f, x, x0)`` with ``x0`` the value given."""
    target = e.args[1]
    if not isinstance(target, m.Name):
        raise LoweringError(f"{what}(f, x) needs a name as x")
    x0 = ev.tensor(ev.lookup(target.id, scope))
    dtype = ev.dtype if not x0.is_complex() else x0.dtype
    # inside an outer grad over the same name (grad(grad(f, x) · v, x)) x0 is that trace's
    # variable: differentiate through it, or the outer gradient loses the inner one
    outer = x0.requires_grad
    x = x0.to(dtype) if outer else x0.detach().clone().to(dtype).requires_grad_(True)

    def at(x: torch.Tensor) -> torch.Tensor:
        if target.id in scope:
            return ev.tensor(ev.ev(e.args[0], {**scope, target.id: x}))
        return ev.tensor(ev.child({target.id: x}).ev(e.args[0], dict(scope)))
    f = at(x)
    if f.shape[0] > 1 and x.shape[0] == 1:
        # x is shared by a batch (a parameter, with Monte-Carlo samples): one copy per
        # member, so that each member gets its own gradient rather than the batch's sum
        shape = (f.shape[0],) + tuple(x.shape[1:])
        x = x.expand(shape) if outer else x.detach().expand(shape).clone().requires_grad_(True)
        f = at(x)
    return f, x, x0


def gradient(ev: Evaluator, e: m.Call, scope: dict) -> Value:
    """``grad(f, x)`` by autograd (graph kept so it can be differentiated again)."""
    with torch.enable_grad():
        f, x, x0 = _traced(ev, e, scope, "grad")
        if rank(f) != 0:
            if flat(f).shape[1] != 1:
                raise LoweringError("grad(f, x) needs a scalar f")
            f = f.reshape(f.shape[0])
        if not f.requires_grad:
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(f.sum(), x, create_graph=torch.is_grad_enabled() and x0.requires_grad)
    return g


def jacobian(ev: Evaluator, e: m.Call, scope: dict) -> Value:
    """``jacobian(f, x)``: entry [i, j] = ∂fᵢ/∂xⱼ (numerator layout), one autograd pass
    per entry of f; a scalar f or x counts as one entry (the result is a matrix)."""
    if ev.checked is not None and reaches_stat(e.args[0], ev.checked):
        raise LoweringError("jacobian of a statistic (an estimate has no Jacobian here)")
    with torch.enable_grad():
        f, x, x0 = _traced(ev, e, scope, "jacobian")
        if rank(f) > 1 or rank(x) > 1:
            raise LoweringError("jacobian(f, x) needs a scalar or a vector f and x")
        rows = flat(f) if rank(f) == 1 else f.reshape(f.shape[0], 1)
        batch, n = max(rows.shape[0], x.shape[0]), (x.shape[1] if rank(x) == 1 else 1)
        keep = torch.is_grad_enabled() and x0.requires_grad
        out = []
        for i in range(rows.shape[1]):
            g = None
            if rows.requires_grad:
                (g,) = torch.autograd.grad(rows[:, i].sum(), x, retain_graph=True,
                                           create_graph=keep, allow_unused=True)
            out.append(torch.zeros(batch, n, dtype=x.dtype, device=x.device) if g is None
                       else g.reshape(g.shape[0], n).expand(batch, n))
    return torch.stack(out, 1)


def optimise(ev: Evaluator, e: m.Call, scope: dict) -> Value:
    """1-D argmin/argmax over the variable's feasible set (its declared domain and every
    ``assume`` that mentions it, docs/semantics.md): a grid, then golden-section refinement
    inside the feasible set."""
    var = e.args[0]
    if not isinstance(var, m.Name):
        raise LoweringError(f"{e.func} needs a variable")
    lo, hi = -1e4, 1e4
    info = ev.checked.symbols.get(var.id) if ev.checked is not None else None
    current = scope.get(var.id, ev.env.get(var.id))
    if isinstance(current, torch.Tensor) and rank(current) > 0:
        return optimise_tensor(ev, e, scope, var.id, current)
    if info is not None and info.role == "scalar":
        lo, hi = scalar_range(info, ev, wide=True)
    sign = 1.0 if e.func == "argmin" else -1.0
    conditions = _conditions_on(ev, var.id)

    def f(points: torch.Tensor) -> torch.Tensor:
        at = {**scope, var.id: points}
        with ev.untracked():
            v = ev.tensor(ev.ev(e.args[1], at))
            v = sign * v.reshape(v.shape[0], -1)[:, 0]
            for c in conditions:  # outside the feasible set: never a candidate
                ok = ev.ev(c, at)
                ok = ok.reshape(-1) if isinstance(ok, torch.Tensor) else torch.tensor([bool(ok)])
                v = torch.where(ok.to(v.device).bool().expand(v.shape[0]), v,
                                torch.full_like(v, math.inf))
        return v

    if getattr(getattr(getattr(info, "statement", None), "type", None), "kind", "") == "integer":
        # an integer variable: every integer of the (clipped) domain, no refinement
        ilo, ihi = math.ceil(max(lo, -1e4)), math.floor(min(hi, 1e4))
        if ihi < ilo:
            raise LoweringError(f"{e.func}: the domain of {var.id} holds no integer")
        points = torch.arange(ilo, ihi + 1, dtype=ev.dtype, device=ev.device)
        vals = torch.nan_to_num(f(points), nan=math.inf)
        i = int(torch.argmin(vals))
        if not math.isfinite(float(vals[i])):
            raise LoweringError(f"{e.func}: no feasible integer value of {var.id}")
        return float(points[i])
    mags = torch.logspace(-6, 4, 400, dtype=ev.dtype, device=ev.device)
    grid = torch.cat([-mags.flip(0), torch.zeros(1, dtype=ev.dtype, device=ev.device), mags])
    grid = grid[(grid >= lo) & (grid <= hi)]
    extra = torch.linspace(lo if math.isfinite(lo) else -10.0, hi if math.isfinite(hi) else 10.0,
                           401, dtype=ev.dtype, device=ev.device)
    # a fine grid near the origin too (a narrow global dip at η = 3 falls between the
    # points of a grid over ±10⁴), inside the domain
    flo = max(lo, -10.0)
    fhi = min(hi, 10.0)
    fine = torch.linspace(flo, fhi, 4001, dtype=ev.dtype, device=ev.device) if fhi > flo else extra[:0]
    grid = torch.unique(torch.cat([grid, extra, fine]))
    vals = f(grid)
    if vals.shape[0] != grid.shape[0]:
        raise LoweringError(f"{e.func} over a batched environment is not supported")
    vals = torch.nan_to_num(vals, nan=math.inf)
    i = int(torch.argmin(vals))
    if not math.isfinite(float(vals[i])):
        raise LoweringError(f"{e.func}: no feasible point of {var.id} found on the search grid")
    a = float(grid[max(i - 1, 0)])
    b = float(grid[min(i + 1, grid.shape[0] - 1)])
    best, best_value = float(grid[i]), float(vals[i])
    if conditions:
        # an optimum on the boundary of an assumption: bisect each infeasible bracket end
        # towards the grid's best point, so the bracket is feasible throughout (a convex
        # objective is then refined to the boundary itself)
        a, b = (_feasible_end(f, best, a), _feasible_end(f, best, b))
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(100):
        c, d = b - phi * (b - a), a + phi * (b - a)
        fc, fd = f(torch.tensor([c, d], dtype=ev.dtype, device=ev.device)).tolist()
        if fc <= fd:
            b = d
        else:
            a = c
        if b - a <= 1e-13 * max(1.0, abs(a)):
            break
    x = (a + b) / 2
    fx = float(f(torch.tensor([x], dtype=ev.dtype, device=ev.device))[0])
    return x if fx <= best_value else best


def _feasible_end(f: Callable[[torch.Tensor], torch.Tensor], inside: float, end: float) -> float:
    """The point nearest ``end`` on the segment from the feasible ``inside`` at which ``f``
    is finite (feasible), to within rounding: ``end`` itself when it is feasible."""
    probe = torch.tensor([end], dtype=torch.float64)
    if math.isfinite(float(f(probe)[0])):
        return end
    good, bad = inside, end
    for _ in range(200):
        mid = (good + bad) / 2
        if mid in (good, bad):
            break
        if math.isfinite(float(f(torch.tensor([mid], dtype=torch.float64))[0])):
            good = mid
        else:
            bad = mid
    return good


def _conditions_on(ev: Evaluator, name: str) -> list[m.Expr]:
    """The claim's assumptions that mention ``name``: with its declared type they make up
    the feasible set of ``argmin(name, …)``."""
    if ev.checked is None:
        return []
    return [st.condition for st in ev.checked.claim.statements
            if isinstance(st, m.Assume) and any(isinstance(n, m.Name) and n.id == name
                                                for n in walk(st.condition))]


def feasible(ev: Evaluator, e: m.Call, point: Value) -> torch.Tensor:
    """Per member: whether ``point`` lies in the feasible set of the optimiser ``e``
    (the declared range of a scalar variable and every assumption that mentions it)."""
    name = e.args[0].id
    ok = torch.ones(1, dtype=torch.bool)
    info = ev.checked.symbols.get(name) if ev.checked is not None else None
    if info is not None and info.role == "scalar" and isinstance(point, torch.Tensor | float | int):
        lo, hi = scalar_range(info, ev, wide=True)
        p = torch.as_tensor(point, dtype=torch.float64).reshape(-1).cpu()
        ok = (p >= lo) & (p <= hi)
        if getattr(getattr(info.statement, "type", None), "kind", "") == "integer":
            ok = ok & (p == p.round())  # an integer variable: 1/2 is no candidate
    for c in _conditions_on(ev, name):
        v = ev.ev(c, {name: point})
        v = v.reshape(-1).bool().cpu() if isinstance(v, torch.Tensor) else torch.tensor([bool(v)])
        ok = ok & v if ok.shape == v.shape or v.numel() == 1 or ok.numel() == 1 else ok & v.all()
    return ok


RESTARTS = 2            # random starting points of a tensor argmin, beside zero
RESTART_ITERATIONS = 15  # a restart is polished only when this many steps already beat zero's


def optimise_tensor(ev: Evaluator, e: m.Call, scope: dict, name: str, current: torch.Tensor
                    ) -> torch.Tensor:
    """argmin/argmax over a tensor variable: L-BFGS from zero, and from RESTARTS
    deterministic random points (scales 1 and 10) run for RESTART_ITERATIONS steps and
    polished only if they already beat zero's answer — one local search from zero stops at
    whatever stationary point zero is (Σ(wᵢ² − 1)² has a maximum there), while on a convex
    objective a short restart never beats the converged run and costs little.

    A feasible set narrower than the whole space (a property or bound on the variable, an
    assumption that mentions it) is not searched: the lowering declines.
    """
    info = ev.checked.symbols.get(name) if ev.checked is not None else None
    spec = getattr(getattr(info, "statement", None), "type", None)
    if _conditions_on(ev, name) or getattr(spec, "props", ()) or getattr(spec, "bounds", ()):
        raise LoweringError(f"{e.func} over a constrained tensor variable {name} is not "
                            "searched numerically")
    sign = 1.0 if e.func == "argmin" else -1.0

    def objective(x: torch.Tensor) -> torch.Tensor:
        with ev.untracked():
            v = ev.tensor(ev.ev(e.args[1], {**scope, name: x}))
        return sign * v.sum()

    def value(x: torch.Tensor) -> float:
        with torch.no_grad():
            return float(objective(x))

    x0 = torch.zeros_like(current, dtype=torch.float64)
    best = lbfgs(objective, x0)
    best_value = value(best)
    # the starts depend on the shape only: the same instance gives the same answer
    g = torch.Generator(device="cpu").manual_seed(1_000_003 + x0.numel())
    for scale in (1.0, 10.0)[:RESTARTS]:
        start = (torch.randn(x0.shape, generator=g, dtype=torch.float64) * scale).to(x0.device)
        x = lbfgs(objective, start, max_iter=RESTART_ITERATIONS)
        if not value(x) < best_value - 1e-9 * abs(best_value):
            continue
        x = lbfgs(objective, x)
        if value(x) < best_value:
            best, best_value = x, value(x)
    return best


def lbfgs(objective: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, max_iter: int = 100,
          tolerance_grad: float = 1e-12, tolerance_change: float = 1e-15,
          history: int = 100) -> torch.Tensor:
    """L-BFGS with a strong-Wolfe line search: ``torch.optim.LBFGS``'s algorithm, written out.

    ``torch.optim`` optimisers import TorchDynamo when constructed (seconds per worker
    process); the line search is torch's own, which is a plain function.
    """
    from torch.optim.lbfgs import _strong_wolfe
    shape = x0.shape

    def value_grad(flat: torch.Tensor) -> tuple[float, torch.Tensor]:
        x = flat.detach().reshape(shape).clone().requires_grad_(True)
        with torch.enable_grad():
            loss = objective(x)
            if not loss.requires_grad:
                return float(loss), torch.zeros_like(flat)
            (grad,) = torch.autograd.grad(loss, x)
        return float(loss.detach()), grad.reshape(-1).detach()

    def directional(flat: torch.Tensor, t: float, d: torch.Tensor) -> tuple[float, torch.Tensor]:
        return value_grad(flat + t * d)

    x = x0.detach().reshape(-1).clone()
    f, g = value_grad(x)
    if not math.isfinite(f) or float(g.abs().max()) <= tolerance_grad:
        return x.reshape(shape)
    dirs: list[torch.Tensor] = []
    steps: list[torch.Tensor] = []
    ro: list[float] = []
    h_diag = 1.0
    d = -g
    t = 1.0
    prev_g = g
    evals, max_eval = 1, int(max_iter * 1.25)
    for n_iter in range(1, max_iter + 1):
        if n_iter == 1:
            d = -g
        else:
            y = g - prev_g
            s = d * t
            ys = float(y.dot(s))
            if ys > 1e-10:
                if len(dirs) == history:
                    dirs.pop(0), steps.pop(0), ro.pop(0)
                dirs.append(y)
                steps.append(s)
                ro.append(1.0 / ys)
                h_diag = ys / float(y.dot(y))
            q = -g
            al = [0.0] * len(dirs)
            for i in range(len(dirs) - 1, -1, -1):
                al[i] = float(steps[i].dot(q)) * ro[i]
                q = q - al[i] * dirs[i]
            r = q * h_diag
            for i in range(len(dirs)):
                be = float(dirs[i].dot(r)) * ro[i]
                r = r + (al[i] - be) * steps[i]
            d = r
        prev_g, prev_f = g, f
        t = min(1.0, 1.0 / float(g.abs().sum())) if n_iter == 1 else 1.0
        gtd = float(g.dot(d))
        if gtd > -tolerance_change:
            break
        f, g, t, ls_evals = _strong_wolfe(directional, x, t, d, f, g, torch.tensor(gtd, dtype=g.dtype))
        x = x + t * d
        evals += ls_evals
        if evals >= max_eval or float(g.abs().max()) <= tolerance_grad:
            break
        if float((d * t).abs().max()) <= tolerance_change or abs(f - prev_f) < tolerance_change:
            break
    return x.reshape(shape)


# ---------------------------------------------------------------- distributions
def distribution(ev: Evaluator, d: m.Expr, scope: dict) -> torch.distributions.Distribution:
    """The torch distribution of a law (``normal(μ, variance)`` and friends)."""
    law = law_of(d)
    if law is None:
        raise LoweringError(f"no density for {getattr(d, 'func', d)}")
    try:
        make = law.need("torch_law", "numeric")
    except Declined as exc:
        raise LoweringError(f"no density: {exc}") from exc
    return make([ev.tensor(ev.ev(a, scope)) for a in args_of(d)])


def density(ev: Evaluator, e: m.Call, scope: dict) -> Value:
    if e.func == "KL":
        p, q = (distribution(ev, a, scope) for a in e.args)
        return torch.distributions.kl_divergence(p, q)
    dist = distribution(ev, e.args[0], scope)
    x = ev.tensor(ev.ev(e.args[1], scope)) - law_of(e.args[0]).index_base  # categorical: 1..K
    if e.func == "cdf":
        try:   # a law whose cdf comes from SciPy declines a gradient (it would read 0)
            return dist.cdf(x)
        except Declined as exc:
            raise LoweringError(str(exc)) from exc
    lp = _log_prob(dist, x)
    return lp if e.func == "logpdf" else lp.exp()


def _log_prob(dist: Any, x: torch.Tensor) -> torch.Tensor:
    """log p(x), −∞ off the law's support (pdf 0 there): torch refuses such points, and
    without its check it would extend the formula (λe^{−λx} at x < 0)."""
    inside = dist.support.check(x)
    if bool(inside.all()):
        return dist.log_prob(x)
    dist._validate_args = False   # the formula where inside, masked to −∞ elsewhere
    lp = dist.log_prob(x)
    return torch.where(inside, lp, lp.new_tensor(-math.inf))


def norm(ev: Evaluator, e: m.Call, scope: dict) -> Value:
    x = ev.tensor(ev.ev(e.args[0], scope))
    kind: Any = 2
    if len(e.args) == 2:
        a = e.args[1]
        if isinstance(a, m.Name) and a.id in ("fro", "inf"):
            kind = a.id
        else:
            kind = ev.ev(a, scope)
            kind = float(kind) if not is_tensor(kind) else float(kind.reshape(-1)[0])
    if rank(x) == 0:
        return x.abs()
    if rank(x) == 2 and x.shape[1] > 1 and x.shape[2] > 1:
        order = {2: 2, 1: 1, "inf": math.inf, "fro": "fro"}.get(kind if kind != 2.0 else 2, None)
        if kind == 1.0:
            order = 1
        if order is None:
            raise LoweringError(f"unknown matrix norm {kind}")
        return lapack(torch.linalg.matrix_norm, x, ord=order)
    v = flat(x)
    if kind in ("fro", 2, 2.0):
        return torch.linalg.vector_norm(v, 2, dim=-1)
    if kind == "inf":
        return v.abs().amax(-1)
    return torch.linalg.vector_norm(v, float(kind), dim=-1)


# ---------------------------------------------------------------- deep-learning built-ins
def h_log_softmax(ev, e, scope, args):
    """softmax's axis rule: all entries of a vector, else the last axis unless axis = k."""
    t = ev.tensor(args[0])
    if rank(t) == 0:
        return torch.zeros_like(t)
    axis = axis_of(ev, e, scope)
    return torch.log_softmax(t, axis if axis is not None else -1)


def h_var(ev, e, scope, args):
    t = flat(ev.tensor(args[0]))
    return t.var(-1, unbiased=False)


def h_layer_norm(ev, e, scope, args):
    t = ev.tensor(args[0])
    if rank(t) == 0:
        raise IllDefined("layer_norm of a scalar (its variance is 0)")
    eps_expr = e.kwarg("eps")
    eps = ev.tensor(ev.ev(eps_expr, scope)) if eps_expr is not None else 0.0
    mu = t.mean(-1, keepdim=True)
    var = t.var(-1, unbiased=False, keepdim=True)
    if is_tensor(eps):
        eps = eps.reshape(eps.shape + (1,) * (t.dim() - 1))
    return (t - mu) / torch.sqrt(var + eps)


def h_cross_entropy(ev, e, scope, args):
    z = ev.tensor(args[0])
    if rank(z) != 1:
        raise LoweringError("cross_entropy needs a vector of logits")
    y = args[1]
    if is_tensor(y) and rank(y) == 1:
        yt = ev.tensor(y)
        if yt.shape[1] != z.shape[1]:
            raise IllDefined(f"shape mismatch: {tuple(z.shape[1:])} and {tuple(yt.shape[1:])}")
        return -(yt * torch.log_softmax(z, -1)).sum(-1)
    k = _batched_index(ev, y, z.shape[1], "class index")
    batch = max(z.shape[0], k.shape[0])
    z, k = z.expand(batch, *z.shape[1:]), k.expand(batch)
    return torch.logsumexp(z, -1) - z.gather(1, k.unsqueeze(1)).squeeze(1)


def _batched_index(ev: Evaluator, v: Value, size: int, what: str) -> torch.Tensor:
    """0-based indices, one per batch member, from a 1-based integer value (or refuse)."""
    t = ev.tensor(v).reshape(-1)
    if t.is_complex() or bool((t != t.round()).any()):
        raise LoweringError(f"a {what} must be an integer")
    k = t.round().long() - 1
    if bool(((k < 0) | (k >= size)).any()):
        raise IllDefined(f"{what} outside 1..{size}")
    return k


def h_onehot(ev, e, scope, args):
    n = ev.as_int(args[1], "a size")
    k = _batched_index(ev, args[0], n, "onehot index")
    return F.one_hot(k, n).to(ev.dtype)


def _axis_sum(axis: int):
    def h(ev, e, scope, args):
        t = ev.tensor(args[0])
        if rank(t) != 2:
            raise LoweringError(f"{e.func} needs a matrix")
        return t.sum(axis)
    return h


def h_flip(ev, e, scope, args):
    """Every axis reversed (a vector's entries; a matrix's rows and columns), or only
    the 1-based ``axis = k``."""
    t = ev.tensor(args[0])
    axis = axis_of(ev, e, scope)
    if axis is not None and not 1 <= axis <= rank(t):
        raise LoweringError(f"flip(…, axis = {axis}) of a rank-{rank(t)} value")
    if rank(t) == 0:
        return t
    return torch.flip(t, (axis,) if axis is not None else tuple(range(1, t.dim())))


def h_topk(ev, e, scope, args):
    """The k largest entries of a vector, in descending order."""
    t = ev.tensor(args[0])
    k = ev.as_int(args[1], "a count")
    if rank(t) != 1 or t.is_complex():
        raise LoweringError("topk needs a real vector")
    if not 1 <= k <= t.shape[1]:
        raise LoweringError(f"topk(x, {k}) of a vector of {t.shape[1]} entries")
    return torch.topk(t, k, dim=-1, largest=True, sorted=True).values


def h_where(ev, e, scope, args):
    cond = ev.tensor(args[0]).bool()
    a, b = ev.align(ev.tensor(args[1]), ev.tensor(args[2]))  # torch.where promotes dtypes
    out_rank = max(a.dim(), b.dim())
    cond = cond.reshape(cond.shape + (1,) * (out_rank - cond.dim()))
    return torch.where(cond, a, b)


HANDLERS: dict[str, Callable] = {
    "log_softmax": h_log_softmax, "var": h_var, "layer_norm": h_layer_norm,
    "cross_entropy": h_cross_entropy, "onehot": h_onehot, "rowsum": _axis_sum(2),
    "colsum": _axis_sum(1), "where": h_where, "flip": h_flip, "topk": h_topk,
    "convolve": h_convolve,
    "sum": h_sum, "prod": h_prod, "mean": h_mean, "logsumexp": h_logsumexp,
    "softmax": h_softmax, "max": _maxmin(True), "min": _maxmin(False), "rms": h_rms,
    "trace": h_trace, "det": h_det, "logdet": h_logdet, "rank": h_rank, "numel": h_numel,
    "dot": h_dot, "inv": h_inv, "pinv": h_pinv, "matpow": h_matpow, "diag": h_diag,
    "vec": h_vec, "kron": h_kron, "outer": h_outer, "concat": h_concat, "svd": h_svd,
    "eig": h_eig, "eigvals": h_eigvals, "fft": h_fft, "ifft": h_ifft, "pad": h_pad,
    "conv": h_conv, "maxpool": _pool("max"), "avgpool": _pool("avg"),
    "binomial": h_binomial, "factorial": h_factorial,
}
