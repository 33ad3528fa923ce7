"""Parse claim files: grammar loading, pre-checks, per-claim parsing, readable syntax errors.

A file is cut into claim chunks at every line that starts with ``claim`` in column 0,
and each chunk is parsed on its own, so one broken claim never hides the others.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Iterator, Optional

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.indenter import DedentError, Indenter

from derive.errors import Diagnostic, printable

MAX_LINE_LENGTH = 10_000
MAX_NESTING = 64
MAX_FILE_BYTES = 8_000_000

_OPEN = "([{"
_CLOSE = ")]}"


class ClaimIndenter(Indenter):
    """Python-style INDENT/DEDENT; newlines inside brackets are joined."""

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB"]
    CLOSE_PAREN_types = ["RPAR", "RSQB"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def handle_NL(self, token: Token) -> Iterator[Token]:
        if self.paren_level > 0:
            return
        yield token
        indent_str = token.rsplit("\n", 1)[1]
        indent = len(indent_str) - len(indent_str.lstrip(" "))
        if indent > self.indent_level[-1]:
            self.indent_level.append(indent)
            yield Token.new_borrow_pos(self.INDENT_type, indent_str, token)
        else:
            while indent < self.indent_level[-1]:
                self.indent_level.pop()
                yield Token.new_borrow_pos(self.DEDENT_type, indent_str, token)
            if indent != self.indent_level[-1]:
                raise DedentError(f"{indent}|{self.indent_level[-1]}|{token.end_line}")


@lru_cache(maxsize=1)
def grammar_text() -> str:
    """The grammar, read as package data so an installed derive works anywhere."""
    return resources.files("derive").joinpath("grammar/claims.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def parser() -> Lark:
    return Lark(grammar_text(), parser="lalr", postlex=ClaimIndenter(),
                propagate_positions=True, maybe_placeholders=False)


# Words for terminals, so errors say "a name" rather than "NAME".
_TERMINAL_WORDS = {
    "NAME": "a name", "NUMBER": "a number", "STRING": 'a "string"', "CLAIM_ID": "a claim id",
    "_NL": "end of line", "_INDENT": "an indented line", "_DEDENT": "end of the claim",
    "$END": "end of file", "COMP_OP": "a comparison (==, <, <=, ≈, …)", "TILDE": "'~'",
    "BOUND_OP": "a bound (> 0, != 0, …)", "ADD_OP": "'+' or '-'",
    "MUL_OP": "an operator (*, /, @, ⊙, ·)", "POW_OP": "'^'", "TRANSPOSE": "'ᵀ'",
    "SUPERSCRIPT": "a superscript", "EQUIV": "'<=>'", "IMPLIES": "'=>'", "ARROW": "'->'",
    "SCALAR_KIND": "a scalar type (real, integer, complex, dim)",
    "TENSOR_KIND": "a tensor type (vector, matrix, tensor)", "WITHIN": "'within'", "REL": "'rel'",
    "NORM_OPEN": "'‖'", "NORM_CLOSE": "a closing '‖'", "ROOT": "'√'", "VBAR": "'|'",
}


# Symbols of written mathematics that the language spells another way.
CHARACTER_HINTS = {
    "{": "group with parentheses: x^(n-1), not x^{n-1}",
    "}": "group with parentheses: x^(n-1), not x^{n-1}",
    "\\": "write Greek letters as themselves or by name: σ or sigma, not \\sigma",
    "∇": "a gradient is grad(f, x)", "∂": "a derivative is grad(f, x)",
    "∑": "a sum is sum(i = 1..n, body), or sum(x) over a tensor's entries",
    "∏": "a product over an index is prod(i = 1..n, body)",
    "∫": "an integral is integrate(f, x = a..b)",
    "∈": "a domain is declared with let: let x : real in [0, 1], let i : 1..n",
    "∀": "every declared name is already universally quantified; declare it with let",
    "⟨": "an inner product is x · y", "⟩": "an inner product is x · y",
    "≡": "equality is '=='", "≔": "a definition is let y = …", "÷": "division is '/'",
    "−": "", "∗": "a product is '*'", "⊤": "a transpose is ᵀ, .T or '",
}
CHARACTER_HINTS = {k: v for k, v in CHARACTER_HINTS.items() if v}


def _terminal_word(name: str) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        term = parser().get_terminal(name)
        pattern = term.pattern
        if pattern.type == "str":
            return f"'{pattern.value}'"
    except Exception:  # noqa: BLE001 - an unknown terminal still gets a readable name
        pass
    return name.lower()


# Terminals that can start an expression: when all the main ones are expected, the
# error says "an expression" instead of listing eight symbols.
_EXPR_STARTS = {"NAME", "NUMBER", "LPAR", "LSQB", "ADD_OP", "VBAR", "NORM_OPEN", "ROOT"}


def expected_words(expected) -> str:
    expected = {e for e in expected if not e.startswith("__ANON")}
    words: list[str] = []
    if {"NAME", "NUMBER", "LPAR"} <= expected:
        words.append("an expression (a name, a number, '(' …)")
        expected -= _EXPR_STARTS
    words += sorted({_terminal_word(e) for e in expected})
    if not words:
        return ""
    if len(words) > 8:
        words = words[:8] + ["…"]
    return ", ".join(words)


def _token_desc(token: Token) -> str:
    if token.type == "$END":
        return "end of file"
    if token.type == "_NL":
        return "end of line"
    if token.type in ("_INDENT",):
        return "an indented line"
    if token.type == "_DEDENT":
        return "end of the claim"
    value = str(token.value)
    if len(value) > 40:
        value = value[:40] + "…"
    return "'" + printable(value) + "'"


class SourceFile:
    """A decoded claim file and its lines, with helpers to build diagnostics."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.text = text
        self.lines = text.split("\n")

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 1 <= line <= len(self.lines) else ""

    def diag(self, message: str, line: int, column: int, hint: Optional[str] = None,
             claim_id: Optional[str] = None, width: int = 1) -> Diagnostic:
        return Diagnostic(message, self.path, line, column, self.line_text(line), hint,
                          claim_id, width)


