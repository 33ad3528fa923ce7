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

from derive.outcome import Result, Verdict

_BULKY = {"rendered", "traceback", "statements", "diagnostics"}


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
            for k, v in inner.items():
                if k not in _BULKY:
                    out.append(f"    {k}: {_short(v, limit)}")
    for k, v in ev.items():
        if k not in _BULKY and k != "seed":
            out.append(f"{k}: {_short(v, limit)}")
    if "seed" in ev:
        out.append(f"seed: {ev['seed']}")
    if ev.get("traceback"):
        out.extend(str(ev["traceback"]).rstrip().split("\n"))
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
    """The comment after ``expect …`` in the claim text (the corrected statement), with any
    comment-only lines that directly continue it."""
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
            return " ".join(parts)
    return ""


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
        est = next((d[k] for k in _EST if isinstance(d.get(k), (int, float))), None)
        claimed = next((d[k] for k in _CLAIMED if isinstance(d.get(k), (int, float))), None)
        interval = next((d[k] for k in _INTERVAL if _numbers(d.get(k)) and len(d[k]) == 2), None)
        if est is not None and claimed is not None and interval is not None:
            found.append({"where": path, "estimate": float(est), "claimed": float(claimed),
                          "interval": [float(interval[0]), float(interval[1])],
                          "samples": d.get("samples") or d.get("n_samples"),
                          "confidence": d.get("confidence")})
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


def is_failure(result: Result) -> bool:
    """A JUnit failure / GitHub error: the result is not what the claim expects."""
    return not result.as_expected and result.verdict != Verdict.ERROR
