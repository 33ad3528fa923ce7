"""Importance sampling for rare events of declared Gaussian draws.

``P[A]`` with A a comparison of functions of normal draws (``P[z + w > 6]``,
``P[max(z, w) > 4.5]``, ``P[norm(x) > 6]``) is ~1e-5…1e-9: plain sampling sees a handful
of hits in its budget, and Clopper–Pearson can only say "somewhere below 1e-6".  Here every
draw is written as x = μ + L·ε with ε standard normal (``normal(μ, v)``: L = √v, or the
Cholesky factor of a covariance), and ε is drawn from a proposal moved toward the event:

* **Proposal** — the defensive mixture q = β·N(0, I) + (1 − β)·N(m, s²·I) (β =
  ``DEFENSIVE``), so every likelihood ratio w = φ(ε)/q(ε) ≤ 1/β: the weighted indicator
  w·1_A is bounded and its mean has a finite variance whatever m and s are.
* **Fitting m and s** — the cross-entropy method on the event's margin (``lhs − rhs`` of
  ``lhs > rhs``): at each level the top ``RHO`` of the draws (or every hit, once that many
  or ``LEVEL_HITS`` are in A) refit m = E[ε | elite] and s² = E[|ε − m|² | elite]/d, weighted by the
  likelihood ratio to N(0, I), s ≥ 1.  m converges to the event's conditional mean — just
  past the dominating point (the event's nearest point to the origin) for a half-space, the
  corner for ``min(z, w) > t`` — and s grows where the event surrounds the origin
  (``norm(x) > r``, ``|z + w| > t``).  Three candidates (m with s, m alone, s alone) are
  then compared on fresh draws by the relative variance of w·1_A; the best is used.
* **Interval** — the estimate is the mean of w·1_A over an independent final sample (the
  fitting and selection draws are not reused), with the delta method's normal interval.
  It is trusted only when the hits' effective sample size (Σ w·1_A)² / Σ (w·1_A)² is at
  least ``MIN_HIT_ESS`` and the heavy-tail diagnostic of w·1_A passes; otherwise the point
  is inconclusive — uneven weights never verify and never refute.

Everything is a function of the claim's generator and counts of draws: same seed, same
proposal, same verdict.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch

from derive.numeric.lower import Evaluator, rank
from derive.vocabulary.distributions import args_of, law_of

DEFENSIVE = 0.05         # share of the nominal N(0, I) in the proposal (weights ≤ 1/β = 20)
RHO = 0.1                # elite share of a cross-entropy level
LEVEL_HITS = 64          # hits in a level that end the levels even short of the top RHO
LEVEL_SAMPLES = 8192     # draws per cross-entropy level
MAX_LEVELS = 24          # levels before giving up on reaching the event
SELECT_SAMPLES = 16384   # draws per candidate proposal in the selection
MIN_HIT_ESS = 100.0      # effective number of weighted hits below which the interval is unreliable
TINY = 1e-140            # estimates below this are unreliable: their squares (the variance) underflow
RARE = 1e-3              # the plain pilot's hit fraction below which importance sampling is tried
DIRECTIONS = 2048        # rays searched for the event's boundary (plus the ± axes)
R_MAX = 12.0             # the rays' length in standard deviations
RADII = 160              # grid points along a ray before bisection
BISECTIONS = 24          # bisection steps of the first crossing
NEIGHBOUR_ANGLE = 0.45   # radians: a direction's neighbours for the local-minimum test
NEGLIGIBLE = 1e-4        # parts with less than this share of the main part's Φc(r) are left out
MAX_PARTS = 8            # components of the per-part mixture, at most
CLEARLY = 4.0            # standard errors by which a candidate's estimate is "clearly below"
MIN_GAIN = 4.0           # below this variance reduction over plain sampling, plain sampling
                         # (exact Clopper–Pearson) decides: no weights to distrust for so little
MAX_DIM = 16             # standard coordinates at most: the boundary search thins out beyond


@dataclass
class Coordinate:
    """One declared normal name as loc + L·ε over ``width`` standard coordinates."""

    name: str
    shape: tuple
    width: int
    loc: torch.Tensor
    factor: torch.Tensor      # elementwise sd (shape broadcastable) or a Cholesky factor
    matrix: bool


def gaussian_coordinates(slots: list, ev: Evaluator) -> Optional[list[Coordinate]]:
    """The declared names of ``slots`` (derive.numeric.rqmc.Slot) as affine maps of standard
    normals, or None when one of them is not a normal law (importance sampling declines)."""
    coords = []
    for s in slots:
        law = law_of(s.dist)
        if law is None or law.name != "normal":
            return None
        mu, v = (_unbatch(ev.tensor(ev.ev(a))) for a in args_of(s.dist))
        if v.dim() == 2 and v.numel() > 1:
            if v.shape[0] != v.shape[1] or len(s.shape) != 1 or v.shape[0] != s.shape[0]:
                return None
            try:
                factor = torch.linalg.cholesky(v)
            except RuntimeError:
                return None   # a singular covariance: no density to weight by
            coords.append(Coordinate(s.name, s.shape, s.width, mu, factor, True))
            continue
        if bool((v <= 0).any()):
            return None
        coords.append(Coordinate(s.name, s.shape, s.width, mu, v.sqrt(), False))
    return coords or None


def _unbatch(v: torch.Tensor) -> torch.Tensor:
    v = v.to(torch.float64)
    if v.dim() > 0 and v.shape[0] == 1 and rank(v) == v.dim() - 1:
        v = v[0]
    return v


def draws(coords: list[Coordinate], eps: torch.Tensor) -> dict[str, torch.Tensor]:
    """The named draws x = loc + L·ε for standard coordinates ``eps`` (n, d)."""
    out, pos, n = {}, 0, eps.shape[0]
    for c in coords:
        e = eps[:, pos:pos + c.width].reshape((n,) + tuple(c.shape))
        pos += c.width
        x = c.loc + (e @ c.factor.T if c.matrix else c.factor * e)
        out[c.name] = x.reshape((n,) + tuple(c.shape))
    return out


@dataclass
class Proposal:
    """q = β·N(0, I) + (1 − β)·Σₖ πₖ·N(meansₖ, scale²·I) over the standard coordinates
    (one component for a single dominating point, several for a union of half-spaces)."""

    means: torch.Tensor          # (K, d)
    scale: float
    defensive: float = DEFENSIVE
    probs: Optional[torch.Tensor] = None   # (K,), uniform when None

    def __post_init__(self) -> None:
        if self.means.dim() == 1:
            self.means = self.means.unsqueeze(0)
        if self.probs is None:
            k = self.means.shape[0]
            self.probs = torch.full((k,), 1.0 / k, dtype=torch.float64, device=self.means.device)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def mean(self) -> torch.Tensor:
        """The components' mixed mean."""
        return (self.probs.unsqueeze(1) * self.means).sum(0)

    def sample(self, n: int, g: torch.Generator) -> torch.Tensor:
        eps = torch.randn(n, self.dim, generator=g, dtype=torch.float64, device=g.device)
        moved = torch.rand(n, generator=g, dtype=torch.float64, device=g.device) >= self.defensive
        which = torch.multinomial(self.probs, n, replacement=True, generator=g) \
            if self.means.shape[0] > 1 else torch.zeros(n, dtype=torch.long, device=g.device)
        shifted = self.means[which] + self.scale * eps
        return torch.where(moved.unsqueeze(1), shifted, eps)

    def log_ratio(self, eps: torch.Tensor) -> torch.Tensor:
        """log Σₖ πₖ N(ε; meansₖ, scale²I) − log N(ε; 0, I) (the moved part over the nominal)."""
        d2 = ((eps.unsqueeze(1) - self.means.unsqueeze(0)) ** 2).sum(2)    # (n, K)
        parts = torch.log(self.probs).unsqueeze(0) - d2 / (2 * self.scale ** 2)
        return (torch.logsumexp(parts, 1) - self.dim * math.log(self.scale)
                + (eps ** 2).sum(1) / 2)

    def weights(self, eps: torch.Tensor) -> torch.Tensor:
        """φ(ε)/q(ε) ≤ 1/β: the likelihood ratio of the nominal law to the mixture."""
        ratio = torch.exp(self.log_ratio(eps).clamp(max=700.0))
        return 1.0 / (self.defensive + (1 - self.defensive) * ratio)

    def describe(self) -> str:
        def vec(m: torch.Tensor) -> str:
            m = m.reshape(-1)
            return "(" + ", ".join(f"{float(v):.3g}" for v in m[:6]) + \
                (", …" if m.numel() > 6 else "") + ")"
        k = self.means.shape[0]
        shifts = (f"mean shift {vec(self.means[0])} [‖shift‖ {float(self.means[0].norm()):.3g}]"
                  if k == 1 else f"{k} mean shifts " + ", ".join(vec(m) for m in self.means))
        return (f"defensive mixture {self.defensive:g}·N(0, I) + {1 - self.defensive:g}·"
                f"N({shifts}, {self.scale:.3g}²·I) over the standardised draws")

    def as_dict(self) -> dict[str, Any]:
        return {"mean_shifts": [[round(float(v), 6) for v in m.reshape(-1)[:16]]
                                for m in self.means],
                "mixture_weights": [round(float(p), 6) for p in self.probs],
                "scale": round(self.scale, 6), "defensive": self.defensive}


