"""Authoring helpers: claim templates (``derive new``) and full explanations (``derive explain``)."""
from __future__ import annotations

import json
import re
import shlex
from typing import Optional

from derive.outcome import Result
from derive.report.evidence import claim_text, evidence_lines, link_lines, statements
from derive.report.safe import block, plain

KINDS = ("identity", "expectation", "gradient", "cost", "condition")

_TEMPLATES = {
    "identity": '''claim {id} "{title}"
  source "where in the notes"
  let n : dim
  let A, B : matrix[n, n]
  show (A + B)ᵀ == Aᵀ + Bᵀ
''',
    "expectation": '''claim {id} "{title}"
  source "where in the notes"
  let d : dim
  let σ : real > 0
  let x : vector[d] ~ normal(0, σ^2)   # iid entries
  show E[x · x] == d*σ^2
''',
    "gradient": '''claim {id} "{title}"
  source "where in the notes"
  let n : dim
  let w, x : vector[n]
  let y : real
  show grad((x · w - y)^2, w) == 2*(x · w - y)*x
''',
    "cost": '''claim {id} "{title}"
  source "where in the notes"
  let n in [256, 512, 1024]            # the sizes to measure at
  let A, B : matrix[n, n] ~ normal(0, 1)
  let v : vector[n] ~ normal(0, 1)
  show time[(A @ B) @ v] > time[A @ (B @ v)]
  show flops[A @ (B @ v)] ~ n^2
''',
    "condition": '''claim {id} "{title}"
  source "where in the notes"
  let σ : real != 0
  let η : real > 0
  show abs(1 - 2*η*σ^2) < 1 <=> η < 1/σ^2
''',
}

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_\-]+)*$")


def template(claim_id: str, kind: str = "identity", title: Optional[str] = None) -> str:
    """A claim of the given kind to edit, with a valid id; it parses and passes the checks."""
    if kind not in _TEMPLATES:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if not _ID.match(claim_id):
        raise ValueError(f"{claim_id!r} is not a claim id (letters, digits, _ and -, "
                         "parts joined by dots)")
    title = (title or f"the {kind} as the notes state it").replace('"', "'")
    return _TEMPLATES[kind].format(id=claim_id, title=title)


def reproduce_command(result: Result, seed: int, device: str = "auto") -> str:
    """The command that re-runs exactly this claim with the same seed."""
    parts = ["derive", "explain", result.id or "", result.file, "--seed", str(seed)]
    if device != "auto":
        parts += ["--device", device]
    return " ".join(shlex.quote(p) for p in parts)


def _certificate_of(ev: dict) -> Optional[dict]:
    """A proof's certificate: in the statement's evidence, or in the symbolic verdict kept
    there when the cross-check changed the outcome."""
    cert = ev.get("certificate")
    if isinstance(cert, dict):
        return cert
    sym = ev.get("symbolic")
    if isinstance(sym, dict) and isinstance(sym.get("evidence"), dict):
        cert = sym["evidence"].get("certificate")
        if isinstance(cert, dict):
            return cert
    return None


def certificate_lines(cert: Optional[dict]) -> list[str]:
    """A proof certificate as explain prints it: the route, the hypotheses used, each side
    condition with how it was discharged, and anything else it records."""
    if not cert:
        return []
    out = [f"    certificate: {cert.get('route', '?')}"]
    for h in cert.get("hypotheses", []) or []:
        out.append(f"      hypothesis: {h}")
    for sc in cert.get("side_conditions", []) or []:
        if isinstance(sc, dict):
            out.append(f"      side condition: {sc.get('condition')} — {sc.get('discharged')}")
        else:
            out.append(f"      side condition: {sc}")
    for key, value in cert.items():
        if key not in ("route", "hypotheses", "side_conditions"):
            out.append(f"      {key.replace('_', ' ')}: {value}")
    return out

def describe_fault(record: dict) -> str:
    """One line for an engine's internal error (see :mod:`derive.faults`)."""
    from derive.faults import describe

    return describe(record)


def explain(result: Result, seed: int, device: str = "auto", as_json: bool = False) -> str:
    """Everything about one result: the claim, its verdict, the route each statement took
    through the engines, the evidence, and how to reproduce it."""
    if as_json:
        doc = result.as_dict()
        doc["reproduce"] = reproduce_command(result, seed, device)
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"
    out = [f"claim {plain(result.id)}  [{plain(result.file)}:{result.line}]"]
    if result.title:
        out.append(f"  title:    {plain(result.title)}")
    if result.source:
        out.append(f"  source:   {plain(result.source)}")
    out.append(f"  verdict:  {result.verdict.value} (expects {result.expected}; "
               f"{'as expected' if result.as_expected else 'NOT as expected'})")
    out.append(f"  engine:   {result.engine or '-'}   {result.seconds:.3f} s")
    out.append(f"  summary:  {plain(result.summary)}")
    text = claim_text(result)
    if text:
        out += ["", "text:"] + ["  " + line for line in text.split("\n")]
    sts = statements(result)
    if sts:
        out += ["", "route:"]
        for st in sts:
            out.append(f"  line {st.get('line', '?')}: {st.get('statement', '')}")
            ev = st.get("evidence") if isinstance(st.get("evidence"), dict) else {}
            for reason in ev.get("reasons", []) or []:
                out.append(f"    tried   {reason}")
            for dec in ev.get("declined", []) or []:
                if isinstance(dec, dict):
                    out.append(f"    passed  {dec.get('engine')}/{dec.get('strategy')}: "
                               f"{dec.get('reason', '')}")
            for fault in ev.get("internal_errors", []) or []:
                if isinstance(fault, dict):
                    out.append(f"    FAULT   {describe_fault(fault)}")
            sym = ev.get("symbolic")
            if isinstance(sym, dict):
                out.append(f"    symbolic {sym.get('verdict')}: {sym.get('summary', '')}")
            route = "/".join(x for x in (st.get("engine"), st.get("strategy")) if x) or "no engine"
            out.append(f"    decided {st.get('verdict', '?')} by {route}: {st.get('summary', '')}")
            out += certificate_lines(_certificate_of(ev))
            if isinstance(ev.get("links"), list):  # a derivation, link by link
                out.extend(link_lines(ev["links"], limit=2000, indent="      "))
            cross = ev.get("cross_check")
            if isinstance(cross, dict):
                out.append(f"    cross-check (numeric): {cross.get('verdict')}: "
                           f"{cross.get('summary', '')}")
    lines = evidence_lines(result, limit=2000)
    if lines:
        out += ["", "evidence:"] + ["  " + line for line in lines]
    out += ["", "reproduce:", "  " + reproduce_command(result, seed, device),
            "  " + " ".join(shlex.quote(p) for p in
                            ["derive", "check", result.file, "-k", result.id or "", "--seed",
                             str(seed), "--no-cache", "--format", "json"])]
    return block("\n".join(out)) + "\n"  # claim text shown, never interpreted by a terminal
