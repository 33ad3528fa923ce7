"""The layers of ``derive`` import one way only: down.

Every module under ``derive/`` is parsed with :mod:`ast`; its imports of other derive
modules — at module level, inside functions, and the dynamic
``importlib.import_module("derive.…")`` loading of the engines and report formats (read
from the source: an f-string over a literal tuple, or over a module-level tuple of names) —
are the edges of one graph.  The tests assert that

* the graph has no cycle (the cycle is printed if there is one);
* no edge goes from a lower layer to a higher one (:data:`LAYERS`);
* the three engines do not import each other: each reaches the others' shared code only
  through a module in a lower layer.

Imports under ``if TYPE_CHECKING:`` never run and are left out.  A package's
``__init__`` is its own module; ``import derive.a.b`` is an edge to ``derive.a.b`` only
(that Python runs ``derive/a/__init__.py`` first is not counted, or every subpackage would
be a cycle with its own ``__init__``).  The layer table is written down in
``docs/architecture.md`` too; keep the two in step.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent / "derive"

# Low → high.  A module may import from its own layer and the layers before it, never
# from a later one.  The longest matching prefix names a module's layer.  The same table
# is in docs/architecture.md.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # no derive imports: diagnostics and the version stamp
    ("base", ("derive.errors", "derive.version")),
    # the typed claim: frozen dataclasses that everything above builds or reads
    ("model", ("derive.model",)),
    # text → model (grammar, parser, loaders, the function vocabulary) and model → text
    # (formatter, printer, highlighter)
    # (and the vocabulary: each distribution and statistic with every engine's meaning,
    # whose engine parts import only torch/sympy/scipy, lazily)
    ("language", ("derive.vocabulary", "derive.language", "derive.lexer", "derive.fmt",
                  "derive.exprtext")),
    # meaning of a claim: types and symbols, parameter domains, bounds, refusals, and the
    # model surgery that builds mutants and repair candidates; the one analysis of a checked
    # claim every engine shares (dependencies, sizes at a point, sweep values, seeds)
    ("analysis", ("derive.semantics", "derive.params", "derive.bounds", "derive.guards",
                  "derive.mutants", "derive.analysis")),
    # what every engine is built on: outcomes, internal faults, the strategy protocol and
    # the routing predicate, wall-clock limits
    ("engine-protocol", ("derive.outcome", "derive.faults", "derive.engine", "derive.limits")),
    # the typed claim lowered to SymPy and to torch: shared by the engines (the timing
    # engine times the torch lowering; high precision re-reads the SymPy one)
    ("lowering", ("derive.symbolic.lower", "derive.symbolic.partial", "derive.symbolic.densities", "derive.symbolic.binomial_sums",
                  # the deep-learning built-ins and block matrices entrywise
                  "derive.symbolic.dl_entries", "derive.symbolic.blocks", "derive.numeric.base",
                  "derive.numeric.lower",
                  "derive.numeric.functions", "derive.numeric.integrals",
                  "derive.numeric.instances", "derive.numeric.adversarial",
                  "derive.numeric.lapack",
                  # exact moments of affine functions of normal draws: part of evaluating E/Cov
                  "derive.numeric.affine",
                  # value growth over random quantities: the numeric engine's seeded
                  # estimates at each size and its sequential rule (budgets in draws),
                  # which the timing engine routes random values to
                  "derive.numeric.growth", "derive.numeric.intervals",
                  # the growth rule (exponent fits, O/Θ and Ω), shared by cost growth in the
                  # timing engine and value growth in the numeric one
                  "derive.timing.exponents", "derive.timing.omega", "derive.timing.stats")),
    ("engines", ("derive.symbolic", "derive.numeric", "derive.timing")),
    # one claim decided: routing, cross-check, chains; the equivalence checks of mutants
    ("decide", ("derive.decide", "derive.chains", "derive.equivalence", "derive.existential")),
    # many claims: planning, worker processes, the result cache, repair and mutation runs
    ("run", ("derive.runner", "derive.cache", "derive.cachekey", "derive.repair",
             "derive.mutate")),
    # what people and tools call: the package's lazy API, CLI, reports, pytest plugin,
    # language server, IPython magic, watch mode, authoring and audit commands
    ("front-ends", ("derive", "derive.report", "derive.cli", "derive.pytest_plugin",
                    "derive.lsp", "derive.ipython", "derive.watch", "derive.authoring",
                    "derive.audit")),
]

# Modules of one engine that another may import: they sit in a layer below the engines.
SHARED_LAYER = "lowering"

ENGINES = ("derive.symbolic", "derive.numeric", "derive.timing")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    kind: str  # "module", "function" or "dynamic"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module under ``root``, by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: Iterable[str]) -> Optional[str]:
    """The longest known module that ``name`` is or lies in."""
    known = set(known)
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _string_tuples(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``NAME = ("a", "b", …)`` assignments (the engines' load order)."""
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name):
            values = _literal_strings(node.value)
            if values is not None:
                found[node.targets[0].id] = values
    return found


