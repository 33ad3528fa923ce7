"""Claims inside Jupyter notebooks: the ```claim blocks of Markdown cells.

A notebook is read with ``nbformat`` (plain JSON, validated; nothing in it is executed).
Each Markdown cell that holds a claim block becomes its own source named
``course.ipynb#cell3`` (cells counted from 1, code cells included, as a reader counts them
down the page), so every position a report shows is a cell and a line of that cell.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

NOTEBOOK_SUFFIX = ".ipynb"
_CELL_REF = re.compile(r"^(?P<path>.*\.ipynb)#cell(?P<cell>[1-9][0-9]*)$", re.IGNORECASE)


def cell_source(path: str, cell: int) -> str:
    """The name a cell's claims carry: ``path#cellN``."""
    return f"{path}#cell{cell}"


def split_cell_ref(name: str) -> tuple[str, Optional[int]]:
    """``"a.ipynb#cell3"`` -> ``("a.ipynb", 3)``; any other name -> ``(name, None)``."""
    match = _CELL_REF.match(name)
    if match is None:
        return name, None
    return match.group("path"), int(match.group("cell"))


class NotebookError(ValueError):
    """The file is not a notebook nbformat can read."""


def markdown_cells(data: bytes) -> list[tuple[int, str]]:
    """(1-based cell number, source) of every Markdown cell, in page order."""
    try:
        import nbformat
    except ImportError:
        raise NotebookError("reading notebooks needs nbformat: pip install 'derive[notebook]'") from None
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except UnicodeDecodeError as exc:
        raise NotebookError(f"not UTF-8 at byte {exc.start}") from None
    except Exception as exc:  # nbformat raises JSON, validation and version errors
        raise NotebookError(f"not a Jupyter notebook: {str(exc).splitlines()[0][:200]}") from None
    out = []
    for number, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            out.append((number, "".join(source) if isinstance(source, list) else str(source)))
    return out


def cell_text(path: Path, cell: int) -> Optional[str]:
    """The source of cell ``cell`` of the notebook at ``path`` (None when it is not there)."""
    try:
        cells = dict(markdown_cells(path.read_bytes()))
    except (OSError, NotebookError):
        return None
    return cells.get(cell)
