"""Regenerate docs/notebook-demo.ipynb (a notebook whose %%claim cell was really run) and its
screenshot docs/notebook-refuted.png (nbconvert's HTML, rendered by headless Chromium).

    python docs/render_notebook.py        # needs nbconvert and chromium

The cell is decided by the real magic in an IPython shell; its HTML output is stored in the
notebook exactly as Jupyter stores a display, so the picture shows what a user sees.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INTRO = """# Checking the notes where they are written

The notes claim that for a standard-normal pre-activation the ReLU keeps half the second
moment. Below, `%%claim` checks it, and a mistyped version of a common identity."""
CELL = """%%claim --seed 0
claim notes.relu_second_moment "E[relu(z)^2] = 1/2 for z ~ N(0, 1)"
  let z : real ~ normal(0, 1)
  show E[relu(z)^2] == 1/2

claim notes.square_of_sum "(a + b)² = a² + b²  (as typed in the notes)"
  let a, b : real
  show (a + b)^2 == a^2 + b^2"""


def main() -> None:
    import nbformat
    from IPython.testing.globalipapp import start_ipython
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    ip = start_ipython()
    ip.run_line_magic("load_ext", "derive")
    result = ip.run_cell(CELL, store_history=True).result
    nb = new_notebook()
    load = new_code_cell("%load_ext derive", execution_count=1)
    code = new_code_cell(CELL, execution_count=2)
    code.outputs = [new_output("execute_result", execution_count=2,
                               data={"text/html": result._repr_html_(), "text/plain": repr(result)})]
    nb.cells = [new_markdown_cell(INTRO), load, code]
    notebook = ROOT / "docs" / "notebook-demo.ipynb"
    nbformat.write(nb, str(notebook))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "nbconvert", "--to", "html", "--output-dir", tmp,
                        str(notebook)], check=True, capture_output=True)
        page = Path(tmp) / "notebook-demo.html"
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser is None:
            raise SystemExit("chromium is not installed")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1100,1500", f"--screenshot={ROOT / 'docs' / 'notebook-refuted.png'}",
                        page.as_uri()], check=True, capture_output=True)
    print("wrote docs/notebook-demo.ipynb and docs/notebook-refuted.png")


if __name__ == "__main__":
    main()
