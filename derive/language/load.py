"""Load claim files (and fenced ```claim blocks of Markdown) into model claims plus diagnostics."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Union

from lark import Tree

from derive import model as m
from derive.errors import Diagnostic
from derive.language import parse as p
from derive.language.notebook import NOTEBOOK_SUFFIX, NotebookError, cell_source, markdown_cells
from derive.language.transform import ToModel, TransformError

MAX_TREE_DEPTH = 200
_HEADER = re.compile(r"^claim\s+([A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)*)")


@dataclass
class BrokenClaim:
    """A chunk that could not be turned into a claim: kept so it is reported, not dropped."""

    id: Optional[str]
    file: str
    line: int
    diagnostics: list[Diagnostic]


@dataclass
class LoadedFile:
    path: str
    claims: list[m.Claim] = field(default_factory=list)
    broken: list[BrokenClaim] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for b in self.broken for d in b.diagnostics]


def _tree_depth(tree: Tree) -> int:
    """Depth of a parse tree, computed without recursion."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_TREE_DEPTH:
            return depth
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))
    return deepest


def _deepest_token_line(tree: Tree) -> tuple[int, int]:
    meta = tree.meta
    return (getattr(meta, "line", 1), getattr(meta, "column", 1))


def load_text(text: Union[str, bytes], path: str = "<string>") -> LoadedFile:
    """Parse a claims document; every problem becomes a diagnostic, never an exception."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    src, problems = p.decode(path, data)
    loaded = LoadedFile(path)
    if src is None:
        loaded.broken.append(BrokenClaim(None, path, problems[0].line, problems))
        return loaded
    return load_source(src, loaded)


def load_source(src: p.SourceFile, loaded: LoadedFile) -> LoadedFile:
    path = src.path
    chunks = p.split_claims(src)
    if not any(not p.is_blank(src, a, b) for a, b in chunks):
        d = src.diag("the file holds no claims", 1, 1,
                     'a claim starts with a line such as: claim my.id "a title"')
        loaded.broken.append(BrokenClaim(None, path, 1, [d]))
        return loaded
    for first, last in chunks:
        if p.is_blank(src, first, last):
            continue
        header = _HEADER.match(src.line_text(first))
        claim_id = header.group(1) if header else None
        problems = p.precheck(src, first, last)
        tree = None
        if not problems:
            tree, problems = p.parse_chunk(src, first, last)
        if tree is not None and _tree_depth(tree) > MAX_TREE_DEPTH:
            problems = [src.diag(f"expression nested deeper than {MAX_TREE_DEPTH} levels", first, 1,
                                 "name a part with 'let' instead")]
            tree = None
        if tree is None:
            loaded.broken.append(BrokenClaim(claim_id, path, first, problems))
            continue
        try:
            claims = ToModel(path, src.lines).transform(tree)
        except TransformError as exc:
            d = src.diag(exc.message, exc.pos.line or first, exc.pos.column or 1, exc.hint)
            loaded.broken.append(BrokenClaim(claim_id, path, first, [d]))
            continue
        except RecursionError:
            d = src.diag("expression nested too deeply", first, 1, "name a part with 'let' instead")
            loaded.broken.append(BrokenClaim(claim_id, path, first, [d]))
            continue
        except Exception as exc:  # lark wraps TransformError in VisitError
            inner = getattr(exc, "orig_exc", exc)
            if isinstance(inner, TransformError):
                d = src.diag(inner.message, inner.pos.line or first, inner.pos.column or 1, inner.hint)
            elif isinstance(inner, RecursionError):
                d = src.diag("expression nested too deeply", first, 1)
            else:
                raise
            loaded.broken.append(BrokenClaim(claim_id, path, first, [d]))
            continue
        chunk = "\n".join(src.lines[first - 1:last])
        loaded.claims.extend(replace(c, text=chunk) for c in claims)
    return loaded


_FENCE = re.compile(r"^(```|~~~)\s*claims?\s*$")


def markdown_to_claims(text: str) -> str:
    """Keep only the fenced ```claim blocks of a Markdown file, blanking other lines so
    every position stays a line of the .md file."""
    out, inside, fence = [], False, ""
    for line in text.split("\n"):
        stripped = line.strip()
        if not inside and _FENCE.match(stripped):
            inside, fence = True, stripped[:3]
            out.append("")
        elif inside and stripped == fence:
            inside = False
            out.append("")
        else:
            out.append(line if inside else "")
    return "\n".join(out)


def load_notebook(path: str, data: bytes) -> LoadedFile:
    """The claim blocks of a notebook's Markdown cells, each cell its own source
    (``path#cellN``), so positions are cells and lines."""
    loaded = LoadedFile(path)
    try:
        cells = markdown_cells(data)
    except NotebookError as exc:
        d = Diagnostic(str(exc), path, 1, 1, hint="derive reads .ipynb files written by Jupyter "
                       "(nbformat 4); claims go in ```claim blocks of Markdown cells")
        loaded.broken.append(BrokenClaim(None, path, 1, [d]))
        return loaded
    for number, text in cells:
        if "```claim" not in text and "~~~claim" not in text:
            continue
        src, problems = p.decode(cell_source(path, number), text.encode("utf-8"))
        if src is None:
            loaded.broken.append(BrokenClaim(None, cell_source(path, number), 1, problems))
            continue
        load_source(p.SourceFile(src.path, markdown_to_claims(src.text)), loaded)
    return loaded


def load_path(path: Union[str, Path]) -> LoadedFile:
    """Load a ``.claims`` file, or the claim blocks of a ``.md`` file or ``.ipynb`` notebook."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        d = Diagnostic(f"cannot read file: {exc.strerror}", str(path), 1, 1)
        return LoadedFile(str(path), [], [BrokenClaim(None, str(path), 1, [d])])
    if path.suffix.lower() == NOTEBOOK_SUFFIX:
        return load_notebook(str(path), data)
    if path.suffix.lower() in (".md", ".markdown"):
        src, problems = p.decode(str(path), data)
        if src is None:
            return LoadedFile(str(path), [], [BrokenClaim(None, str(path), 1, problems)])
        if "```claim" not in src.text and "~~~claim" not in src.text:
            return LoadedFile(str(path))
        src = p.SourceFile(str(path), markdown_to_claims(src.text))
        return load_source(src, LoadedFile(str(path)))
    return load_text(data, str(path))