Margin = Callable[[torch.Tensor], torch.Tensor]   # ε (n, d) → margin (n,): > 0 inside A


@dataclass
class Fit:
    """The cross-entropy result: the fitted proposal, the levels it took, and the last
    level's hits with their likelihood ratios to N(0, I) (for the mixture candidates)."""

    proposal: Proposal
    levels: int
    hits: torch.Tensor
    weights: torch.Tensor


def cross_entropy(margin: Margin, dim: int, g: torch.Generator) -> Optional[Fit]:
    """Fit (mean, scale) toward the event by multi-level cross-entropy; None when the levels
    do not reach it in ``MAX_LEVELS``."""
    mean = torch.zeros(dim, dtype=torch.float64, device=g.device)
    scale = 1.0
    for level in range(1, MAX_LEVELS + 1):
        cur = Proposal(mean, scale, 0.0)
        eps = cur.sample(LEVEL_SAMPLES, g)
        s = torch.nan_to_num(margin(eps).to(torch.float64), nan=-math.inf)
        finite = torch.isfinite(s)
        if not bool(finite.any()):
            return None
        gamma = min(0.0, float(torch.quantile(s[finite], 1 - RHO)))
        if int((s > 0).sum()) >= LEVEL_HITS:
            gamma = 0.0   # enough hits to fit to: a thin event never fills the top RHO
        elite = s > gamma if gamma == 0.0 else s >= gamma
        if not bool(elite.any()):
            return None
        lw = -cur.log_ratio(eps[elite])
        w = torch.exp(lw - lw.max())
        x = eps[elite]
        mean = (w.unsqueeze(1) * x).sum(0) / w.sum()
        var = float((w * ((x - mean) ** 2).sum(1)).sum() / (dim * w.sum()))
        scale = max(1.0, math.sqrt(var)) if math.isfinite(var) else 1.0
        if gamma == 0.0:
            return Fit(Proposal(mean, scale), level, x, w)
    return None


