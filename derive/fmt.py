"""``derive fmt``: canonical layout of claim files, comments kept.

A line-based formatter: each statement line is re-tokenised and re-spaced by fixed rules
(binary operators spaced except ``^`` and ``..``, products
tight beside a lower-precedence operator as gofmt does, no space inside brackets or before ``,``, calls and
indexing tight, unary minus tight), claim headers sit at column 0 and body lines are
indented two spaces (lines continued inside brackets four more), trailing whitespace and
repeated blank lines go, one blank line separates claims.  Trailing comments keep their
column when there is room (so aligned comments stay aligned), else sit two spaces after
the code.

Safety: the formatted text is parsed again and must give the same claim models (the
frozen dataclasses compare without positions) and the same number of broken chunks;
otherwise the file is left as it was.  ``fmt(fmt(x)) == fmt(x)`` holds by construction.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from derive.language.functions import COST_NAMES, STAT_NAMES
from derive.language.load import load_text, markdown_to_claims

BODY = "  "
CONTINUATION = BODY + "    "

_TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+\-]?\d+)?j?)
  | (?P<post>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+|ᵀ|\.T(?!\w)|')
  | (?P<op><=>|<->|=>|->|==|!=|~=|<=|>=|\.\.|\.\*|\.\^|\*\*|[⇔↔⇒⟹→≠≤≥≈~<>=+\-−*/@⊙·×∘⋅^⊗√∃])
  | (?P<bar>‖(?:_?[₁₂∞]|_\{?(?:1|2|F|fro|inf|∞)\}?)?|\|)
  | (?P<open>[(\[])
  | (?P<close>[)\]])
  | (?P<punct>[,;:])
  | (?P<name>[^\W\d](?:(?![ᵀ⁻⁰¹²³⁴⁵⁶⁷⁸⁹])\w)*)
  | (?P<space>[ \t\f]+)
""", re.X)

_KEYWORDS = {"claim", "let", "show", "assume", "expect", "source", "tags", "within", "rel", "on",
             "at", "for", "in", "and", "or", "not", "exists"}
_TIGHT_OPS = {"^", "**", ".^", ".."}
_NOT_INDEX = STAT_NAMES | COST_NAMES  # brackets, not indexing
# after these a '-' or '+' is a sign, not a binary operator
_PREFIX_CONTEXT = {"op", "open", "punct", "keyword", None}


@dataclass
class Tok:
    kind: str
    text: str


def tokenize(code: str) -> Optional[list[Tok]]:
    """Tokens of a line's code part, or None when something is not recognised."""
    out: list[Tok] = []
    brackets: list[list] = []   # per open bracket: [is E[…]/P[…], |…| bars open in it]
    pos = 0
    while pos < len(code):
        m = _TOKEN.match(code, pos)
        if not m or m.end() == pos:
            return None
        kind = m.lastgroup or ""
        text = m.group()
        pos = m.end()
        if kind == "space":
            continue
        if kind == "name" and text in _KEYWORDS:
            kind = "keyword"
        if kind == "bar":  # |x| and ‖x‖: an opening bar follows an operator or nothing
            kind = _bar_kind(text, out[-1] if out else None, brackets[-1] if brackets else None)
        elif kind == "open":
            prev = out[-1] if out else None
            brackets.append([text == "[" and prev is not None and prev.text in ("E", "P"), 0])
        elif kind == "close" and brackets:
            brackets.pop()
        out.append(Tok(kind, text))
    return out


def _bar_kind(text: str, prev: Optional[Tok], bracket: Optional[list]) -> str:
    """``baropen``/``barclose`` for |x| and ‖x‖, or ``op`` for the conditioning bar of
    ``E[X | Y]`` (a '|' after an operand, directly inside E[…]/P[…], no |…| open there)."""
    opening = prev is None or prev.kind in _PREFIX_CONTEXT | {"baropen"} \
        or (prev.kind == "op" and prev.text == "√")
    if text != "|" or bracket is None:
        return "baropen" if opening else "barclose"
    if not opening and bracket[0] and bracket[1] == 0:
        return "op"
    bracket[1] += 1 if opening else -1
    return "baropen" if opening else "barclose"


def _unary(prev: Optional[Tok]) -> bool:
    if prev is None:
        return True
    return prev.kind in _PREFIX_CONTEXT and not (prev.kind == "keyword" and prev.text == "claim")


_MULT = {"*", "/"}
_MATMUL_CLASS = {"@", "⊙", "·", ".*", "×", "∘", "⋅"}
_LOWER = {"|", "+", "-", "−", "==", "!=", "≠", "<", "<=", "≤", ">", ">=", "≥", "≈", "~=", "~", "=",
          "<=>", "<->", "⇔", "↔", "=>", "⇒", "⟹", "->", "→", "and", "or", "not"}
