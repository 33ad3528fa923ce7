"""A Pygments lexer for the claims language (``.claims`` files and ```claim fences).

Registered as the Pygments entry point ``claims``, so ``pygmentize -l claims`` and
Markdown renderers that use Pygments highlight claim files; the HTML report uses it too.
"""
from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (Comment, Keyword, Name, Number, Operator, Punctuation, String,
                            Text, Whitespace)

from derive.language.functions import (CONSTANTS, COST_NAMES, DISTRIBUTIONS, FUNCTION_ALIASES,
                                       FUNCTIONS, STAT_NAMES)

_KEYWORDS = ("let", "show", "assume", "expect", "source", "tags", "within", "rel", "on", "at",
             "for", "in", "and", "or", "not", "if", "else", "exists")
_TYPES = ("real", "integer", "complex", "dim", "vector", "matrix", "tensor")
_EXPECTATIONS = ("holds", "proved", "verified", "refuted", "inconclusive", "any")
_W = r"(?![\w])"
# distributions without parameters are written bare (rademacher), like constants
_BARE_LAWS = tuple(sorted(n for n, (lo, hi) in DISTRIBUTIONS.items() if hi == 0))


class ClaimsLexer(RegexLexer):
    """Claims of derive: ``claim id "title"`` headers, ``let``/``show`` statements, math."""

    name = "Claims"
    aliases = ["claims", "claim", "derive"]
    filenames = ["*.claims"]
    mimetypes = ["text/x-derive-claims"]

    tokens = {
        "root": [
            (r"\n", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'^(claim)([ \t]+)([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)',
             bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (r"(expect)([ \t]+)(\w+)", bygroups(Keyword, Whitespace, Name.Constant)),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (words(_KEYWORDS, suffix=_W), Keyword),
            (words(_TYPES, suffix=_W), Keyword.Type),
            (words(tuple(sorted(STAT_NAMES | COST_NAMES)), suffix=r"(?=\[)"), Name.Builtin.Pseudo),
            (words(tuple(sorted(FUNCTIONS)) + tuple(sorted(FUNCTION_ALIASES))
                   + tuple(sorted(DISTRIBUTIONS)), suffix=r"(?=\()"),
             Name.Builtin),
            (words(tuple(sorted(CONSTANTS)) + _BARE_LAWS, suffix=_W), Name.Constant),
            (words(_EXPECTATIONS, prefix=r"(?<=expect )", suffix=_W), Name.Constant),
            (r"\d+(?:\.\d+)?(?:[eE][+\-]?\d+)?j?", Number),
            (r"⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|ᵀ|\.T(?!\w)|'", Operator),
            (r"<=>|<->|=>|->|==|!=|~=|<=|>=|\.\.|\.\*|\.\^|\*\*|[⇔↔⇒⟹→≠≤≥≈~<>=+\-−*/@⊙·×∘⋅^⊗√]",
             Operator),
            (r"‖(?:_?[₁₂∞]|_\{?(?:1|2|F|fro|inf|∞)\}?)?|\|", Operator),
            (r"[()\[\],;:]", Punctuation),
            (r"[^\W\d](?:(?![ᵀ⁻⁰¹²³⁴⁵⁶⁷⁸⁹])\w)*", Name),
            (r"[ \t\f]+", Whitespace),
            (r"\\\n", Text),
            (r".", Text),
        ],
    }


def highlight_html(text: str) -> str:
    """Claim text as HTML with inline styles (for the self-contained HTML report)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    return highlight(text, ClaimsLexer(), HtmlFormatter(noclasses=True, nowrap=True))


def textmate_grammar() -> dict:
    """The TextMate grammar of editors/vscode, built from the same word lists as the lexer
    (tests/test_editors.py checks the shipped file is this, so the two cannot drift)."""
    import re

    def alt(names) -> str:
        return "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))

    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "derive claims",
        "scopeName": "source.claims",
        "fileTypes": ["claims"],
        "patterns": [
            {"name": "comment.line.number-sign.claims", "match": "#.*$"},
            {"match": r"^(claim)\s+([A-Za-z_][\w\-]*(?:\.[\w\-]+)*)",
             "captures": {"1": {"name": "keyword.declaration.claims"},
                          "2": {"name": "entity.name.type.claims"}}},
            {"match": r"\b(expect)\s+(\w+)",
             "captures": {"1": {"name": "keyword.other.claims"},
                          "2": {"name": "constant.language.claims"}}},
            {"name": "string.quoted.double.claims", "match": r'"(?:[^"\\]|\\.)*"'},
            {"name": "keyword.other.claims", "match": rf"\b(?:{alt(_KEYWORDS)})\b"},
            {"name": "storage.type.claims", "match": rf"\b(?:{alt(_TYPES)})\b"},
            {"name": "support.function.statistic.claims",
             "match": rf"\b(?:{alt(STAT_NAMES | COST_NAMES)})(?=\[)"},
            {"name": "support.function.claims",
             "match": rf"\b(?:{alt(set(FUNCTIONS) | set(DISTRIBUTIONS))})(?=\()"},
            {"name": "constant.language.claims",
             "match": rf"\b(?:{alt(set(CONSTANTS) | set(_BARE_LAWS))})\b"},
            {"name": "constant.numeric.claims", "match": r"\b\d+(?:\.\d+)?(?:[eE][+\-]?\d+)?j?\b"},
            {"name": "keyword.operator.claims",
             "match": r"<=>|=>|==|!=|~=|<=|>=|\.\.|\.\*|\.\^|\*\*|[⇔⇒≠≤≥≈~<>=+\-−*/@⊙·×∘⋅^ᵀ]"},
        ],
    }