def centres(x: torch.Tensor, w: torch.Tensor, k: int, rounds: int = 20) -> Optional[torch.Tensor]:
    """Weighted k-means centres (k, d) of the points ``x`` (farthest-point start, so
    deterministic); None when there are too few points or a cluster empties."""
    if x.shape[0] < 4 * k:
        return None
    picks = [x[int(torch.argmax(w))]]
    for _ in range(k - 1):
        d = torch.stack([((x - c) ** 2).sum(1) for c in picks]).min(0).values
        picks.append(x[int(torch.argmax(d))])
    c = torch.stack(picks)
    for _ in range(rounds):
        lab = torch.cdist(x, c).argmin(1)
        mass = torch.zeros(k, dtype=x.dtype, device=x.device).index_add_(0, lab, w)
        if bool((mass <= 0).any()):
            return None
        c = torch.zeros_like(c).index_add_(0, lab, w.unsqueeze(1) * x) / mass.unsqueeze(1)
    return c


def dominating_points(margin: Margin, dim: int, g: torch.Generator) -> Optional[Proposal]:
    """A mixture with one shift per part of the event, from a short search of its boundary.

    Along ``DIRECTIONS`` rays (random, plus the ± coordinate axes) the first radius r(u)
    where the margin turns positive is found (a grid on [0, ``R_MAX``], then bisection).
    The local minima of r over directions are the event's dominating points — one per
    part of a union (``max(z, w + 0.5) > 4.5`` has two, ``|z + w| > t`` two, a half-space
    one).  A single fitted shift drifts to the heavier part and never samples the other,
    so the estimate would be low with no sign in its weights; each part here gets a
    component at r·u·(1 + 1/r²) (the half-space's conditional mean), with a share
    ∝ Φc(r), at least 1/(4k).  Parts under ``NEGLIGIBLE`` of the main one are left out."""
    u = torch.randn(DIRECTIONS, dim, generator=g, dtype=torch.float64, device=g.device)
    eye = torch.eye(dim, dtype=torch.float64, device=g.device)
    u = torch.cat([eye, -eye, u])
    u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-300)
    grid = torch.linspace(0.0, R_MAX, RADII + 1, dtype=torch.float64, device=g.device)[1:]
    inside = torch.stack([torch.nan_to_num(margin(r * u), nan=-1.0) > 0 for r in grid])
    reached = inside.any(0)
    if not bool(reached.any()):
        return None
    first = torch.where(reached, inside.to(torch.int8).argmax(0), torch.zeros_like(reached,
                                                                               dtype=torch.long))
    hi = grid[first]
    lo = torch.where(first > 0, grid[(first - 1).clamp_min(0)], torch.zeros_like(hi))
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        ok = torch.nan_to_num(margin(mid.unsqueeze(1) * u), nan=-1.0) > 0
        hi, lo = torch.where(ok, mid, hi), torch.where(ok, lo, mid)
    r = torch.where(reached, hi, torch.full_like(hi, math.inf))
    r0 = float(r.min())
    cos = u @ u.T
    near = cos > math.cos(NEIGHBOUR_ANGLE)
    ends: list[tuple[torch.Tensor, float]] = []
    for i in torch.argsort(r).tolist():
        ri = float(r[i])
        if not math.isfinite(ri) or (ri * ri - r0 * r0) / 2 > -math.log(NEGLIGIBLE) \
                or len(ends) >= MAX_PARTS:
            break
        if ri > float(r[near[i]].min()) + 1e-9 or any(float(cos[i, j]) > math.cos(
                NEIGHBOUR_ANGLE) for j, _ in ends):
            continue   # not a local minimum, or a part already has a component
        ends.append((i, ri))
    means = torch.stack([u[i] * ri * (1 + 1 / max(ri, 1.0) ** 2) for i, ri in ends])
    mass = torch.tensor([_tail(ri) for _, ri in ends], dtype=torch.float64, device=g.device)
    share = (mass / mass.sum()).clamp_min(1 / (4 * len(ends)))
    return Proposal(means, 1.0, probs=share / share.sum())


