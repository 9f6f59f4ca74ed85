"""The library does not know the book: lrn imports nothing of lrnbook, and no module import cycles."""
from lrnbook import keys


def library_modules() -> list[str]:
    root = keys.package_root("lrn")
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(["lrn", *parts]))
    return names


def import_graph(modules) -> dict[str, set[str]]:
    return {m: keys.imported_modules(m) for m in modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle of ``graph`` found by depth-first search (empty when there is none)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_walk_finds_every_library_module():
    modules = library_modules()
    assert {"lrn", "lrn.train", "lrn.data.eg1800", "lrn.cli"} <= set(modules)
    assert all(keys.module_path(m) is not None for m in modules)


def test_the_library_imports_nothing_of_the_book_side():
    graph = import_graph(library_modules())
    offenders = {m: sorted(i for i in imported if not i.startswith("lrn") or i.startswith("lrnbook"))
                 for m, imported in graph.items()}
    assert not {m: i for m, i in offenders.items() if i}


def test_no_import_cycles_in_the_library_or_the_book_side():
    book_root = keys.package_root("lrnbook")
    book = ["lrnbook" if p.stem == "__init__" else f"lrnbook.{p.stem}" for p in sorted(book_root.glob("*.py"))]
    graph = import_graph(library_modules() + book)
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
