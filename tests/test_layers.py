"""The package's layers import downward only (read from the source with ast; nothing is imported).

    cli                          (top: the command line)
    inference, train, eval       (sessions, training, benchmarks)
    models, data, weights        (networks and their weights files; datasets and the data engine)
    io, ops, classical           (file formats; tensor ops; OpenCV flow)
    errors, policy, (root)       (shared by all)

A module may import its own layer or any layer below; no subpackage import cycle either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import segflow_cli

PKG = Path(segflow_cli.__file__).parent
LAYERS = {
    "": 0, "errors": 0, "policy": 0,
    "io": 1, "ops": 1, "classical": 1,
    "models": 2, "data": 2, "weights": 2,
    "inference": 3, "train": 3, "eval": 3,
    "cli": 4,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every segflow_cli module ``path`` imports (at any depth: lazy imports count too)."""
    name, is_pkg = _module_name(path), path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "segflow_cli":
                found.add(target)
                # `from . import x` names a submodule when x is one
                found.update(f"{target}.{a.name}" for a in node.names
                             if (PKG.parent / f"{target}.{a.name}".replace(".", "/")).with_suffix(".py").exists()
                             or (PKG.parent / f"{target}.{a.name}".replace(".", "/") / "__init__.py").exists())
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "segflow_cli")
    return found


def _part(module: str) -> str:
    """segflow_cli.models.lite.encoders -> "models"; segflow_cli.errors -> "errors"; segflow_cli -> ""."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PKG.rglob("*.py"))}


def test_every_part_has_a_layer():
    parts = {_part(m) for m in _graph()}
    assert parts <= set(LAYERS), f"give these a layer in tests/test_layers.py: {sorted(parts - set(LAYERS))}"


def test_imports_go_downward_only():
    upward = [f"{mod} (layer {LAYERS[_part(mod)]}) imports {t} (layer {LAYERS[_part(t)]})"
              for mod, targets in _graph().items() for t in sorted(targets)
              if LAYERS.get(_part(t), 0) > LAYERS.get(_part(mod), 0)]
    assert not upward, "\n".join(upward)


def test_no_import_cycle_between_subpackages():
    edges: dict[str, set[str]] = {}
    for mod, targets in _graph().items():
        edges.setdefault(_part(mod), set()).update(_part(t) for t in targets if _part(t) != _part(mod))
    edges.pop("", None)
    for deps in edges.values():
        deps.discard("")  # the root package holds only __version__

    def cycle_from(node, path):
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                return path[path.index(nxt):] + [nxt]
            found = cycle_from(nxt, path + [nxt])
            if found:
                return found
        return None

    for start in sorted(edges):
        cycle = cycle_from(start, [start])
        assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checker_sees_the_known_edges():
    """Guard against a checker that finds nothing: a few imports that must be seen."""
    graph = _graph()
    assert "segflow_cli.classical" in graph["segflow_cli.models.transforms"]  # the DIS warm start
    assert "segflow_cli.data.priors" in graph["segflow_cli.inference.finetune"]
    assert any(t.startswith("segflow_cli.inference") for t in graph["segflow_cli.cli.segment_cmd"])