def decode(path: str, data: bytes) -> tuple[Optional[SourceFile], list[Diagnostic]]:
    """Decode UTF-8 (a BOM is allowed); report the first bad byte by line and column."""
    if len(data) > MAX_FILE_BYTES:
        return None, [Diagnostic(f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}",
                                 path, 1, 1)]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        col = len(before.split(b"\n")[-1].decode("utf-8", "replace")) + 1
        shown = data.split(b"\n")[line - 1].decode("utf-8", "replace")
        return None, [Diagnostic(f"the file is not UTF-8: byte 0x{data[exc.start]:02x} cannot be "
                                 f"decoded", path, line, col, shown,
                                 "save the file as UTF-8")]
    return SourceFile(path, text.replace("\r\n", "\n")), []


def precheck(src: SourceFile, first: int, last: int) -> list[Diagnostic]:
    """Refuse what would make the parser or later passes misbehave, before parsing."""
    problems: list[Diagnostic] = []
    depth = 0
    for number in range(first, last + 1):
        line = src.line_text(number)
        if len(line) > MAX_LINE_LENGTH:
            problems.append(src.diag(f"line is {len(line)} characters long; the limit is "
                                     f"{MAX_LINE_LENGTH}", number, MAX_LINE_LENGTH + 1,
                                     "break the expression over lines inside brackets"))
            return problems
        stripped = line.lstrip(" \t")
        lead = line[: len(line) - len(stripped)]
        if "\t" in lead and stripped and not stripped.startswith("#"):
            problems.append(src.diag("a tab in the indentation; indent with spaces", number,
                                     lead.index("\t") + 1))
        for col, ch in enumerate(line, start=1):
            if ch == "#":
                break
            if ch == "\x00":
                problems.append(src.diag("a NUL character in the file", number, col))
                return problems
            if ch in _OPEN:
                depth += 1
                if depth > MAX_NESTING:
                    problems.append(src.diag(f"brackets nested deeper than {MAX_NESTING} levels",
                                             number, col, "name a part with 'let' instead"))
                    return problems
            elif ch in _CLOSE:
                depth = max(0, depth - 1)
    return problems


_CLAIM_START = re.compile(r"^claim(?=[\s\"]|$)")


def split_claims(src: SourceFile) -> list[tuple[int, int]]:
    """Line ranges (first, last) of each chunk: a preamble, then one per claim."""
    starts = [i + 1 for i, line in enumerate(src.lines) if _CLAIM_START.match(line)]
    chunks: list[tuple[int, int]] = []
    first_claim = starts[0] if starts else len(src.lines) + 1
    if first_claim > 1:
        chunks.append((1, first_claim - 1))
    for i, start in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(src.lines)
        chunks.append((start, end))
    return chunks


def is_blank(src: SourceFile, first: int, last: int) -> bool:
    return all(not src.line_text(n).strip() or src.line_text(n).lstrip().startswith("#")
               for n in range(first, last + 1))


def parse_chunk(src: SourceFile, first: int, last: int) -> tuple[Optional[Tree], list[Diagnostic]]:
    """Parse lines first..last as claims, keeping the file's line numbers."""
    body = "\n".join(src.lines[first - 1:last])
    text = "\n" * (first - 1) + body + "\n"
    try:
        return parser().parse(text), []
    except DedentError as exc:
        got, want, line = (int(x) for x in str(exc).split("|"))
        return None, [src.diag(f"inconsistent indentation: {got} spaces, but the enclosing block "
                               f"is indented {want}", line, got + 1,
                               "indent every line of a claim's body by the same amount")]
    except UnexpectedInput as exc:
        return None, [_syntax_diag(src, exc, first, last)]