def _literal_strings(node: ast.AST) -> Optional[list[str]]:
    if isinstance(node, (ast.Tuple, ast.List)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]
    return None


def _dynamic_targets(call: ast.Call, loops: dict[str, list[str]]) -> Optional[list[str]]:
    """The module names ``importlib.import_module(arg)`` can load, or None if unknown."""
    if not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.JoinedStr):
        names = [""]
        for part in arg.values:
            if isinstance(part, ast.Constant):
                names = [n + part.value for n in names]
            elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name) \
                    and part.value.id in loops:
                names = [n + v for n in names for v in loops[part.value.id]]
            else:
                return None
        return names
    return None


def _is_import_module(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or \
        (isinstance(func, ast.Name) and func.id == "import_module")


class _Collector(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool, known: set[str], tuples) -> None:
        self.name, self.is_package, self.known, self.tuples = name, is_package, known, tuples
        self.edges: list[Edge] = []
        self.unresolved: list[int] = []
        self.depth = 0  # functions entered
        self.loops: dict[str, list[str]] = {}

    def _kind(self) -> str:
        return "function" if self.depth else "module"

    def _add(self, target: Optional[str], line: int, kind: str) -> None:
        if target is not None and target != self.name:
            self.edges.append(Edge(self.name, target, line, kind))

    def visit_FunctionDef(self, node) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if _type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        bound = None
        if isinstance(node.target, ast.Name):
            values = _literal_strings(node.iter)
            if values is None and isinstance(node.iter, ast.Name):
                values = self.tuples.get(node.iter.id)
            if values is not None:
                bound = node.target.id
                saved = self.loops.get(bound)
                self.loops[bound] = values
        self.generic_visit(node)
        if bound is not None:
            if saved is None:
                del self.loops[bound]
            else:
                self.loops[bound] = saved

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name == "derive" or alias.name.startswith("derive."):
                self._add(_resolve(alias.name, self.known), node.lineno, self._kind())

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.name if self.is_package else self.name.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        if not (base == "derive" or base.startswith("derive.")):
            return
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self._add(full if full in self.known else _resolve(base, self.known),
                      node.lineno, self._kind())

    def visit_Call(self, node: ast.Call) -> None:
        if _is_import_module(node):
            targets = _dynamic_targets(node, self.loops)
            if targets is None:
                self.unresolved.append(node.lineno)
            else:
                for target in targets:
                    if target.startswith("derive."):
                        self._add(_resolve(target, self.known), node.lineno, "dynamic")
        self.generic_visit(node)


def collect(root: Path = ROOT) -> tuple[list[Edge], list[str]]:
    """All import edges between derive modules, and the dynamic imports not understood."""
    found = modules(root)
    known = set(found)
    edges: list[Edge] = []
    unresolved: list[str] = []
    for name, path in found.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _Collector(name, path.name == "__init__.py", known, _string_tuples(tree))
        collector.visit(tree)
        edges += collector.edges
        unresolved += [f"{name}:{line}" for line in collector.unresolved]
    return list(dict.fromkeys(edges)), unresolved  # one edge per import statement and target


def graph(edges: Iterable[Edge]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in edges:
        out.setdefault(e.source, set()).add(e.target)
        out.setdefault(e.target, set())
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted;
    a module importing itself is a component of one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:  # iterative, so a deep graph cannot hit the recursion limit
        work = [(v, iter(sorted(g.get(v, ()))))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(g.get(w, ())))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == node:
                            break
                    if len(component) > 1 or node in g.get(node, ()):
                        found.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            connect(v)
    return found


def cycle_path(g: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle inside a strongly connected component: a → b → … → a."""
    members = set(component)
    start = component[0]
    # breadth-first from start's successors back to start, inside the component
    frontier = [[start]]
    seen = {start}
    while frontier:
        nxt = []
        for path in frontier:
            for w in sorted(g.get(path[-1], ())):
                if w == start:
                    return path + [start]
                if w in members and w not in seen:
                    seen.add(w)
                    nxt.append(path + [w])
        frontier = nxt
    return component


def layer_of(module: str) -> tuple[int, str]:
    best: Optional[tuple[int, int, str]] = None
    for rank, (layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), rank, layer)
    if best is None:
        raise KeyError(module)
    return best[1], best[2]


def engine_of(module: str) -> Optional[str]:
    for engine in ENGINES:
        if module == engine or module.startswith(engine + "."):
            return engine
    return None


def upward(edges: Iterable[Edge]) -> list[Edge]:
    return [e for e in edges if layer_of(e.source)[0] < layer_of(e.target)[0]]


def across_engines(edges: Iterable[Edge]) -> list[Edge]:
    """Edges from one engine's package into another's, other than to the shared layer."""
    return [e for e in edges
            if engine_of(e.source) and engine_of(e.target)
            and engine_of(e.source) != engine_of(e.target)
            and layer_of(e.target)[1] != SHARED_LAYER]


def _show(edge: Edge) -> str:
    return f"{edge.source}:{edge.line} → {edge.target} ({edge.kind})"


# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edges() -> list[Edge]:
    found, unresolved = collect()
    assert not unresolved, f"dynamic imports whose targets cannot be read: {unresolved}"
    return found


def test_every_module_has_a_layer():
    missing = [name for name in modules() if not _has_layer(name)]
    assert not missing, f"add these modules to LAYERS (and docs/architecture.md): {missing}"


def _has_layer(name: str) -> bool:
    try:
        layer_of(name)
    except KeyError:
        return False
    return True


def test_the_engines_are_loaded_dynamically_and_seen(edges):
    dynamic = {(e.source, e.target) for e in edges if e.kind == "dynamic"}
    for engine in ENGINES:
        assert ("derive.decide", engine) in dynamic


def test_no_import_cycle(edges):
    g = graph(edges)
    found = cycles(g)
    assert not found, "import cycles:\n" + "\n".join(
        " → ".join(cycle_path(g, c)) + f"   (component of {len(c)})" for c in found)


def test_no_import_goes_up_a_layer(edges):
    bad = upward(edges)
    assert not bad, "imports from a lower layer to a higher one:\n" + "\n".join(
        f"{_show(e)}   [{layer_of(e.source)[1]} → {layer_of(e.target)[1]}]" for e in bad)


def test_engines_do_not_import_each_other(edges):
    bad = across_engines(edges)
    assert not bad, "an engine imports another engine's modules:\n" + "\n".join(map(_show, bad))


# --- the checks can fail ----------------------------------------------------------------


def test_cycle_finder_finds_a_toy_cycle():
    toy = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    found = cycles(toy)
    assert sorted(found) == [["a", "b", "c"], ["e"]]
    assert cycle_path(toy, ["a", "b", "c"]) == ["a", "b", "c", "a"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_collector_reads_every_kind_of_import(tmp_path):
    pkg = tmp_path / "derive"
    (pkg / "eng").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("from derive import high\n")  # upward, and a cycle
    (pkg / "high.py").write_text(
        "import importlib\nfrom derive import low\nNAMES = ('eng',)\n"
        "def load():\n    for n in NAMES:\n        importlib.import_module(f'derive.{n}')\n")
    (pkg / "eng" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from derive import high\n"
        "def f():\n    from .part import x\n")
    (pkg / "eng" / "part.py").write_text("import derive.low\nx = 1\n")
    found, unresolved = collect(pkg)
    assert not unresolved
    got = {(e.source, e.target, e.kind) for e in found}
    assert got == {("derive.low", "derive.high", "module"),
                   ("derive.high", "derive.low", "module"),
                   ("derive.high", "derive.eng", "dynamic"),
                   ("derive.eng", "derive.eng.part", "function"),
                   ("derive.eng.part", "derive.low", "module")}
    # high → low → high, and high ⇢ eng → part → low → high through the dynamic load
    assert cycles(graph(found)) == [["derive.eng", "derive.eng.part", "derive.high", "derive.low"]]


def test_layer_and_engine_rules_flag_what_they_should():
    up = Edge("derive.numeric.identity", "derive.decide", 1, "module")
    down = Edge("derive.decide", "derive.numeric", 2, "dynamic")
    assert upward([up, down]) == [up]
    across = Edge("derive.timing.bench", "derive.numeric.identity", 3, "module")
    shared = Edge("derive.timing.bench", "derive.numeric.lower", 4, "module")
    same = Edge("derive.numeric.identity", "derive.numeric.lower", 5, "module")
    assert across_engines([across, shared, same]) == [across]
    assert layer_of("derive.numeric.lower")[1] == "lowering"
    assert layer_of("derive.numeric.identity")[1] == "engines"
    assert layer_of("derive")[1] == "front-ends"
