"""Evidence helpers shared by the report formats: readable text, the deciding statement,
the claim text and its comments, and the shapes of data worth plotting.

The engines' evidence is free-form JSON; these helpers look for a few conventional
shapes (documented in docs/ci.md, 'Evidence the reports understand') and fall back to
printing the data.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Optional

from derive.faults import describe
from derive.outcome import Result

_BULKY = {"rendered", "traceback", "statements", "diagnostics", "declined", "internal_errors"}


def _short(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def statements(result: Result) -> list[dict[str, Any]]:
    """The per-statement outcomes in a result's evidence (possibly none)."""
    st = (result.evidence or {}).get("statements")
    return [s for s in st if isinstance(s, dict)] if isinstance(st, list) else []


def deciding_statement(result: Result) -> Optional[dict[str, Any]]:
    """The first statement whose verdict is the claim's verdict (the one to point at)."""
    for st in statements(result):
        if st.get("verdict") == result.verdict.value:
            return st
    return None


def location(result: Result) -> tuple[str, int]:
    """File and line to point a person at: the deciding statement when known, else the claim."""
    st = deciding_statement(result)
    inner = st.get("evidence") if st else None
    failing = inner.get("failing_line") if isinstance(inner, dict) else None
    if isinstance(failing, int) and failing > 0:  # a derivation: the wrong link's line
        return result.file, failing
    if st and isinstance(st.get("line"), int) and st["line"] > 0:
        return result.file, st["line"]
    return result.file, result.line


def evidence_lines(result: Result, limit: int = 300) -> list[str]:
    """The evidence as short readable lines (no plots): diagnostics, or per-statement details."""
    ev = result.evidence or {}
    out: list[str] = []
    if ev.get("rendered"):
        return str(ev["rendered"]).split("\n")
    for st in statements(result):
        head = f"line {st.get('line', '?')}: {st.get('statement', '')}".rstrip()
        route = "/".join(x for x in (st.get("engine"), st.get("strategy")) if x)
        out.append(f"{head} -> {st.get('verdict', '?')}" + (f" [{route}]" if route else ""))
        if st.get("summary"):
            out.append(f"    {st['summary']}")
        inner = st.get("evidence") or {}
        if isinstance(inner, dict):
            for fault in inner.get("internal_errors") or []:
                if isinstance(fault, dict):
                    out.append(f"    {describe(fault)}")
            for k, v in inner.items():
                if k == "links" and isinstance(v, list):
                    out.extend(link_lines(v, limit))
                elif k not in _BULKY:
                    out.append(f"    {k}: {_short(v, limit)}")
    for k, v in ev.items():
        if k not in _BULKY and k != "seed":
            out.append(f"{k}: {_short(v, limit)}")
    if "seed" in ev:
        out.append(f"seed: {ev['seed']}")
    if ev.get("traceback"):
        out.extend(str(ev["traceback"]).rstrip().split("\n"))
    return out


def link_lines(links: list, limit: int = 300, indent: str = "    ") -> list[str]:
    """One line per link of a derivation: its number, line, text, verdict and route."""
    out = []
    for link in links:
        if not isinstance(link, dict):
            continue
        route = "/".join(str(x) for x in (link.get("engine"), link.get("strategy")) if x)
        out.append(f"{indent}link {link.get('index', '?')} (line {link.get('line', '?')}): "
                   f"{link.get('text', '')} -> {link.get('verdict', '?')}"
                   + (f" [{route}]" if route else "")
                   + (f": {_short(link.get('summary', ''), limit)}" if link.get("summary") else ""))
    return out


def evidence_text(result: Result, limit: int = 300) -> str:
    return "\n".join([result.summary] + evidence_lines(result, limit))


# ------------------------------------------------------------------ the claim's own text
def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").split("\n")
    except OSError:
        return []


def claim_text(result: Result) -> str:
    """The claim's text as written, read from its file at its line (empty if unreadable)."""
    lines = _read_lines(result.file)
    if not (1 <= result.line <= len(lines)):
        return ""
    out = [lines[result.line - 1]]
    for line in lines[result.line:]:
        stripped = line.strip()
        if line.startswith("claim") or stripped.startswith(("```", "~~~")):
            break
        if stripped and not line[:1].isspace() and not stripped.startswith("#"):
            break
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    # a trailing comment block at column 0 belongs to the next claim
    while len(out) > 1 and out[-1].startswith("#"):
        out.pop()
    return "\n".join(out)


