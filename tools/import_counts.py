"""Count the imports between the project's own modules in ``lrn/`` and ``bookkit/lrnbook/``.

Prints, for each package and for both together: the number of modules, the number of import
edges between project modules (module-level and function-level, each pair counted once), and
the number of function-level imports of project modules (``import`` statements inside a
``def``), then lists every function-level import with the line that explains it (the comment
on the import line, or the first line of the function's docstring when there is none).

    python tools/import_counts.py            # the working tree
    python tools/import_counts.py --list     # also every function-level import, one a line
"""
from __future__ import annotations

import argparse
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"lrn": REPO / "lrn", "lrnbook": REPO / "bookkit" / "lrnbook"}


def modules() -> dict[str, Path]:
    """``{dotted name: path}`` of every module of the two packages."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def _targets(node: ast.AST, here: str, known: set[str]) -> list[str]:
    """The project modules an import statement names (``from lrn import data`` names ``lrn.data``)."""
    names = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                 for alias in node.names]
    out = []
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != here:
            out.append(name)
    return out


def scan() -> dict:
    """Edges and function-level imports of every module."""
    found = modules()
    known = set(found)
    edges, local = set(), []
    for name, path in found.items():
        tree = ast.parse(path.read_text())
        lines = path.read_text().splitlines()

        def visit(node, function=None):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    visit(child, child)
                    continue
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    for target in dict.fromkeys(_targets(child, name, known)):
                        edges.add((name, target))
                        if function is not None:
                            comment = lines[child.lineno - 1].partition("#")[2].strip()
                            local.append((name, function.name, target, child.lineno, comment))
                visit(child, function)

        visit(tree)
    return {"modules": found, "edges": edges, "local": local}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every function-level import")
    args = parser.parse_args(argv)
    result = scan()
    print(f"{'':10} {'modules':>8} {'edges':>6} {'function-level':>15}")
    for package in (*PACKAGES, "both"):
        def mine(name, package=package):
            return package == "both" or name.split(".")[0] == package

        n = sum(mine(m) for m in result["modules"])
        e = sum(mine(a) for a, _ in result["edges"])
        f = sum(mine(m) for m, *_ in result["local"])
        print(f"{package:10} {n:>8} {e:>6} {f:>15}")
    if args.list:
        for module, function, target, line, comment in sorted(result["local"]):
            print(f"{module}:{line} {function}() imports {target}" + (f"  # {comment}" if comment else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