def _syntax_diag(src: SourceFile, exc: UnexpectedInput, first: int, last: int) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        raw = src.line_text(exc.line)[exc.column - 1: exc.column]
        ch = printable(raw or "?")
        words = expected_words(exc.allowed or ())
        msg = f"unexpected character {ch!r}"
        return src.diag(msg + (f"; expected {words}" if words else ""), exc.line, exc.column,
                        CHARACTER_HINTS.get(raw))
    if isinstance(exc, UnexpectedEOF):
        line = last
        col = len(src.line_text(line)) + 1
        return src.diag(f"unexpected end of file; expected {expected_words(exc.expected)}",
                        line, col)
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected = set(exc.expected)
    line, col = token.line or last, token.column or 1
    if token.type in ("_NL", "$END", "_DEDENT"):
        # Point just after the last real character of the line the statement ended on.
        line = _last_code_line(src, line if token.type != "$END" else last, first)
        col = len(_strip_comment(src.line_text(line)).rstrip()) + 1
        open_at = _unclosed_bracket(src, first, line)
        if open_at:
            oline, ocol, ch = open_at
            return src.diag(f"unclosed '{ch}': expected {expected_words(expected)}", oline, ocol,
                            "close the bracket before the end of the line")
    if token.type == "_INDENT":
        line, col = token.end_line or line, len(str(token.value)) + 1
        return src.diag("unexpected indentation; expected " + expected_words(expected), line,
                        col, "a claim's body lines are indented by the same amount")
    words = expected_words(expected)
    return src.diag(f"unexpected {_token_desc(token)}" + (f"; expected {words}" if words else ""),
                    line, col, _token_hint(src, token, expected),
                    width=len(str(token.value)) if token.type not in ("_NL",) else 1)


_BINDER_IN = re.compile(r"\b(sum|prod|integrate)\(\s*(\w+)\s+in\s*$")
_GROWTH_AFTER = re.compile(r"^\s*(O|Θ|Ω|Theta|Omega)\s*\(")


_KEYWORDS = {"show", "assume", "let", "and", "or", "not", "in", "at", "for", "if", "else",
             "within", "rel", "on"}


def _after_operand(before: str) -> bool:
    """Whether a statement's text so far ends with an operand (so what follows it sits
    beside it, as in 'xᵀ y' or '2 s', a product written without its operator)."""
    code = before.rstrip()
    if not code.lstrip().startswith(("show", "assume", "let")):
        return False
    words = code.split()
    if not words or words[-1] in _KEYWORDS:
        return False
    return code[-1].isalnum() or code[-1] in ")]ᵀ'_⁰¹²³⁴⁵⁶⁷⁸⁹"


def _token_hint(src: SourceFile, token: Token, expected: set) -> Optional[str]:
    """A pointer to the right spelling for textbook habits the grammar cannot read."""
    text = src.line_text(token.line or 0)
    before = text[: (token.column or 1) - 1]
    after = text[(token.end_column or 1) - 1:]
    value = str(token.value)
    binder = _BINDER_IN.search(before)
    if binder:
        func, var = binder.groups()
        return f"bind the index with '=': {func}({var} = a..b, body)"
    if value == "=":
        if _GROWTH_AFTER.match(after):
            return ("growth is written with 'in' or '~', not '=': "
                    "'flops[…] in O(n^2)', 'in Ω(n)', or 'flops[…] ~ n^2' for Θ")
        return "equality is '=='; a single '=' defines a name in 'let' or binds one in sum(i = 1..n, …)"
    if value == "|":
        return ("'|' writes an absolute value as a pair of bars, |x|, or conditions on an "
                "event inside E[…] or P[…]: E[X | Y > 0], P[A | B]")
    # LALR lookahead sets are loose: a closing bar is "expected" only if one is open here
    if "VBAR" in expected and before.count("|") % 2 == 1:
        return "close the absolute value |x| with a second '|'"
    if "NORM_CLOSE" in expected and before.count("‖") % 2 == 1:
        return "close the norm ‖x‖ with a second '‖'"
    if token.type in ("NAME", "NUMBER", "LPAR", "ROOT", "NORM_OPEN") and _after_operand(before):
        return ("a product needs an operator: a * b for numbers, A @ B for matrices, "
                "x · y for an inner product (xᵀy is xᵀ @ y)")
    if value in ("if", "else"):
        return "a conditional value is written in parentheses: (a if c else b)"
    if value == "~" and re.match(r"\s*let\s+[^:=~]+$", before):
        return ("a random name is declared with its type before '~': "
                "'let z : real ~ normal(0, 1)', 'let x : vector[n] ~ normal(m, I[n])'")
    return None


def _strip_comment(line: str) -> str:
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i]
    return line


def _last_code_line(src: SourceFile, line: int, first: int) -> int:
    n = min(line, len(src.lines))
    while n > first and not _strip_comment(src.line_text(n)).strip():
        n -= 1
    return max(n, first)


def _unclosed_bracket(src: SourceFile, first: int, last: int) -> Optional[tuple[int, int, str]]:
    stack: list[tuple[int, int, str]] = []
    for number in range(first, last + 1):
        in_string = False
        for col, ch in enumerate(src.line_text(number), start=1):
            if ch == '"':
                in_string = not in_string
            if in_string:
                continue
            if ch == "#":
                break
            if ch in _OPEN:
                stack.append((number, col, ch))
            elif ch in _CLOSE and stack:
                stack.pop()
    return stack[-1] if stack else None
