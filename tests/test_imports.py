"""The import graph of the project's own code: no circles, and the player's layers hold.

import-linter (``lint-imports``, contracts in pyproject.toml) keeps the layers apart: ``snd_player.cli``
above ``app`` (windows) above ``media`` (offscreen painting, video files) above ``core`` (Qt-free). What it
cannot say is checked here: that no module takes part in an import circle (a circle means neither module can
be read, tested or moved without the other), and that the media layer uses nothing of Qt's widgets but the
application object its fonts need. Imports inside functions and under ``TYPE_CHECKING`` count: they are
still an arrow a reader has to follow. There is no list of tolerated circles: the trainer's last two
(checkpoint and validate, loop and distributed) were broken by moving what both sides needed one floor down.
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("snd_player", "trainer", "models")
def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative): the strongly connected components of more than one node, or of one
    node that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == node:
                        break
                if len(comp) > 1 or node in graph.get(node, ()):
                    out.append(comp)
    return out


def test_strongly_connected_finds_circles_by_hand() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": set(), "f": {"f"}}
    assert sorted(map(sorted, strongly_connected(g))) == [["a", "b", "c"], ["f"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def import_graph(packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    g = grimp.build_graph(*packages, cache_dir=None)
    own = {m for m in g.modules if m.split(".")[0] in packages}
    return {m: {i for i in g.find_modules_directly_imported_by(m) if i in own} for m in own}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    circles = strongly_connected(graph)
    assert circles == [], f"import circles: {[sorted(c) for c in circles]}"


def test_graph_sees_function_level_and_type_checking_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer's last two circles ran through such arrows (``trainer.checkpoint`` imported
    ``trainer.validate`` inside functions; ``trainer.distributed`` imported ``trainer.loop`` inside a method
    and under ``TYPE_CHECKING``): a circle of them must still fail the test above."""
    pkg = tmp_path / "circlepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from circlepkg import b\n    return b\n")
    (pkg / "b.py").write_text("import circlepkg.a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circlepkg.d import X\n")
    (pkg / "d.py").write_text("from circlepkg import c\nX = c\n")
    (pkg / "e.py").write_text("from circlepkg import d\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    g = import_graph(("circlepkg",))
    found = sorted(map(sorted, strongly_connected(g)))
    assert found == [["circlepkg.a", "circlepkg.b"], ["circlepkg.c", "circlepkg.d"]]


def test_player_layers_are_packages(graph: dict[str, set[str]]) -> None:
    """Every module of the player lives in one of the four layers (no new flat module beside them)."""
    loose = sorted(
        m for m in graph if m.startswith("snd_player.") and m.split(".")[1] not in ("cli", "app", "media", "core")
    )
    assert loose == []


def test_media_uses_no_widget_but_the_application() -> None:
    """The media layer paints on images: of ``PyQt6.QtWidgets`` it may take ``QApplication`` (one
    application object per process, the kind later windows need), never a widget."""
    bad = []
    for path in sorted((ROOT / "snd_player" / "media").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "PyQt6.QtWidgets":
                bad += [f"{path.name}: {a.name}" for a in node.names if a.name != "QApplication"]
            elif isinstance(node, ast.Import):
                bad += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("PyQt6.QtWidgets")]
    assert bad == []
