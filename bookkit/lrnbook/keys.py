"""Stage keys by content: normalised source, import closures, content hashes of files.

Nothing here imports ``lrn`` or TensorFlow: sources are parsed, not imported, so that
``status`` answers in well under a second.

* :func:`normalised_source` is the AST of a module with everything removed that cannot
  change what the code computes: comments and formatting (the AST has none), docstrings
  and other bare string statements, and the text of messages (string arguments of
  ``raise``, ``print`` and ``warnings.warn``). A change of arithmetic, of a constant or
  of control flow changes it.
* :func:`closure` walks the imports of the project's own packages (``lrn``, ``lrnbook``)
  from a set of root modules: every ``import`` statement anywhere in a module (module
  level or inside functions, which run when called) plus the parent packages whose
  ``__init__`` runs on import. Imports inside a package's module-level ``__getattr__``
  (PEP 562 lazy attributes) run only when such an attribute is asked for and are not
  followed; ``importlib.import_module`` with a string is not an import statement either.
* :func:`code_hashes` undoes refactors that a recorded check showed to compute the same
  results (:mod:`lrnbook.equivalence`), so that they re-run nothing.
* :func:`content_hash` hashes what a result file holds, not its bytes: the arrays of an
  ``.npz`` (whose zip members carry timestamps), and CSV / JSON files without the volatile
  provenance fields (creation time, git commit) that every result file records.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
from functools import lru_cache
from pathlib import Path

from lrn.cache import cache_dir, sha256_file, sha256_parts, sha256_text
from lrnbook import equivalence
from lrnbook.cache_folders import KEYS

PACKAGES = ("lrn", "lrnbook")
"""The project's packages: imports of anything else (numpy, keras) are not keyed."""

VOLATILE_PROVENANCE = ("created_utc", "git_commit")
"""Provenance fields that differ between two runs of the same code on the same inputs."""

MESSAGE_CALLS = ("print", "warn", "warning", "info", "debug", "error", "write")
"""Calls whose string arguments are messages (``print``, ``warnings.warn``, ``sys.stderr.write``)."""


def digest(payload) -> str:
    """A 16-hex-digit key of a JSON-serialisable payload (sorted keys)."""
    return sha256_text(json.dumps(payload, sort_keys=True, default=str))[:16]


# ----------------------------------------------------------------------------- normalised source
class _Normaliser(ast.NodeTransformer):
    """Drops docstrings and bare strings; blanks the strings of messages."""

    def _strip_strings(self, node):
        for child in ast.walk(node):
            if isinstance(child, ast.JoinedStr):
                child.values = []
            elif isinstance(child, ast.Constant) and isinstance(child.value, str):
                child.value = ""
        return node

    def generic_visit(self, node):
        super().generic_visit(node)
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and body and all(isinstance(s, ast.stmt) for s in body):
                kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                and isinstance(s.value.value, str))]
                if not kept and field == "body" and not isinstance(node, ast.Module):
                    kept = [ast.Pass()]
                setattr(node, field, kept)
        return node

    def visit_Raise(self, node):
        return self._strip_strings(self.generic_visit(node))

    def visit_Call(self, node):
        node = self.generic_visit(node)
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in MESSAGE_CALLS:
            for arg in [*node.args, *(k.value for k in node.keywords if k.arg in (None, "msg", "message"))]:
                self._strip_strings(arg)
        return node


def normalised_source(source: str) -> str:
    """The AST dump of ``source`` without comments, docstrings and message texts (see module doc)."""
    tree = _Normaliser().visit(ast.parse(source))
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def normalised_cell(source: str) -> str:
    """A notebook code cell, normalised like a module; cells that are not Python (magics) as text."""
    try:
        return normalised_hash(source)
    except SyntaxError:
        return "\n".join(line.rstrip() for line in source.strip().splitlines())


def normalised_hash(source: str) -> str:
    """sha256 of :func:`normalised_source`, remembered on disk by the sha256 of the raw text.

    Parsing and normalising every module for every stage is most of what ``status`` costs;
    the memo (``$LRN_CACHE/keys/normalised-<hash of this file>.json``) maps raw text to its normalised hash, which
    never changes for the same text.
    """
    raw = sha256_text(source)
    memo = _memo()
    if raw not in memo:
        memo[raw] = sha256_text(normalised_source(source))
        _save_memo(memo)
    return memo[raw]


