"""The package's layers, read from its imports with ``ast``: no upward import, no circle.

Every module has a rank; a module may import only modules of a lower rank, or modules of the
same sub-package (``evaluation.*``, ``render.*``) as long as no circle appears. A new module
must be placed here on purpose, so the test also fails for a module it does not know.
"""

from __future__ import annotations

import ast
from pathlib import Path

import askcorpus

PACKAGE = Path(askcorpus.__file__).parent
RANKS = {
    # building blocks with no askcorpus imports, or only the records and errors
    "types": 0, "errors": 0, "settings": 0, "hashing": 0, "bulk": 0, "segment": 0, "fusion": 0,
    "lexical": 0, "wording": 0, "speakers": 0, "cues": 0, "sentences": 0.5, "adapter": 0.8,
    "query": 1, "catalog": 1, "dense": 1.2, "ann": 1, "embedding": 1, "onnx_encoder": 1.5,
    "storage": 1, "pdf": 1, "render": 1, "inference": 1, "milvus_store": 1,
    "building": 5.5, "distributed": 5.4,
    "corpus": 2, "attribution": 2, "retrieve": 2, "examples": 2,
    "passages": 3,
    "view": 4, "index_format": 4, "lookup": 4.4, "features": 4.5,
    "answering": 5, "learned": 5.2, "fitting": 5.3,
    "api": 6,
    "training": 6.5, "finetune": 6.6,
    "evaluation": 7,
    "gate": 7.5, "http_api": 7.8,  # the server's admission and JSON API, beneath the UI
    "ui": 8,
    "cli": 9,
    "": 10,  # the package's __init__: re-exports the public surface
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _rank(module: str) -> int:
    head = module.split(".")[0]
    if head not in RANKS:
        raise AssertionError(f"askcorpus.{module} has no layer: add it to RANKS in "
                             "tests/test_layering.py")
    return RANKS[head]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "askcorpus":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("askcorpus."):
                found.add(node.module.removeprefix("askcorpus."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("askcorpus.") for a in node.names
                         if a.name.startswith("askcorpus."))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imported in _imports(path):
            # "from askcorpus.evaluation import seeds" names a module of the sub-package.
            deps.add(imported if imported in modules else imported.rsplit(".", 1)[0]
                     if imported.rsplit(".", 1)[0] in modules else imported)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def test_every_import_points_down() -> None:
    upward = []
    for module, deps in _graph().items():
        for dep in deps:
            same_package = module.split(".")[0] == dep.split(".")[0] and module != ""
            if _rank(dep) > _rank(module) or (_rank(dep) == _rank(module)
                                              and not same_package):
                upward.append(f"{module or 'askcorpus'} -> {dep}")
    assert upward == []


def test_no_circle() -> None:
    graph, done, path = _graph(), set(), []

    def visit(node: str) -> None:
        if node in path:
            raise AssertionError("import circle: " + " -> ".join([*path[path.index(node):],
                                                                    node]))
        if node in done:
            return
        path.append(node)
        for dep in sorted(graph[node]):
            visit(dep)
        path.pop()
        done.add(node)

    for module in sorted(graph):
        visit(module)


def test_no_module_over_the_size_guide() -> None:
    too_long = {_module_name(p): n for p in PACKAGE.rglob("*.py")
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > 430}
    assert too_long == {}