_SPLITTING_KEYWORDS = _KEYWORDS - {"and", "or", "not"}
_INDEX_OPS = {"+", "-", "−", "*"}


def _tight_products(tokens: list[Tok]) -> set[int]:
    """Indices of ``*`` and ``/`` written without spaces: gofmt's rule, simplified.

    Within one bracket level between commas, products are tight when a lower-precedence
    operator is present (``1 - 2*η*σ^2``) and no matrix-class product shares their term
    (so ``A @ B / 2`` never looks like ``A @ (B/2)``).
    """
    segments: list[list[int]] = [[]]
    stack: list[list[int]] = []
    current = segments[0]
    index_segments: list[list[int]] = []  # the parts of x[t+1] and matrix[n-k+1, n]
    for i, tok in enumerate(tokens):
        if tok.kind == "open":
            stack.append(current)
            current = []
            segments.append(current)
            prev = tokens[i - 1] if i else None
            if tok.text == "[" and prev is not None and prev.kind in ("name", "close", "post") \
                    and prev.text not in _NOT_INDEX:
                index_segments.append(current)
        elif tok.kind == "close":
            current = stack.pop() if stack else current
        elif (tok.kind == "punct" and tok.text in ",;") or (
                tok.kind == "keyword" and tok.text in _SPLITTING_KEYWORDS):
            inside_index = any(current is seg for seg in index_segments)
            current = []
            segments.append(current)
            if inside_index and tok.text == ",":
                index_segments.append(current)
        else:
            current.append(i)
    tight: set[int] = set()
    for seg in index_segments:  # simple index arithmetic is written tight: w[t+1]
        if seg and all(tokens[i].kind in ("name", "number") or
                       (tokens[i].kind == "op" and tokens[i].text in _INDEX_OPS) for i in seg):
            tight.update(i for i in seg if tokens[i].kind == "op")
    for seg in segments:
        ops = {tokens[i].text for i in seg if tokens[i].kind in ("op", "keyword")}
        if not ops & _LOWER:
            continue
        term: list[int] = []
        for i in seg + [-1]:  # split the level into terms at lower-precedence operators
            if i == -1 or (tokens[i].kind in ("op", "keyword") and tokens[i].text in _LOWER):
                if not any(tokens[j].text in _MATMUL_CLASS for j in term):
                    tight.update(j for j in term if tokens[j].kind == "op"
                                 and tokens[j].text in _MULT)
                term = []
            else:
                term.append(i)
    return tight


def respace(tokens: list[Tok], depth: int, after: Optional[Tok] = None) -> str:
    """Join tokens with canonical spacing; ``depth`` is the bracket depth at the line start and
    ``after`` the last token of the line this one continues (a leading ``+`` after an operand
    is binary)."""
    out: list[str] = []
    prev: Optional[Tok] = None
    unary_pending = False
    tight = _tight_products(tokens)
    for i, tok in enumerate(tokens):
        space = True
        if prev is None:
            space = False
        elif tok.kind in ("post", "close", "barclose") or (tok.kind == "punct" and tok.text in ",;"):
            space = False
        elif tok.kind == "punct" and tok.text == ":" and prev.text in ("exists", "∃"):
            space = False  # 'show exists: …'
        elif tok.kind == "punct" and tok.text == ":":
            space = depth == 0 and prev.kind not in ("open",)  # 'let x : real'; a slice is bare
            if depth > 0 and prev.text == ",":
                space = True
        elif prev.kind in ("open", "baropen") or (prev.kind == "op" and prev.text == "√"):
            space = False
        elif unary_pending:
            space = False
        elif tok.kind == "open" and prev.kind in ("name", "close", "post", "string", "number"):
            space = False  # calls and indexing
        elif tok.kind == "op" and (tok.text in _TIGHT_OPS or i in tight):
            space = False
        elif prev.kind == "op" and (prev.text in _TIGHT_OPS or i - 1 in tight):
            space = False
        elif prev.kind == "punct" and prev.text == ":" and depth > 0:
            space = False
        unary_pending = False
        if tok.kind == "op" and tok.text in ("-", "+", "−") and _unary(prev if out else after):
            unary_pending = True
        if space:
            out.append(" ")
        out.append(tok.text)
        if tok.kind == "open":
            depth += 1
        elif tok.kind == "close":
            depth = max(0, depth - 1)
        prev = tok
    return "".join(out)


def split_comment(line: str) -> tuple[str, Optional[str], int]:
    """(code, comment or None, column of '#')."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i], line[i:].rstrip(), i
    return line, None, -1


_HEADER = re.compile(r'^claim\s+([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*)\s*'
                     r'("(?:[^"\\\n]|\\.)*")?\s*$')


def _raw_depth_change(code: str) -> int:
    """Bracket depth change of a line's code, strings skipped (for untokenisable lines)."""
    change, in_string = 0, False
    for ch in code:
        if ch == '"':
            in_string = not in_string
        elif not in_string and ch in "([":
            change += 1
        elif not in_string and ch in ")]":
            change -= 1
    return change


