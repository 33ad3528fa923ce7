"""Authoring: ``derive new`` templates, ``derive explain``, colour and the progress bar."""
from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner

import derive_fakes
from derive.authoring import KINDS, template
from derive.cli import ProgressBar, main
from derive.language.load import load_path, load_text
from derive.report.text import use_colour
from derive.semantics import check_claim


@pytest.mark.parametrize("kind", KINDS)
def test_each_template_loads_and_checks(kind):
    text = template(f"hw.{kind}", kind, title='a "quoted" title')
    loaded = load_text(text, "t.claims")
    assert not loaded.broken, [d.render() for d in loaded.diagnostics]
    (claim,) = loaded.claims
    assert claim.id == f"hw.{kind}" and claim.title == "a 'quoted' title"
    checked, diags = check_claim(claim, text.split("\n"))
    assert checked is not None, [d.render() for d in diags]
    assert claim.shows


def test_templates_differ_by_kind():
    assert len({template("a.b", k) for k in KINDS}) == len(KINDS)
    assert "time[" in template("a.b", "cost") and "E[" in template("a.b", "expectation")
    assert "grad(" in template("a.b", "gradient") and "<=>" in template("a.b", "condition")


def test_new_prints_and_appends(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["new", "hw9.t1.var", "--kind", "expectation"])
    assert res.exit_code == 0 and res.stdout.startswith('claim hw9.t1.var "')
    target = tmp_path / "hw9.claims"
    for cid, kind in (("hw9.a", "identity"), ("hw9.b", "cost")):
        res = runner.invoke(main, ["new", cid, "--kind", kind, "--append", str(target)])
        assert res.exit_code == 0, res.output
    loaded = load_path(target)
    assert [c.id for c in loaded.claims] == ["hw9.a", "hw9.b"] and not loaded.broken
    assert "\n\nclaim hw9.b" in target.read_text(encoding="utf-8")
    res = runner.invoke(main, ["new", "hw9.a", "--append", str(target)])
    assert res.exit_code == 2 and "already has a claim hw9.a" in res.output
    res = runner.invoke(main, ["new", "not an id"])
    assert res.exit_code == 2
    res = runner.invoke(main, ["new", "x.y", "--kind", "poem"])
    assert res.exit_code == 2


CLAIMS = """claim e.ok
  let x : real
  show x + x == 2*x

claim e.wrong "the notes' version"
  source "HW1"
  let x, y : real
  show x*y == x + y
"""


def test_explain_shows_route_evidence_and_reproduction(monkeypatch, tmp_path):
    calls = derive_fakes.install(monkeypatch)
    path = tmp_path / "e.claims"
    path.write_text(CLAIMS, encoding="utf-8")
    runner = CliRunner()
    args = ["explain", "e.wrong", str(path), "--no-isolation", "--seed", "3",
            "--cache-dir", str(tmp_path / "cache")]
    res = runner.invoke(main, args)
    assert res.exit_code == 1, res.output
    out = res.stdout
    assert calls == ["e.wrong"]  # only the claim asked about is decided
    assert "verdict:  refuted (expects holds; NOT as expected)" in out
    assert "source:   HW1" in out
    assert "show x*y == x + y" in out  # the claim text
    assert "line 8:" in out and "decided refuted by numeric/random_instances" in out
    assert 'counterexample: {"sizes": {"n": 2}' in out
    assert f"derive explain e.wrong {path} --seed 3" in out
    # the second time the result comes from the cache
    res = runner.invoke(main, args)
    assert calls == ["e.wrong"] and res.stdout == out
    res = runner.invoke(main, args + ["--json"])
    doc = json.loads(res.stdout)
    assert doc["verdict"] == "refuted" and doc["reproduce"].startswith("derive explain e.wrong")
    res = runner.invoke(main, ["explain", "e.ok", str(path), "--no-isolation", "--no-cache"])
    assert res.exit_code == 0 and "decided proved" in res.stdout
    res = runner.invoke(main, ["explain", "e.nope", str(path), "--no-isolation"])
    assert res.exit_code == 2 and "no claim 'e.nope'" in res.output
    # -k style substring matches are not enough: 'e.wron' is not a claim
    res = runner.invoke(main, ["explain", "e.wron", str(path), "--no-isolation"])
    assert res.exit_code == 2


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_colour(_TTY()) is True
    assert use_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(_TTY()) is False


def test_check_output_is_plain_when_not_a_terminal(monkeypatch, tmp_path):
    derive_fakes.install(monkeypatch)
    path = tmp_path / "e.claims"
    path.write_text(CLAIMS, encoding="utf-8")
    res = CliRunner().invoke(main, ["check", str(path), "--no-isolation", "--no-cache"])
    assert res.exit_code == 1
    assert "\x1b[" not in res.stdout and res.stderr == ""  # no colour, no progress bar


def test_progress_bar_appears_only_for_runs_longer_than_a_moment(monkeypatch):
    from rich.console import Console

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert ProgressBar.for_stderr() is None  # not a terminal: no bar
    bar = ProgressBar()
    sink = _TTY()
    bar.console = Console(file=sink, force_terminal=True, width=100)
    bar.start(3)
    r = derive_fakes.result("a.b")
    bar.advance(r)  # quick: nothing shown yet
    assert bar.progress is None
    bar._t0 -= 10  # pretend the run has taken a while
    bar.advance(r)
    assert bar.progress is not None
    bar.advance(r)
    task = bar.progress.tasks[0]
    assert task.completed == 3 and task.total == 3
    bar.stop()
    assert "deciding" in sink.getvalue()


def test_pre_commit_hooks_name_real_commands():
    from pathlib import Path

    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"derive-fmt", "derive-fmt-check", "derive-check"}
    for hook in hooks:
        assert hook["language"] == "python" and hook["entry"].startswith("derive ")
        words = hook["entry"].split()[1:]
        res = CliRunner().invoke(main, words + ["--help"])
        assert res.exit_code == 0, hook
