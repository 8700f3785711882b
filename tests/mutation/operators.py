"""Mutation operators: the small, plausible slips an answer can hold, applied one at a time to an AST.

Each operator looks at one node and yields ``(description, replacement)``
pairs; :func:`mutants` numbers every (node, replacement) pair of the code
between a cell's ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines and
builds one mutated source per pair. The classes: comparison and arithmetic
operator swaps, a constant changed by ±1, a slice bound off by one, a term
of a sum or difference dropped, the first two arguments of a call swapped,
a keyword argument dropped, a unary minus dropped, ``and``/``or`` swapped, a ``range`` bound ±1, an
accumulation (``+=``) that overwrites, a statement dropped, the first two returned items swapped.
"""

from __future__ import annotations

import ast
import copy

BINARY_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
                ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}


def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _plus(node, delta):
    return ast.BinOp(left=node, op=ast.Add() if delta > 0 else ast.Sub(), right=ast.Constant(abs(delta)))


def replacements(node):
    """``(description, new node)`` for every mutation of ``node`` (the node itself is never modified)."""
    if isinstance(node, ast.BinOp):
        swap = BINARY_SWAPS.get(type(node.op))
        if swap:
            yield f"{type(node.op).__name__}->{swap.__name__}", ast.BinOp(node.left, swap(), node.right)
        if isinstance(node.op, (ast.Add, ast.Sub)):
            yield "drop right term", node.left
            if isinstance(node.op, ast.Add):
                yield "drop left term", node.right
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        swap = COMPARE_SWAPS.get(type(node.ops[0]))
        if swap:
            yield f"{type(node.ops[0]).__name__}->{swap.__name__}", ast.Compare(node.left, [swap()], node.comparators)
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        yield "constant+1", ast.Constant(node.value + 1)
        yield "constant-1", ast.Constant(node.value - 1)
    elif isinstance(node, ast.Slice):
        if node.upper is not None:
            yield "slice upper+1", ast.Slice(node.lower, _plus(node.upper, 1), node.step)
            yield "slice upper-1", ast.Slice(node.lower, _plus(node.upper, -1), node.step)
        if node.lower is not None:
            yield "slice lower+1", ast.Slice(_plus(node.lower, 1), node.upper, node.step)
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "range":
            for index, arg in enumerate(node.args):
                for delta in (1, -1):
                    args = list(node.args)
                    args[index] = _plus(arg, delta)
                    yield f"range argument {index + 1} {delta:+d}", ast.Call(node.func, args, node.keywords)
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            yield "swap arguments 1 and 2", ast.Call(node.func, [node.args[1], node.args[0], *node.args[2:]],
                                                     node.keywords)
        for index, keyword in enumerate(node.keywords):
            if keyword.arg is not None:
                yield f"drop keyword {keyword.arg}", ast.Call(node.func, node.args,
                                                              node.keywords[:index] + node.keywords[index + 1:])
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "drop unary minus", node.operand
    elif isinstance(node, ast.AugAssign):
        yield "overwrite instead of accumulate", ast.Assign([node.target], node.value)
        yield "drop statement", ast.Pass()
    elif isinstance(node, (ast.Assign, ast.Expr)) and not _is_docstring(node):
        yield "drop statement", ast.Pass()
    elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) >= 2:
        elts = node.value.elts
        yield "swap returned items 1 and 2", ast.Return(ast.Tuple([elts[1], elts[0], *elts[2:]], ast.Load()))
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield f"{type(node.op).__name__}->{other.__name__}", ast.BoolOp(other(), node.values)


class _Replace(ast.NodeTransformer):
    """Replace the ``target``-th candidate node (in :func:`_candidates` order) by ``new``."""

    def __init__(self, target, new):
        self.target, self.new, self.index = target, new, -1

    def generic_visit(self, node):
        self.index += 1
        if self.index == self.target:
            return self.new
        return super().generic_visit(node)


def _nodes(tree):
    """Every node in the order :class:`_Replace` visits them (pre-order, as ``generic_visit`` recurses)."""
    order = []

    class Collect(ast.NodeVisitor):
        def generic_visit(self, node):
            order.append(node)
            super().generic_visit(node)

    Collect().visit(tree)
    return order


def answer_lines(source):
    """The line numbers (1-based) strictly between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""
    lines, inside, keep = source.splitlines(), False, set()
    for number, line in enumerate(lines, start=1):
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            keep.add(number)
    return keep


def mutants(source):
    """``(key, description, mutated source)`` for every single mutation of the answer lines of ``source``.

    ``key`` is ``"line:col description"``, stable while the solution's text is.
    """
    tree = ast.parse(source)
    lines = answer_lines(source)
    for index, node in enumerate(_nodes(tree)):
        if getattr(node, "lineno", None) not in lines:
            continue
        if isinstance(node, ast.Slice) and not hasattr(node, "lineno"):
            continue
        for description, new in replacements(node):
            mutated = _Replace(index, ast.copy_location(new, node)).visit(copy.deepcopy(tree))
            ast.fix_missing_locations(mutated)
            try:
                text = ast.unparse(mutated)
            except Exception:  # an operator that makes no valid code here
                continue
            yield f"{node.lineno}:{node.col_offset} {description}", description, text
