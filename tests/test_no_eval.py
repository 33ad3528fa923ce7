"""Nothing from a claim file is ever executed: no module of the package may call
eval/exec/compile, SymPy's text parsers, pickle or torch.load."""
from __future__ import annotations

import ast
from pathlib import Path

import derive

PACKAGE = Path(derive.__file__).parent
FORBIDDEN_CALLS = {"eval", "exec", "compile", "sympify", "parse_expr", "__import__",
                   "literal_eval", "parse_latex", "parse_mathematica", "S"}
FORBIDDEN_ATTRS = {("pickle", "load"), ("pickle", "loads"), ("torch", "load"), ("marshal", "loads"),
                   ("dill", "load"), ("sympy", "sympify"), ("sp", "sympify"), ("yaml", "load")}
FORBIDDEN_IMPORTS = {"pickle", "marshal", "dill", "shelve"}


def _offences(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in FORBIDDEN_CALLS:
                found.append(f"{f.id}() at line {node.lineno}")
            if isinstance(f, ast.Attribute):
                if f.attr in FORBIDDEN_CALLS - {"compile", "S"}:
                    found.append(f".{f.attr}() at line {node.lineno}")
                if isinstance(f.value, ast.Name) and (f.value.id, f.attr) in FORBIDDEN_ATTRS:
                    found.append(f"{f.value.id}.{f.attr}() at line {node.lineno}")
                if f.attr == "S" and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.Name)) \
                        and not (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, (int, float))):
                    found.append(f"S(<text>) at line {node.lineno}")
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in FORBIDDEN_IMPORTS]
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_IMPORTS:
                found.append(f"from {node.module} import …")
            if node.module.startswith("sympy") and any(a.name in FORBIDDEN_CALLS for a in node.names):
                found.append(f"from {node.module} import {[a.name for a in node.names]}")
    return found


def test_no_module_executes_text():
    offences = {}
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        found = _offences(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if found:
            offences[str(path.relative_to(PACKAGE))] = found
    assert not offences, offences


def test_the_scanner_catches_each_forbidden_form():
    samples = ["eval(x)", "exec(x)", "sympy.sympify(s)", "sp.sympify(s)", "from sympy import sympify",
               "import pickle", "torch.load(f)", "parse_expr(s)", "x.parse_expr(s)", "__import__('os')"]
    for code in samples:
        assert _offences(ast.parse(code)), code
    assert not _offences(ast.parse("sp.Symbol('x'); sp.Integer(3); sp.Rational(1, 2)"))