def split_comment(line: str) -> tuple[str, str]:
    """Code and comment of a line (a '#' inside a string is not a comment)."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i], line[i + 1:].strip()
    return line, ""


_EXPECT = re.compile(r"^\s*expect\s+(\w+)")


def expectation_comment(result: Result) -> str:
    """The corrected statement a claim records: the comment after ``expect …`` (with any
    comment-only lines that directly continue it); failing that, the claim's first block of
    comment-only lines (where the corpus usually explains what the notes got wrong)."""
    lines = claim_text(result).split("\n")
    for i, line in enumerate(lines):
        code, comment = split_comment(line)
        if _EXPECT.match(code):
            parts = [comment] if comment else []
            for nxt in lines[i + 1:]:
                ncode, ncomment = split_comment(nxt)
                if ncode.strip() or not ncomment:
                    break
                parts.append(ncomment)
            if parts:
                return " ".join(parts)
    block: list[str] = []
    for line in lines[1:]:
        code, comment = split_comment(line)
        if not code.strip() and comment:
            block.append(comment)
        elif block:
            break
    return " ".join(block)


# ------------------------------------------------------------------ plottable shapes
SIZE_KEYS = ("sizes", "size", "n", "ns", "sweep", "values", "x", "dims")
COST_KEYS = ("times", "time", "seconds", "median", "medians", "median_s", "times_s", "flops",
             "memory", "bytes", "y", "ratio", "ratios")


def _numbers(v: Any) -> Optional[list[float]]:
    if isinstance(v, list) and len(v) >= 2 and all(isinstance(x, (int, float)) and
                                                   not isinstance(x, bool) for x in v):
        return [float(x) for x in v]
    return None


def _walk(obj: Any, path: str = ""):
    if isinstance(obj, dict):
        yield path, obj
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")


def curves(evidence: dict) -> list[dict[str, Any]]:
    """Cost/size series: a dict with a size list and one or more equally long numeric lists,
    or a list of points ``[{"n": 128, "time": …}, …]``."""
    found = []
    for path, d in _walk(evidence):
        table = _sweep_table(d, path) or _comparison_points(d, path)
        if table:
            found.append(table)
            continue
        xs_key = next((k for k in SIZE_KEYS if _numbers(d.get(k))), None)
        if xs_key:
            xs = _numbers(d[xs_key])
            ys = {k: _numbers(v) for k, v in d.items() if k != xs_key and _numbers(v)
                  and len(v) == len(xs) and (k in COST_KEYS or any(c in k for c in ("time", "flop",
                                                                                      "mem", "cost")))}
            if ys:
                found.append({"where": path, "x": xs_key, "xs": xs, "series": ys,
                              "fit": d.get("exponent") or d.get("slope") or d.get("fit")})
                continue
        for k, v in d.items():
            if isinstance(v, list) and len(v) >= 2 and all(isinstance(p, dict) for p in v):
                v = [_lift_sizes(p) for p in v]
                xk = next((s for s in SIZE_KEYS if all(isinstance(p.get(s), (int, float)) for p in v)),
                          None)
                if not xk:
                    continue
                ykeys = [c for c in COST_KEYS if all(isinstance(p.get(c), (int, float)) for p in v)]
                if ykeys:
                    found.append({"where": f"{path}.{k}" if path else k, "x": xk,
                                  "xs": [float(p[xk]) for p in v],
                                  "series": {c: [float(p[c]) for p in v] for c in ykeys},
                                  "fit": d.get("exponent") or d.get("slope")})
    return found


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _sweep_table(d: dict, path: str) -> Optional[dict[str, Any]]:
    """The timing engine's growth evidence: ``sweep`` names the sizes, ``table`` has one row
    per size with the measured ``value`` and the claimed ``bound``."""
    sweep, table = d.get("sweep"), d.get("table")
    if not (isinstance(sweep, dict) and isinstance(table, list) and len(table) >= 2
            and all(isinstance(r, dict) and _num(r.get("value")) for r in table)):
        return None
    names = [n for n in sweep if all(_num(r.get(n)) for r in table)]
    varying = [n for n in names if len({r[n] for r in table}) > 1]
    if not varying:
        return None
    x = varying[0]
    rows = sorted(table, key=lambda r: r[x])
    xs = [float(r[x]) for r in rows]
    series = {"measured": [float(r["value"]) for r in rows]}
    if all(_num(r.get("bound")) and r["bound"] > 0 for r in rows):
        scale = rows[0]["value"] / rows[0]["bound"] if rows[0]["bound"] else 1.0
        series["claimed growth (scaled)"] = [float(r["bound"]) * scale for r in rows]
    fitted = d.get("fitted_exponent")
    fit = fitted.get(x, {}).get("exponent") if isinstance(fitted, dict) and \
        isinstance(fitted.get(x), dict) else None
    label = x + (f" (with {', '.join(varying[1:])})" if len(varying) > 1 else "")
    return {"where": path, "x": label, "xs": xs, "series": series, "fit": None,
            "fitted": fit, "title": d.get("claim")}


def _timing_dicts(obj: Any) -> dict[str, float]:
    """``{expression: median seconds}`` from the ``timing`` dicts anywhere inside ``obj``."""
    out: dict[str, float] = {}
    for _, d in _walk(obj):
        t = d.get("timing")
        if isinstance(t, dict):
            for k, v in t.items():
                if isinstance(v, dict) and _num(v.get("median_s")):
                    out[k] = float(v["median_s"])
    return out


def _comparison_points(d: dict, path: str) -> Optional[dict[str, Any]]:
    """The timing engine's comparison evidence over several sizes: ``points`` with
    ``sizes`` and measured ``timing`` of each side, drawn as time over the varying size."""
    points = d.get("points")
    if not (isinstance(points, list) and len(points) >= 2 and
            all(isinstance(p, dict) and isinstance(p.get("sizes"), dict) for p in points)):
        return None
    names = [n for n in points[0]["sizes"] if all(_num(p["sizes"].get(n)) for p in points)]
    varying = [n for n in names if len({p["sizes"][n] for p in points}) > 1]
    times = [_timing_dicts(p) for p in points]
    common = [k for k in times[0] if all(k in t for t in times)]
    if not varying or not common:
        return None
    x = varying[0]
    order = sorted(range(len(points)), key=lambda i: points[i]["sizes"][x])
    return {"where": path, "x": x, "xs": [float(points[i]["sizes"][x]) for i in order],
            "series": {k: [times[i][k] for i in order] for k in common}, "fit": None,
            "ylabel": "median time (s)", "title": "measured times"}


def _lift_sizes(point: dict) -> dict:
    """``{"sizes": {"n": 128}, …}`` → ``{"n": 128, …}`` when one size varies."""
    sizes = point.get("sizes")
    if isinstance(sizes, dict) and len(sizes) == 1:
        (name, value), = sizes.items()
        if isinstance(value, (int, float)):
            return {**point, "n" if name not in SIZE_KEYS else name: value}
    return point


_EST = ("estimate", "mean", "observed", "value")
_CLAIMED = ("claimed", "expected", "target", "rhs", "claimed_value")
_INTERVAL = ("interval", "ci", "confidence_interval")


def estimates(evidence: dict) -> list[dict[str, Any]]:
    """Monte-Carlo estimates with an interval and the claimed value."""
    found = []
    for path, d in _walk(evidence):
        if _num(d.get("left")) and _num(d.get("claimed")) and _numbers(d.get("interval")) \
                and len(d["interval"]) == 2:
            # the numeric engine's Monte-Carlo point: an interval of left − claimed
            lo, hi = d["interval"]
            c = float(d["claimed"])
            point = d.get("point") if isinstance(d.get("point"), dict) else {}
            found.append({"where": path, "estimate": float(d["left"]), "claimed": c,
                          "interval": [c + lo, c + hi], "samples": d.get("samples"),
                          "tolerance": d["tolerance"] if _num(d.get("tolerance")) else None,
                          "label": ", ".join(f"{k}={v:g}" if _num(v) else f"{k}={v}"
                                             for k, v in point.items()),
                          "confidence": None})
            continue
        points = d.get("parameter_points")
        if isinstance(points, list) and any(isinstance(p, dict) and "left" in p for p in points):
            continue  # a summary of its points, which are drawn one by one
        est = next((d[k] for k in _EST if isinstance(d.get(k), (int, float))), None)
        claimed = next((d[k] for k in _CLAIMED if isinstance(d.get(k), (int, float))), None)
        interval = next((d[k] for k in _INTERVAL if _numbers(d.get(k)) and len(d[k]) == 2), None)
        if est is not None and claimed is not None and interval is not None:
            if "−" in str(d.get("interval_of", "")) or "-" in str(d.get("interval_of", "")):
                interval = [claimed + interval[0], claimed + interval[1]]  # of the difference
            found.append({"where": path, "estimate": float(est), "claimed": float(claimed),
                          "interval": [float(interval[0]), float(interval[1])],
                          "samples": d.get("samples") or d.get("n_samples"),
                          "confidence": d.get("confidence")})
    return found


def timings(evidence: dict) -> list[dict[str, Any]]:
    """Measured times of the expressions a comparison sets against each other:
    ``"timing": {"time[…]": {"median_s": …, "spread": …}, …}`` (one entry per size)."""
    found = []
    if any(_comparison_points(d, p) for p, d in _walk(evidence)):
        return found  # drawn as curves over the sizes instead
    for path, d in _walk(evidence):
        t = d.get("timing")
        if isinstance(t, dict) and t and all(isinstance(v, dict) and _num(v.get("median_s"))
                                             for v in t.values()):
            found.append({"where": path, "bars": {k: float(v["median_s"]) for k, v in t.items()},
                          "spread": {k: v.get("spread") for k, v in t.items()}})
    return found


def counterexamples(evidence: dict) -> list[dict[str, Any]]:
    """Counterexample instances: dicts under keys such as ``counterexample`` or ``instance``."""
    found = []
    for path, d in _walk(evidence):
        for k in ("counterexample", "instance", "witness"):
            v = d.get(k)
            if isinstance(v, dict) and v:
                v = flatten(v)
                extra = {x: d[x] for x in ("lhs", "rhs", "residual", "difference", "error")
                         if x in d and not isinstance(d[x], (dict, list))}
                found.append({"where": f"{path}.{k}" if path else k, "values": v, "extra": extra})
    return found


def flatten(d: dict, prefix: str = "", depth: int = 2) -> dict:
    """Nested dicts as ``a.b`` keys (two levels), for tables."""
    out: dict = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and depth > 0 and v:
            out.update(flatten(v, key + ".", depth - 1))
        else:
            out[key] = v
    return out