def _tail(r: float) -> float:
    """Φc(r), the mass past a half-space at distance r (relative, so no underflow matters)."""
    return 0.5 * math.erfc(r / math.sqrt(2)) if r < 37 else math.exp(-r * r / 2) / r


def candidates(fit: Fit, parts: Optional[Proposal]) -> list[Proposal]:
    """The fitted proposal, its mean shift alone (scale 1), its spread alone (no shift), and
    the per-part mixture at the dominating points."""
    fitted = fit.proposal
    spread = math.sqrt(fitted.scale ** 2 + float((fitted.mean ** 2).sum()) / fitted.dim)
    zero = torch.zeros_like(fitted.mean)
    out = [fitted, Proposal(fitted.mean, 1.0), Proposal(zero, max(1.0, spread))]
    out += [parts] if parts is not None else []
    unique: list[Proposal] = []
    for p in out:
        if not any(p.means.shape == q.means.shape and torch.equal(p.means, q.means)
                   and p.scale == q.scale for q in unique):
            unique.append(p)
    return unique


def augment(best: Proposal, parts: Optional[Proposal]) -> Proposal:
    """``best`` with every per-part component it lacks (none of its means within 0.5),
    each at its share (≥ 1/(4k)): coverage of every part found outranks efficiency, since a
    part the proposal never samples biases the estimate low with no sign in the weights.
    A spread centred near the origin (scale > 1, shifts under 1) covers every direction's
    tail better than the nominal law already."""
    if parts is None or (best.scale > 1 and float(best.means.norm(dim=1).max()) < 1):
        return best
    extra = [(m, float(p)) for m, p in zip(parts.means, parts.probs)
             if all(float((m - b).norm()) >= 0.5 for b in best.means)]
    if not extra:
        return best
    room = 1 - sum(p for _, p in extra)
    means = torch.cat([best.means, torch.stack([m for m, _ in extra])])
    probs = torch.cat([best.probs * room, torch.tensor([p for _, p in extra],
                                                        dtype=torch.float64, device=means.device)])
    return Proposal(means, best.scale, best.defensive, probs)