def _memo_path() -> Path:
    normaliser = sha256_file(__file__)[:12]  # a new normaliser, a new memo
    return cache_dir() / KEYS / f"normalised-{normaliser}.json"


@lru_cache(maxsize=1)
def _memo() -> dict:
    try:
        return json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}


def _save_memo(memo: dict) -> None:
    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps(memo))
        part.replace(path)
    except OSError:
        pass  # a read-only cache only costs time


@lru_cache(maxsize=None)
def _module_hash(path: Path, mtime_ns: int) -> str:
    return normalised_hash(path.read_text())


def module_hash(path: Path) -> str:
    """sha256 of a module's normalised source (cached per file and modification time)."""
    return _module_hash(path, path.stat().st_mtime_ns)


# ----------------------------------------------------------------------------- import closure
@lru_cache(maxsize=None)
def package_root(package: str) -> Path | None:
    """The folder of a top-level package, found without importing it (``None`` if not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def module_path(name: str) -> Path | None:
    """The file of module ``name`` in one of :data:`PACKAGES` (``None`` if it is not one of theirs)."""
    top, *rest = name.split(".")
    root = package_root(top) if top in PACKAGES else None
    if root is None:
        return None
    base = root.joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _lazy_getattr_nodes(tree: ast.Module) -> set[int]:
    """ids of the nodes inside a module-level ``def __getattr__`` (PEP 562)."""
    inside = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            inside.update(id(child) for child in ast.walk(node))
    return inside


def imported_modules(name: str) -> set[str]:
    """The project modules that module ``name`` imports (statically; see the module doc)."""
    path = module_path(name)
    if path is None:
        return set()
    return set(_imported_modules(name, path, path.stat().st_mtime_ns))


@lru_cache(maxsize=None)
def _imported_modules(name: str, path: Path, mtime_ns: int) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    lazy = _lazy_getattr_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in lazy:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(m for m in found if module_path(m) is not None)


def closure(roots) -> list[str]:
    """Every project module that runs when the ``roots`` are imported and used, sorted."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or module_path(name) is None:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run first
        todo.extend(imported_modules(name))
    return sorted(seen)


def code_hashes(roots) -> dict[str, str]:
    """``{module: normalised-source hash}`` over the import closure of ``roots``, with checked
    refactors undone (:func:`lrnbook.equivalence.as_before`)."""
    return equivalence.as_before({name: module_hash(module_path(name))[:16] for name in closure(roots)})


def cell_modules(sources) -> set[str]:
    """Project modules imported by notebook code cells."""
    found = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {m for m in found if module_path(m) is not None}


# ----------------------------------------------------------------------------- file contents
def _without_volatile(record):
    if isinstance(record, dict):
        return {k: _without_volatile(v) for k, v in record.items() if k not in VOLATILE_PROVENANCE}
    if isinstance(record, list):
        return [_without_volatile(v) for v in record]
    return record


PROVENANCE_PREFIX = "# lrn-provenance: "


def content_hash(path: Path) -> str:
    """sha256 of what a result file holds (see the module doc); raises ``FileNotFoundError``.

    Cached per file, modification time and size within a process.
    """
    path = Path(path)
    stat = path.stat()
    return _content_hash(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=None)
def _content_hash(path: Path, mtime_ns: int, size: int) -> str:
    suffix = path.suffix
    if suffix == ".npz":
        import numpy as np

        def parts(stored):
            for key in sorted(stored.files):
                array = stored[key]
                yield f"{key}:{array.dtype.str}:{array.shape}".encode()
                yield np.ascontiguousarray(array).tobytes()

        with np.load(path) as stored:
            return sha256_parts(parts(stored))
    if suffix == ".json":
        return sha256_text(json.dumps(_without_volatile(json.loads(path.read_text())), sort_keys=True))
    if suffix == ".csv":
        lines = []
        for line in path.read_text().splitlines():
            if line.startswith(PROVENANCE_PREFIX):
                record = _without_volatile(json.loads(line[len(PROVENANCE_PREFIX):]))
                line = PROVENANCE_PREFIX + json.dumps(record, sort_keys=True)
            lines.append(line.rstrip("\r"))
        return sha256_text("\n".join(lines))
    return sha256_file(path)
