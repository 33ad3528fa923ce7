"""Claims in Jupyter notebooks: `derive check course.ipynb` (positions are cells and lines),
and the ``%%claim`` cell magic of ``%load_ext derive`` (a warm, in-process engine whose
verdict renders as HTML with its evidence and the seed)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

from derive.runner import plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "tests" / "data" / "course.ipynb"


def _notebook(tmp_path, *cells) -> Path:
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.cells = [new_code_cell(c[5:]) if c.startswith("code:") else new_markdown_cell(c) for c in cells]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_markdown_cells_with_claim_blocks_are_claims_named_by_cell():
    jobs, errors, claims = plan([str(COURSE)])
    assert not errors
    assert [(c.id, c.file, c.pos.line) for c in claims] == [
        ("nb.gd.stable", f"{COURSE}#cell2", 2), ("nb.square_of_sum", f"{COURSE}#cell4", 4)]


def test_an_error_points_at_the_cell_and_its_line(tmp_path):
    path = _notebook(tmp_path, "# intro", "code:x = 1",
                     "text\n\n```claim\nclaim nb.bad\n  let x : vector[n]\n  show x @ x == 1\n```")
    _, errors, _ = plan([str(path)])
    (err,) = errors
    (d,) = err.evidence["diagnostics"]
    assert (d["file"], d["line"], d["column"]) == (f"{path}#cell3", 5, 18)
    from derive.errors import Diagnostic

    rendered = Diagnostic(**{k: d[k] for k in ("message", "file", "line", "column", "hint")},
                          source_line="  let x : vector[n]").render()
    assert rendered.startswith(f"{path}#cell3:5:18: error:")


def test_a_file_that_is_not_a_notebook_is_one_clear_error(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    _, errors, _ = plan([str(path)])
    (err,) = errors
    assert "not a Jupyter notebook" in err.summary
    assert "Markdown cells" in err.evidence["diagnostics"][0]["hint"]


def test_notebook_code_cells_are_never_run(tmp_path):
    path = _notebook(tmp_path, "code:import os; os.system('touch PWNED')",
                     "```claim\nclaim nb.ok\n  let a : real\n  show a + 0 == a\n```")
    _, errors, claims = plan([str(path)])
    assert not errors and [c.id for c in claims] == ["nb.ok"]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.slow
def test_the_cell_magic_renders_the_verdict_evidence_and_seed():
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "derive")
    out = ip.run_cell("%%claim --seed 3\nclaim t.sq \"the square of a sum\"\n  let a, b : real\n"
                      "  show (a + b)^2 == a^2 + b^2\n").result
    (r,) = out.results
    assert r.verdict.value == "refuted" and r.file.startswith("cell[")
    html = out._repr_html_()
    assert 'class="derive"' in html and "counterexample" in html
    assert "%%claim --seed 3" in html and "refuted" in html
    assert "<body" not in html  # a fragment: it must not restyle the notebook
    bad = ip.run_cell("%%claim --sed 3\nclaim t.x\n  let a : real\n  show a == a\n").result
    assert bad is None  # an unknown option is reported, nothing decided
