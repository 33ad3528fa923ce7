"""JUnit XML: one ``<testcase>`` per claim, for CI systems that show test reports.

A result that is not as expected is a ``<failure>`` (a ``refuted`` claim that the notes
state as true is one) carrying the evidence; ``error`` verdicts are ``<error>``;
``skipped`` is ``<skipped>``.  A claim marked ``expect refuted`` that is refuted passes.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from derive.outcome import Result, Verdict
from derive.report.summary import summarize
from derive.report.evidence import evidence_text, location
from derive.report.safe import block
from derive.version import __version__

_ILLEGAL = {c: None for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)}


def _clean(text: str) -> str:
    """Text XML 1.0 can hold, shown as written: control, bidi and invisible characters made
    visible (ElementTree escapes the markup characters)."""
    return block(str(text)).translate(_ILLEGAL)


def _classname(path: str) -> str:
    name = path.replace("\\", "/")
    for suffix in (".claims", ".md", ".markdown"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name.strip("./").replace("/", ".") or "claims"


def render(results: list[Result], **_) -> str:
    s = summarize(results)
    root = ET.Element("testsuites", name="derive", tests=str(len(results)),
                      failures=str(sum(1 for r in results if not r.as_expected
                                       and r.verdict != Verdict.ERROR)),
                      errors=str(s["error"]), skipped=str(s["skipped"]),
                      time=f"{sum(r.seconds for r in results):.3f}")
    by_file: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_file[r.file].append(r)
    for file, group in by_file.items():
        suite = ET.SubElement(
            root, "testsuite", name=_clean(_classname(file)), file=_clean(file),
            tests=str(len(group)),
            failures=str(sum(1 for r in group if not r.as_expected and r.verdict != Verdict.ERROR)),
            errors=str(sum(1 for r in group if r.verdict == Verdict.ERROR)),
            skipped=str(sum(1 for r in group if r.verdict == Verdict.SKIPPED)),
            time=f"{sum(r.seconds for r in group):.3f}")
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="derive.version", value=__version__)
        for r in group:
            _, line = location(r)
            case = ET.SubElement(suite, "testcase", classname=_clean(_classname(r.file)),
                                 name=_clean(r.id or f"<file {r.file}>"), file=_clean(r.file),
                                 line=str(r.line), time=f"{r.seconds:.3f}")
            cprops = ET.SubElement(case, "properties")
            for key, value in (("verdict", r.verdict.value), ("expected", r.expected),
                               ("engine", r.engine or ""), ("title", r.title or ""),
                               ("source", r.source or "")):
                ET.SubElement(cprops, "property", name=key, value=_clean(value))
            text = _clean(evidence_text(r))
            message = _clean(f"{r.verdict.value} (expected {r.expected}) at {r.file}:{line}: "
                             f"{r.summary}")
            if r.verdict == Verdict.ERROR:
                ET.SubElement(case, "error", message=message, type="error").text = text
            elif not r.as_expected:
                ET.SubElement(case, "failure", message=message, type=r.verdict.value).text = text
            elif r.verdict == Verdict.SKIPPED:
                ET.SubElement(case, "skipped", message=_clean(r.summary))
            else:
                ET.SubElement(case, "system-out").text = text
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