def relative_variance(f: torch.Tensor) -> float:
    """Var(f)/mean(f)² of the weighted indicators (inf without hits)."""
    top = float(f.max()) if f.numel() else 0.0
    if not top > 0:
        return math.inf
    g = f / top          # scaled: a 1e-170 probability's squares would underflow
    mu = float(g.mean())
    return float((g * g).mean()) / (mu * mu) - 1.0


def hit_ess(f: torch.Tensor) -> float:
    """(Σ f)² / Σ f²: how many equally weighted hits the weighted hits are worth."""
    s2 = float((f * f).sum())
    return float(f.sum()) ** 2 / s2 if s2 > 0 else 0.0


def select(cands: list[Proposal], indicator: Margin, g: torch.Generator
           ) -> tuple[Proposal, list[dict]]:
    """The candidate with the smallest relative variance of w·1_A on fresh draws, among
    those whose estimate is not clearly below another's: missing a part of the event biases
    an estimate low while making its weights look even, so low relative variance alone
    would reward it."""
    scored = []
    for p in cands:
        eps = p.sample(SELECT_SAMPLES, g)
        f = p.weights(eps) * indicator(eps)
        mu, se = float(f.mean()), float(f.std()) / math.sqrt(f.numel())
        scored.append((relative_variance(f), mu, se, p))
    kept = [t for t in scored if not any(
        t[1] < o[1] - CLEARLY * math.sqrt(t[2] ** 2 + o[2] ** 2) for o in scored)]
    rv, mu, _, best = min(kept or scored, key=lambda t: t[0])
    # plain sampling's relative variance is 1/p − 1: how many times fewer draws this needs
    gain = (1 / mu - 1) / max(rv, 1e-12) if mu > 0 and math.isfinite(rv) else 0.0
    return best, [{**p.as_dict(), "relative_variance": (round(r, 4) if math.isfinite(r)
                                                       else None),
                   "estimate": m, "kept": any(p is t[3] for t in kept),
                   "chosen": p is best, "gain": round(gain, 2) if p is best else None}
                  for r, m, _, p in scored]


def propose(margin: Margin, indicator: Margin, dim: int, g: torch.Generator
            ) -> Optional[tuple[Proposal, dict]]:
    """The proposal for one event: cross-entropy fit, dominating points, selection on fresh
    draws, then every part's component added; None when the fit never reaches the event.
    Returns the proposal and what the choice rested on (for the evidence)."""
    fit = cross_entropy(margin, dim, g)
    if fit is None:
        return None
    parts = dominating_points(margin, dim, g)
    best, ranking = select(candidates(fit, parts), indicator, g)
    gain = next(c["gain"] for c in ranking if c["chosen"])
    return augment(best, parts), {"levels": fit.levels, "candidates": ranking, "gain": gain,
                                  "parts": parts.as_dict() if parts is not None else None}
