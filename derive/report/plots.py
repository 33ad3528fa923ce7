"""Plots for the HTML report (matplotlib, headless), returned as base64 PNG data URIs."""
from __future__ import annotations

import base64
import io
import math
from typing import Any

_STYLE = {"figure.figsize": (5.2, 3.0), "figure.dpi": 90, "font.size": 8.5,
          "axes.spines.top": False, "axes.spines.right": False}


_CLAIMED = "claimed growth (scaled)"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _to_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def curve_png(curve: dict[str, Any], title: str = "") -> str:
    """Cost over sizes on log-log axes, with a dotted reference slope when a fit is given."""
    plt = _pyplot()
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots()
        xs = curve["xs"]
        positive = all(x > 0 for x in xs)
        for name, ys in sorted(curve["series"].items(), key=lambda kv: kv[0] != _CLAIMED):
            if name == _CLAIMED:  # drawn first, underneath, so a perfect match still shows both
                ax.plot(xs, ys, linestyle="--", color="grey", linewidth=2.5, alpha=0.6, label=name)
            else:
                ax.plot(xs, ys, marker="o", label=name)
            positive = positive and all(y > 0 for y in ys)
        fit = curve.get("fit")
        if positive:
            ax.set_xscale("log")
            ax.set_yscale("log")
            if isinstance(fit, (int, float)) and not isinstance(fit, bool):
                first = next(iter(curve["series"].values()))
                ref = [first[0] * (x / xs[0]) ** fit for x in xs]
                ax.plot(xs, ref, linestyle=":", color="grey", label=f"slope {fit:.2f}")
        ax.set_xlabel(curve.get("x", "size"))
        ax.set_ylabel(curve.get("ylabel", "cost"))
        if curve.get("fitted") is not None:
            ax.text(0.02, 0.95, f"fitted exponent {curve['fitted']:.2f}", transform=ax.transAxes,
                    va="top", fontsize=7.5)
        ax.set_title(curve.get("title") or title or curve.get("where", ""), fontsize=8.5)
        ax.legend(frameon=False, fontsize=7)
        return _to_uri(fig)


def estimates_png(rows: list[dict[str, Any]], title: str = "") -> str:
    """Monte-Carlo estimates with their intervals against the claimed values, one row each
    (a shaded band marks the tolerance around the claimed value when it is known)."""
    plt = _pyplot()
    rows = rows[:8]
    with plt.rc_context({**_STYLE, "figure.figsize": (5.6, 0.75 + 0.55 * len(rows))}):
        fig, axes = plt.subplots(len(rows), 1, squeeze=False)
        for ax, est in zip(axes[:, 0], rows):
            lo, hi = est["interval"]
            e, c = est["estimate"], est["claimed"]
            tol = est.get("tolerance")
            inside = lo <= c <= hi
            if tol:
                ax.axvspan(c - tol, c + tol, color="tab:green", alpha=0.12, label="tolerance")
            ax.hlines(0, lo, hi, color="tab:blue", linewidth=6, alpha=0.4, label="interval")
            ax.plot([e], [0], "o", color="tab:blue", label="estimate")
            ax.axvline(c, color="tab:green" if inside else "tab:red", linestyle="--",
                       label="claimed")
            points = [lo, hi, c, e] + ([c - tol, c + tol] if tol else [])
            span = max(points) - min(points)
            pad = span * 0.12 if span > 0 and math.isfinite(span) else 1.0
            ax.set_xlim(min(points) - pad, max(points) + pad)
            ax.set_yticks([])
            ax.spines["left"].set_visible(False)
            label = est.get("label") or ""
            ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
            ax.tick_params(axis="x", labelsize=7)
        extra = []
        if rows[0].get("samples"):
            extra.append(f"{rows[0]['samples']} samples")
        if rows[0].get("confidence"):
            extra.append(f"confidence {rows[0]['confidence']}")
        axes[0, 0].set_title((title or "Monte-Carlo estimate vs claimed value") +
                             (f" ({', '.join(extra)})" if extra else ""), fontsize=8.5)
        axes[-1, 0].legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=4,
                           fontsize=7)
        fig.tight_layout()
        return _to_uri(fig)


def estimate_png(est: dict[str, Any], title: str = "") -> str:
    """One Monte-Carlo estimate (see :func:`estimates_png`)."""
    return estimates_png([est], title)


def timing_png(timing: dict[str, Any], title: str = "") -> str:
    """Median times of the expressions a comparison sets against each other."""
    plt = _pyplot()
    labels = list(timing["bars"])
    values = [timing["bars"][k] for k in labels]
    with plt.rc_context({**_STYLE, "figure.figsize": (5.6, 0.6 + 0.45 * len(labels))}):
        fig, ax = plt.subplots()
        ax.barh(range(len(labels)), [v * 1e3 for v in values], color="tab:blue", alpha=0.7)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels([k if len(k) <= 48 else k[:47] + "…" for k in labels], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("median time (ms)")
        ax.set_title(title or "measured times", fontsize=8.5)
        return _to_uri(fig)
