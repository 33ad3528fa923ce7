"""Plots for the HTML report (matplotlib, headless), returned as base64 PNG data URIs."""
from __future__ import annotations

import base64
import io
import math
from typing import Any

_STYLE = {"figure.figsize": (5.2, 3.0), "figure.dpi": 90, "font.size": 8.5,
          "axes.spines.top": False, "axes.spines.right": False}


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
        for name, ys in curve["series"].items():
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
        ax.set_ylabel("cost")
        ax.set_title(title or curve.get("where", ""), fontsize=8.5)
        ax.legend(frameon=False)
        return _to_uri(fig)


def estimate_png(est: dict[str, Any], title: str = "") -> str:
    """A Monte-Carlo estimate with its interval against the claimed value."""
    plt = _pyplot()
    with plt.rc_context({**_STYLE, "figure.figsize": (5.2, 1.7)}):
        fig, ax = plt.subplots()
        lo, hi = est["interval"]
        e, c = est["estimate"], est["claimed"]
        inside = lo <= c <= hi
        ax.hlines(0, lo, hi, color="tab:blue", linewidth=6, alpha=0.35,
                  label=f"interval [{lo:.4g}, {hi:.4g}]")
        ax.plot([e], [0], "o", color="tab:blue", label=f"estimate {e:.4g}")
        ax.axvline(c, color="tab:green" if inside else "tab:red", linestyle="--",
                   label=f"claimed {c:.4g}")
        span = max(hi, c, e) - min(lo, c, e)
        pad = span * 0.15 if span > 0 and math.isfinite(span) else 1.0
        ax.set_xlim(min(lo, c, e) - pad, max(hi, c, e) + pad)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        extra = []
        if est.get("samples"):
            extra.append(f"{est['samples']} samples")
        if est.get("confidence"):
            extra.append(f"confidence {est['confidence']}")
        ax.set_title((title or "Monte-Carlo estimate") + (f" ({', '.join(extra)})" if extra else ""),
                     fontsize=8.5)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, fontsize=7.5)
        return _to_uri(fig)
