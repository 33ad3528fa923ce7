"""The corpus stays honest: every checkable result of the notes has a claim under its id,
every claim file loads and type-checks, and every claim has a source and a title."""
from __future__ import annotations

from pathlib import Path

import pytest

from derive.runner import plan

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "claims"


def notes_ids() -> list[str]:
    lines = (CLAIMS / "notes-index.txt").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


@pytest.fixture(scope="module")
def corpus():
    jobs, errors, claims = plan([str(CLAIMS)])
    return jobs, errors, claims


def test_the_index_lists_the_132_checkable_results():
    ids = notes_ids()
    assert len(ids) == 132 and len(set(ids)) == 132
    assert ids[0] == "hw1.t1.gd_update" and ids[-1] == "hw11.t3.one_layer_decomp"


def test_every_notes_id_has_a_claim(corpus):
    _, _, claims = corpus
    have = {c.id for c in claims}
    missing = [i for i in notes_ids() if i not in have]
    assert not missing, f"no claim for: {missing}"


def test_every_claim_file_loads_and_checks(corpus):
    _, errors, _ = corpus
    assert not errors, "\n".join(f"{e.file}:{e.line}: {e.summary}" for e in errors)


def test_notes_claims_have_source_and_title(corpus):
    _, _, claims = corpus
    ids = set(notes_ids())
    lacking = [c.id for c in claims if c.id in ids and (not c.source or not c.title)]
    assert not lacking, lacking


def test_paper_claims_quote_their_abstract(corpus):
    _, _, claims = corpus
    papers = [c for c in claims if c.id.startswith("papers.")]
    assert all(c.source for c in papers), [c.id for c in papers if not c.source]
    quoting = [c for c in papers if "'" in c.source]
    assert len(quoting) >= 15, len(quoting)


def test_refuted_expectations_carry_a_correction(corpus):
    """A claim that expects refutation says, in a comment, what the right statement is."""
    _, _, claims = corpus
    silent = [c.id for c in claims if c.expect == "refuted" and "#" not in c.text]
    assert not silent, silent
