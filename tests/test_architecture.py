"""One-way architecture: the module graph has no cycles and engines never ask where data came
from (issue 13).

The graph is read from the source with :mod:`ast` (every ``import`` and ``from ... import``,
including those inside functions, because a lazy import still couples the modules), so the
test needs no import of the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "iopoutcomes"
PACKAGE = "iopoutcomes"

# Readers turn one source into canonical Records (+ declared options); they may name their own
# provenance. Everything else (engines, results, plots, report) must not test it.
READERS = frozenset(
    {
        "iopoutcomes.ctn0094",
        "iopoutcomes.teds",
        "iopoutcomes.exports",
        "iopoutcomes.simulate",
        "iopoutcomes.records",
    }
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute names an ``ImportFrom`` may refer to (the module, and module.name for each
    imported name, since ``from . import rates`` imports a submodule)."""
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    return [target] + [f"{target}.{alias.name}" for alias in node.names]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = _resolve(module, is_package, node)
            else:
                continue
            for name in names:
                # the deepest known module the name denotes (a function name resolves to its
                # module; a package's __init__ counts as the package)
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name and name != module and name != PACKAGE:
                    graph[module].add(name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first repeated last), or None (iterative DFS)."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        path = [root]
        state[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def _is_provenance(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "provenance"
    if isinstance(node, ast.Attribute):
        return node.attr == "provenance"
    if isinstance(node, ast.Call):  # getattr(x, "provenance", ...), d.get("provenance")
        args = node.args
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(args) >= 2:
            return isinstance(args[1], ast.Constant) and args[1].value == "provenance"
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and args:
            return isinstance(args[0], ast.Constant) and args[0].value == "provenance"
    if isinstance(node, ast.Subscript):  # summary["provenance"]
        return isinstance(node.slice, ast.Constant) and node.slice.value == "provenance"
    return False


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_is_literal(e) for e in node.elts)
    return False


def provenance_tests(source: str) -> list[int]:
    """Line numbers where ``provenance`` is compared (==, !=, in, not in) with a literal."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        if any(_is_provenance(s) for s in sides) and any(_is_literal(s) for s in sides):
            lines.append(node.lineno)
    return lines


def _is_reader(module: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in READERS)


# --- the checks themselves ---------------------------------------------------------------------


def test_module_graph_has_no_cycles() -> None:
    modules = _modules()
    graph = import_graph(modules)
    assert len(graph) > 40  # the whole package was read, not an empty folder
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_no_module_outside_the_readers_tests_provenance() -> None:
    offenders = {
        module: provenance_tests(path.read_text(encoding="utf-8"))
        for module, path in _modules().items()
        if not _is_reader(module)
    }
    offenders = {m: lines for m, lines in offenders.items() if lines}
    assert not offenders, f"engines that branch on provenance (module: lines): {offenders}"


# Plots only draw: they may read fixed knowledge (labels, published benchmark bands, errors,
# the one default-reference and confidence-level rules) but no engine, so every result's plot()
# can import them without a cycle (the one exception, the old home of cascade_counts, warns
# and reaches iopoutcomes.cascade by name for one release).
PLOT_MAY_IMPORT = frozenset(
    {
        "iopoutcomes.definitions",
        "iopoutcomes.benchmarks",
        "iopoutcomes.exceptions",
        "iopoutcomes._validate",
    }
)


def test_plots_import_no_engine() -> None:
    graph = import_graph(_modules())
    assert graph["iopoutcomes.plots"] <= PLOT_MAY_IMPORT, graph["iopoutcomes.plots"]


# --- the checkers catch what they are meant to (so the checks above can fail) ----------------


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_import_graph_sees_lazy_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "iopoutcomes"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n    return g\n")
    (pkg / "b.py").write_text("from . import a\nfrom .sub.c import h\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import f\n")
    modules = {
        ".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): p
        for p in pkg.rglob("*.py")
    }
    graph = import_graph(modules)
    assert graph["iopoutcomes.a"] == {"iopoutcomes.b"}
    assert graph["iopoutcomes.b"] == {"iopoutcomes.a", "iopoutcomes.sub.c"}
    assert graph["iopoutcomes.sub.c"] == {"iopoutcomes.a"}
    assert find_cycle(graph) is not None


@pytest.mark.parametrize(
    ("source", "hit"),
    [
        ('if records.provenance == "ctn0094":\n    pass\n', True),
        ('if getattr(r, "provenance", None) == "teds_d":\n    pass\n', True),
        ('x = summary.get("provenance") in ("ctn0094",)\n', True),
        ('x = "export" != summary["provenance"]\n', True),
        ('provenance = getattr(r, "provenance", "canonical")\n', False),
        ('x = {"provenance": provenance}\n', False),
        ('x = options.get("record_unit") == "treatment discharges"\n', False),
    ],
)
def test_provenance_checker(source: str, hit: bool) -> None:
    assert bool(provenance_tests(source)) is hit
