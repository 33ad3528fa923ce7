"""Mutants of a claim, built on the typed model: where a claim can be changed and the changed claim.

The model is frozen dataclasses, so a mutant is made with :func:`dataclasses.replace`
along a path of field keys (no text is edited or evaluated).  :mod:`derive.mutate` decides
the mutants, :mod:`derive.equivalence` tells which survivors are true, and
:mod:`derive.repair` builds its candidate fixes with the same surgery.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from fractions import Fraction
from typing import Any, Iterator

from derive import model as m
from derive.semantics import walk


# ------------------------------------------------------------------ model surgery
Key = tuple  # (field name,) or (field name, i) or (field name, i, j)


def children(node: Any) -> Iterator[tuple[Key, Any]]:
    """Expression children of a model node, with the key that addresses each."""
    if not is_dataclass(node):
        return
    for f in fields(node):
        if f.name == "pos":
            continue
        value = getattr(node, f.name)
        if isinstance(value, m.Expr):
            yield (f.name,), value
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                if isinstance(item, m.Expr):
                    yield (f.name, i), item
                elif isinstance(item, tuple):
                    for j, sub in enumerate(item):
                        if isinstance(sub, m.Expr):
                            yield (f.name, i, j), sub


def with_child(node: Any, key: Key, new: Any) -> Any:
    name = key[0]
    if len(key) == 1:
        return replace(node, **{name: new})
    items = list(getattr(node, name))
    if len(key) == 2:
        items[key[1]] = new
    else:
        inner = list(items[key[1]])
        inner[key[2]] = new
        items[key[1]] = tuple(inner)
    return replace(node, **{name: tuple(items)})


def nodes_with_paths(root: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    stack = [(path, root)]
    while stack:
        p, node = stack.pop()
        yield p, node
        for key, child in reversed(list(children(node))):
            stack.append((p + (key,), child))


def replace_at(root: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    key = path[0]
    child = _get(root, key)
    return with_child(root, key, replace_at(child, path[1:], new))


def _get(node: Any, key: Key) -> Any:
    value = getattr(node, key[0])
    for k in key[1:]:
        value = value[k]
    return value


# ------------------------------------------------------------------ mutation operators
@dataclass
class Site:
    """One mutant: where (statement index, path) and what (kind, description, new node)."""

    statement: int
    path: tuple
    kind: str
    description: str
    new: Any
    old: Any


def _num(value: Fraction, like: m.Num) -> m.Num:
    text = str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    return m.Num(value, text, like.imaginary, like.pos)


def describe(e: Any) -> str:
    """A short readable form of a model expression (for reports only)."""
    if isinstance(e, m.Num):
        return e.text
    if isinstance(e, m.Name):
        return e.text or e.id
    if isinstance(e, m.Unary):
        return f"-{describe(e.operand)}"
    if isinstance(e, m.BinOp):
        return f"({describe(e.left)} {e.op} {describe(e.right)})"
    if isinstance(e, m.Transpose):
        return f"{describe(e.operand)}ᵀ"
    if isinstance(e, m.Call):
        return f"{e.func}({', '.join(describe(a) for a in e.args)})"
    if isinstance(e, m.Index):
        return f"{describe(e.base)}[{', '.join(describe(i) for i in e.indices)}]"
    if isinstance(e, m.Compare):
        out = describe(e.operands[0])
        for op, x in zip(e.ops, e.operands[1:]):
            out += f" {op} {describe(x)}"
        return out
    return type(e).__name__


_SWAP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def node_mutants(node: Any) -> Iterator[tuple[str, str, Any]]:
    """(kind, description, replacement) for one node."""
    if isinstance(node, m.Num) and not node.imaginary:
        v = node.value
        yield "constant", f"constant {node.text} doubled", _num(v * 2 if v else Fraction(1), node)
        yield "constant", f"constant {node.text} shifted by +1", _num(v + 1, node)
    elif isinstance(node, m.BinOp):
        if node.op in ("^", ".^") and isinstance(node.right, m.Num) and not node.right.imaginary:
            for d in (1, -1):
                new_exp = node.right.value + d
                yield ("exponent", f"exponent of {describe(node)} {'+' if d > 0 else '-'}1",
                       replace(node, right=_num(new_exp, node.right)))
        if node.op == "@":
            yield ("swap", f"operands of {describe(node)} swapped",
                   replace(node, left=node.right, right=node.left))
        if node.op in ("+", "-"):
            yield ("sign", f"sign flipped in {describe(node)}",
                   replace(node, op="-" if node.op == "+" else "+"))
    elif isinstance(node, m.Unary) and node.op == "-":
        yield "sign", f"sign of {describe(node)} flipped", node.operand
    elif isinstance(node, m.Transpose):
        yield "transpose", f"transpose dropped from {describe(node)}", node.operand
    elif isinstance(node, m.Compare):
        for i, op in enumerate(node.ops):
            if op in _SWAP:
                ops = list(node.ops)
                ops[i] = _SWAP[op]
                yield "compare", f"'{op}' swapped to '{_SWAP[op]}'", replace(node, ops=tuple(ops))


def _roots(st: Any) -> list[tuple[Key, Any]]:
    """The parts of a statement that mutants change: shows, definitions, recurrences."""
    if isinstance(st, m.Show):
        return [(("statement",), st.statement)]
    if isinstance(st, m.Define):
        return [(("value",), st.value)]
    if isinstance(st, m.FuncDef):
        return [(("body",), st.body)]
    if isinstance(st, m.Recurrence):
        return [(("equations", i), eq) for i, eq in enumerate(st.equations)]
    return []


def size_definitions(claim: m.Claim) -> set[int]:
    """Statements ``let d = 16`` whose name sizes a declared tensor: they choose which
    instance of a general claim is built, not the formula, so they are not mutated (a
    claim true for every size stays true at ``d = 32``)."""
    shaped = {n.id for st in claim.statements if isinstance(st, m.Decl)
              and isinstance(st.type, m.TensorType) for dim in st.type.shape
              for n in walk(dim) if isinstance(n, m.Name)}
    return {k for k, st in enumerate(claim.statements)
            if isinstance(st, m.Define) and isinstance(st.value, m.Num)
            and any(n.id in shaped for n in st.names)}


def sites(claim: m.Claim) -> list[Site]:
    """Every mutant of a claim, in a deterministic order."""
    out: list[Site] = []
    sizes = size_definitions(claim)
    for k, st in enumerate(claim.statements):
        if k in sizes:
            continue
        for key, root in _roots(st):
            if isinstance(root, m.RecEq):
                targets = [((key, ("value",)), root.value)]
            else:
                targets = [((key,), root)]
            for prefix, expr in targets:
                costed = {id(n) for _, c in nodes_with_paths(expr) if isinstance(c, m.Cost)
                          for _, n in nodes_with_paths(c.arg)}
                for path, node in nodes_with_paths(expr):
                    for kind, text, new in node_mutants(node):
                        if id(node) in costed and kind != "swap":
                            # inside time[…]/flops[…]/memory[…] a constant, sign or exponent
                            # of an entry changes no cost: an equivalent mutant by design
                            continue
                        out.append(Site(k, prefix + path, kind, text, new, node))
    unique, seen = [], set()
    for site in out:  # e.g. 'exponent 4 + 1' and 'constant 4 shifted by +1' are one mutant
        try:
            key = (site.statement, apply(claim, site).statements[site.statement])
            hash(key)
        except TypeError:
            unique.append(site)
            continue
        if key not in seen:
            seen.add(key)
            unique.append(site)
    return unique


def apply(claim: m.Claim, site: Site) -> m.Claim:
    statements = list(claim.statements)
    st = statements[site.statement]
    # the first one or two keys address the root inside the statement
    first = site.path[0]
    if first[0] == "equations":
        eq_key, value_key = site.path[0], site.path[1]
        eq = _get(st, eq_key)
        new_value = replace_at(_get(eq, value_key), site.path[2:], site.new)
        st = with_child(st, eq_key, with_child(eq, value_key, new_value))
    else:
        root = _get(st, first)
        st = with_child(st, first, replace_at(root, site.path[1:], site.new))
    statements[site.statement] = st
    return replace(claim, statements=tuple(statements))
