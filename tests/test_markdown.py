"""Claims inside course notes: ``derive check notes.md`` reports at the lines of the .md."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import derive_fakes
from derive.cli import main

NOTES = """# Homework 1

Gradient descent on a scalar problem.  The update is linear in w, so:

```claim
claim notes.linear "w + w = 2w"
  let w : real
  show w + w == 2*w
```

Some prose in between, with a fake fence that is not a claim:

```python
claim = "not a claim"
```

And the product rule as the notes (wrongly) state it:

```claim
claim notes.wrong_product "xy = x + y"
  let x, y : real
  show x*y == x + y
```
"""


@pytest.fixture()
def notes(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(NOTES, encoding="utf-8")
    (tmp_path / "other.claims").write_text("claim other.one\n  let x : real\n  show x == x\n",
                                           encoding="utf-8")
    return path


def test_check_markdown_reports_the_wrong_claim_at_its_md_line(monkeypatch, notes):
    derive_fakes.install(monkeypatch)
    runner = CliRunner()
    res = runner.invoke(main, ["check", str(notes), "--no-isolation", "--no-cache"])
    assert res.exit_code == 1
    wrong = [ln for ln in res.stdout.splitlines() if "notes.wrong_product" in ln]
    assert len(wrong) == 1 and wrong[0].startswith("XX refuted")
    assert f"[{notes}:20]" in wrong[0]  # the claim header's line in the .md
    assert any(ln.startswith("ok proved") and f"[{notes}:6]" in ln for ln in res.stdout.splitlines())
    res = runner.invoke(main, ["check", str(notes), "--no-isolation", "--no-cache",
                               "--format", "github"])
    assert f"::error file={notes},line=22,title=notes.wrong_product" in res.stdout


def test_directories_recurse_claims_files_only(monkeypatch, notes):
    derive_fakes.install(monkeypatch)
    res = CliRunner().invoke(main, ["check", str(notes.parent), "--no-isolation", "--no-cache",
                                    "--format", "json"])
    ids = [c["id"] for c in json.loads(res.stdout)["claims"]]
    assert ids == ["other.one"]


def test_list_and_explain_accept_markdown(monkeypatch, notes):
    derive_fakes.install(monkeypatch)
    runner = CliRunner()
    res = runner.invoke(main, ["list", str(notes)])
    assert res.exit_code == 0
    assert f"notes.wrong_product  [{notes}:20]" in res.stdout
    res = runner.invoke(main, ["explain", "notes.wrong_product", str(notes), "--no-isolation",
                               "--no-cache"])
    assert res.exit_code == 1
    assert "claim notes.wrong_product" in res.stdout and "show x*y == x + y" in res.stdout


def test_real_engines_refute_the_wrong_claim(notes):
    """With the real engines (in isolated workers): the wrong claim is refuted at its line."""
    from derive.decide import engines

    if not {"symbolic", "numeric"} <= set(engines()):
        pytest.skip("the symbolic and numeric engines are not installed yet")
    res = CliRunner().invoke(main, ["check", str(notes), "--no-cache", "--format", "json"])
    doc = json.loads(res.stdout)
    by_id = {c["id"]: c for c in doc["claims"]}
    assert by_id["notes.wrong_product"]["verdict"] == "refuted"
    assert by_id["notes.wrong_product"]["line"] == 20
    assert by_id["notes.linear"]["verdict"] in ("proved", "verified")
    assert res.exit_code == 1
