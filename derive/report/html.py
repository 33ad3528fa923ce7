"""One self-contained HTML page: the verdict table, each claim's text (highlighted) and
evidence, and plots where a person would rather look than read: cost curves over sizes,
Monte-Carlo estimates against the claimed value, and counterexample tables.
Images are embedded as base64 PNG; the page needs no network and works without script
(a few lines of script only add a filter and record that the images loaded)."""
from __future__ import annotations

import json
from typing import Any

from derive.outcome import Result, Verdict
from derive.report import plots
from derive.report.summary import by_engine, summarize
from derive.report.safe import block, html_block
from derive.report.evidence import (claim_text, counterexamples, curves, estimates,
                                    evidence_lines, statements, timings)
from derive.report.repairview import diff, suggestions
from derive.version import __version__

_VERDICT_COLOURS = {"proved": "#1a7f37", "verified": "#2da44e", "refuted": "#cf222e",
                    "inconclusive": "#9a6700", "unsupported": "#8250df", "skipped": "#0969da",
                    "error": "#a40e26"}
MAX_PLOTS = 200

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:72em;
 color:#1f2328;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d0d7de;padding:.25em .6em;
 vertical-align:top;text-align:left}th{background:#f6f8fa}
.v{color:#fff;border-radius:1em;padding:0 .6em;font-size:.85em;white-space:nowrap}
.bad{background:#fff0f0}pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.85em}
section.claim{border-top:1px solid #d0d7de;margin-top:1.5em}
.meta{color:#59636e}img{max-width:100%;display:block;margin:.4em 0}
code{font-size:.9em}.stmt{margin-left:1em}
.diff .del{color:#cf222e}.diff .ins{color:#1a7f37}
"""

_SCRIPT = """
window.__derive_errors = [];
window.addEventListener('error', function (e) { window.__derive_errors.push(String(e.message)); });
function deriveFilter(only) {
  document.querySelectorAll('tr.row').forEach(function (tr) {
    tr.style.display = (!only || tr.classList.contains('bad')) ? '' : 'none'; });
}
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', ok + '/' + imgs.length);
  document.body.setAttribute('data-js-errors', String(window.__derive_errors.length));
});
"""


def _e(text: Any) -> str:
    """Escaped text; multi-line text keeps its newlines (inside <pre>), every control, bidi
    and invisible character is made visible (see :mod:`derive.report.safe`)."""
    return html_block(text if text is not None else "")


def _badge(verdict: Verdict) -> str:
    return (f'<span class="v" style="background:{_VERDICT_COLOURS[verdict.value]}">'
            f"{verdict.value}</span>")


def _anchor(r: Result) -> str:
    return "claim-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in (r.id or r.file))


def _counterexample_table(cx: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td><code>{_e(_fmt(v))}</code></td></tr>"
                   for k, v in cx["values"].items())
    rows += "".join(f"<tr><th>{_e(k)}</th><td><code>{_e(_fmt(v))}</code></td></tr>"
                    for k, v in cx["extra"].items())
    where = cx["where"].rsplit(".", 1)[0] if "." in cx["where"] else ""
    caption = "counterexample" + (f" <small>({_e(where)})</small>" if where else "")
    return f'<table class="cx"><caption>{caption}</caption>{rows}</table>'


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, dict)):
        text = json.dumps(v, ensure_ascii=False, default=str)
        return text if len(text) < 400 else text[:399] + "…"
    return str(v)


class _Budget:
    """How many more plots the page may embed (a huge corpus stays a readable file)."""

    def __init__(self, n: int):
        self.left = n


def _figures(evidence: dict, title: str, budget: _Budget) -> list[str]:
    """Plots and tables for one statement's evidence."""

    out: list[str] = []
    for c in curves(evidence):
        if budget.left <= 0:
            break
        budget.left -= 1
        out.append(f'<img alt="cost over sizes: {_e(title)}" src="{plots.curve_png(c, title)}">')
    found = estimates(evidence)
    if found and budget.left > 0:
        budget.left -= 1
        out.append(f'<img alt="estimates against the claimed value: {_e(title)}" '
                   f'src="{plots.estimates_png(found, title)}">')
    for t in timings(evidence):
        if budget.left <= 0:
            break
        budget.left -= 1
        out.append(f'<img alt="measured times: {_e(title)}" src="{plots.timing_png(t, title)}">')
    for cx in counterexamples(evidence):
        out.append(_counterexample_table(cx))
    return out


def _repairs(r: Result) -> list[str]:
    """Checked repairs of a refuted claim, each as a diff of the statement (escaped)."""

    out = []
    for s in suggestions(r):
        rows = "".join(f'<span class="{"del" if x.startswith("-") else "ins"}">{_e(x)}</span>\n'
                       for x in diff(s))
        out.append(f'<div class="repair"><p>did you mean ({_e(s.get("verdict"))}: '
                   f'{_e(s.get("edit"))})</p><pre class="diff">{rows}</pre></div>')
    return out


def _claim_section(r: Result, budget: _Budget) -> str:
    from derive.lexer import highlight_html

    parts = [f'<section class="claim" id="{_anchor(r)}">',
             f"<h3><code>{_e(r.id or r.file)}</code> {_badge(r.verdict)}"
             + ("" if r.as_expected else " <small>(not as expected)</small>") + "</h3>"]
    meta = []
    if r.title:
        meta.append(f"<b>{_e(r.title)}</b>")
    if r.source:
        meta.append(f"source: {_e(r.source)}")
    meta.append(f"<code>{_e(r.file)}:{r.line}</code>; expects {_e(r.expected)}; engine "
                f"{_e(r.engine or '—')}; {r.seconds:.2f} s")
    parts.append('<p class="meta">' + "<br>".join(meta) + "</p>")
    parts.append(f"<p>{_e(r.summary)}</p>")
    text = claim_text(r)
    if text:
        parts.append(f'<pre class="claimtext">{highlight_html(block(text))}</pre>')
    sts = statements(r)
    for st in sts:
        route = "/".join(x for x in (st.get("engine"), st.get("strategy")) if x) or "no engine"
        verdict = Verdict(st["verdict"]) if st.get("verdict") in _VERDICT_COLOURS else r.verdict
        parts.append(f'<div class="stmt"><p>line {_e(st.get("line", "?"))}: '
                     f"<code>{_e(st.get('statement', ''))}</code> {_badge(verdict)} "
                     f"<span class='meta'>[{_e(route)}]</span><br>{_e(st.get('summary', ''))}</p>")
        inner = st.get("evidence") if isinstance(st.get("evidence"), dict) else {}
        parts.extend(_figures(inner, f"line {st.get('line', '?')}", budget))
        parts.append("</div>")
    if not sts:
        parts.extend(_figures(r.evidence or {}, r.id or "", budget))
    parts.extend(_repairs(r))
    lines = evidence_lines(r)
    if lines:
        parts.append("<details><summary>evidence</summary><pre>" + _e("\n".join(lines)) +
                     "</pre></details>")
    if r.evidence:
        parts.append("<details><summary>evidence (JSON)</summary><pre>" +
                     _e(json.dumps(r.evidence, indent=2, ensure_ascii=False, default=str)) +
                     "</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def render(results: list[Result], title: str = "derive report", **_) -> str:
    s = summarize(results)
    budget = _Budget(MAX_PLOTS)
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script></head>")
    body = [f"<body><h1>{_e(title)}</h1>",
            f'<p class="meta">derive {__version__}; {s["total"]} claims; '
            + ("all as expected" if s["unexpected"] == 0 else f"{s['unexpected']} not as expected")
            + "</p>", "<table><tr><th>verdict</th><th>claims</th></tr>"]
    for k in ("proved", "verified", "refuted", "inconclusive", "unsupported", "skipped", "error"):
        if s[k]:
            body.append(f"<tr><td>{_badge(Verdict(k))}</td><td>{s[k]}</td></tr>")
    body.append("</table>")
    engines = by_engine(results)
    if engines:
        body.append("<table><tr><th>engine</th><th>verdicts</th></tr>" + "".join(
            f"<tr><td>{_e(e)}</td><td>{_e(', '.join(f'{n} {v}' for v, n in sorted(row.items())))}"
            "</td></tr>" for e, row in sorted(engines.items())) + "</table>")
    body.append('<p><label><input type="checkbox" onchange="deriveFilter(this.checked)"> '
                "only claims not as expected</label></p>")
    body.append('<table id="verdicts"><tr><th></th><th>claim</th><th>verdict</th><th>expects</th>'
                "<th>engine</th><th>s</th><th>where</th><th>summary</th></tr>")
    for r in results:
        cls = "row" + ("" if r.as_expected else " bad")
        body.append(f'<tr class="{cls}"><td>{"✓" if r.as_expected else "✗"}</td>'
                    f'<td><a href="#{_anchor(r)}"><code>{_e(r.id or "<file>")}</code></a></td>'
                    f"<td>{_badge(r.verdict)}</td><td>{_e(r.expected)}</td>"
                    f"<td>{_e(r.engine or '')}</td><td>{r.seconds:.2f}</td>"
                    f"<td><code>{_e(r.file)}:{r.line}</code></td><td>{_e(r.summary)}</td></tr>")
    body.append("</table><h2>Claims</h2>")
    body.extend(_claim_section(r, budget) for r in results)
    body.append("</body></html>")
    return head + "\n" + "\n".join(body) + "\n"


_FRAGMENT_CSS = """
.derive table{border-collapse:collapse;margin:.5em 0}.derive th,.derive td{border:1px solid #d0d7de;
 padding:.25em .6em;vertical-align:top;text-align:left}.derive th{background:#f6f8fa}
.derive .v{color:#fff;border-radius:1em;padding:0 .6em;font-size:.85em;white-space:nowrap}
.derive pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.85em}
.derive section.claim{border-top:1px solid #d0d7de;margin-top:.8em}.derive .meta{color:#59636e}
.derive img{max-width:42em;display:block;margin:.4em 0}.derive .stmt{margin-left:1em}
"""


def render_fragment(results: list[Result], note: str = "") -> str:
    """The claims' sections without a page around them, styles scoped to ``.derive`` (for a
    notebook's output area, which must not restyle the notebook)."""
    budget = _Budget(MAX_PLOTS)
    parts = [f"<div class=\"derive\"><style>{_FRAGMENT_CSS}</style>"]
    parts.extend(_claim_section(r, budget) for r in results)
    if note:
        parts.append(f'<p class="meta">{_e(note)}</p>')
    parts.append("</div>")
    return "\n".join(parts)