def _depth_change(tokens: list[Tok]) -> int:
    return sum(1 for t in tokens if t.kind == "open") - sum(1 for t in tokens if t.kind == "close")


def format_lines(text: str) -> str:
    """The layout pass alone (no safety check)."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    depth = 0
    continued = False  # previous line ended with a backslash
    in_claim = False
    last: Optional[Tok] = None  # the last token of the previous code line
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            depth, continued = (depth, continued) if depth > 0 else (0, False)
            if out and out[-1] == "":
                continue
            out.append("")
            continue
        code, comment, col = split_comment(line)
        stripped = code.strip()
        if not stripped:  # a comment-only line
            if depth > 0 or continued:
                out.append(CONTINUATION + comment)
            elif line[:1] in (" ", "\t") and in_claim:
                out.append(BODY + comment)
            else:
                out.append(comment)
            continue
        backslash = stripped.endswith("\\")
        body = stripped[:-1].rstrip() if backslash else stripped
        tokens = tokenize(body)
        header = not line[:1].isspace() and re.match(r"claim(?=[\s\"]|$)", stripped) is not None
        if header:
            k = len(out)
            while k > 0 and out[k - 1].startswith("#"):
                k -= 1  # comments just above a claim stay with it
            if k > 0 and out[k - 1] != "" and in_claim:
                out.insert(k, "")
            in_claim = True
            m = _HEADER.match(body)
            if m:
                tokens = None
                body = "claim " + m.group(1) + (" " + m.group(2) if m.group(2) else "")
        if depth > 0 or continued:
            indent = CONTINUATION
        elif header or not in_claim or not line[:1].isspace():
            indent = ""
        else:
            indent = BODY
        if tokens is None:
            new_code = body
            depth = max(0, depth + _raw_depth_change(body))
        else:
            new_code = respace(tokens, depth, last if (depth > 0 or continued) else None)
            depth = max(0, depth + _depth_change(tokens))
            last = tokens[-1] if tokens else last
        if backslash:
            new_code += " \\"
        continued = backslash
        new_line = indent + new_code
        if comment is not None:
            col += len(indent) - (len(line) - len(line.lstrip(" \t")))  # follow the re-indent
            target = col if col >= len(new_line) + 2 else len(new_line) + 2
            new_line = new_line.ljust(target) + comment
        out.append(new_line)
    while out and out[-1] == "":
        out.pop()
    while out and out[0] == "":
        out.pop(0)
    return "\n".join(out) + "\n" if out else ""


def _models(text: str, path: str) -> tuple[list, int]:
    loaded = load_text(text, path)
    return loaded.claims, len(loaded.broken)


def same_models(a: str, b: str, path: str = "<fmt>") -> bool:
    """Whether two texts give the same claims (compared without positions) and as many broken chunks."""
    ca, ba = _models(a, path)
    cb, bb = _models(b, path)
    return ca == cb and ba == bb


def format_claims(text: str, path: str = "<fmt>") -> str:
    """Canonical text of a claims document; the input unchanged if formatting would change a model."""
    formatted = format_lines(text)
    if formatted == text:
        return text
    return formatted if same_models(text, formatted, path) else text


_FENCE = re.compile(r"^(\s*)(```|~~~)\s*claims?\s*$")


def format_markdown(text: str, path: str = "<fmt>") -> str:
    """Format the fenced ```claim blocks of a Markdown file; the prose is left alone."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        fence = m.group(2)
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        block = "\n".join(lines[i + 1:j])
        formatted = format_claims(block + "\n", path).rstrip("\n") if block.strip() else block
        out.append(lines[i])
        out.extend(formatted.split("\n") if formatted else [])
        if j < len(lines):
            out.append(lines[j])
        i = j + 1
    result = "\n".join(out)
    if markdown_to_claims(result) != markdown_to_claims(text):
        # positions moved: fine, but the models must not change
        a = load_text(markdown_to_claims(text), path).claims
        b = load_text(markdown_to_claims(result), path).claims
        if a != b:
            return text
    return result


def format_file(path: str | Path) -> str:
    """The canonical text of a file (``.md``: its claim blocks)."""
    return format_path(path)[1]


def format_path(path: str | Path) -> tuple[str, str, bool]:
    """(original text, canonical text, whether the layout pass had to be refused because it
    would have changed a claim's model: a formatter bug worth reporting)."""
    p = Path(path)
    text = p.read_bytes().decode("utf-8")
    if p.suffix.lower() in (".md", ".markdown"):
        new = format_markdown(text, str(p))
        return text, new, False
    new = format_claims(text, str(p))
    refused = new == text and format_lines(text) != text
    return text, new, refused
