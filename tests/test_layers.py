"""The house in three floors: the web (views, live, API) above services above
engines, video, storage and models. No import runs from a lower floor to a
higher one, and no modules import each other in a circle.

Read from the code's own imports (as text, with ast), at function level too:
an import inside a function is still an import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("projects", "studio")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project's modules a file imports (the deepest known name)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # "from package import module" imports the module.
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
    found = set()
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


GRAPH = {name: imports_of(path, set(modules())) - {name} for name, path in modules().items()}


def floor(name: str) -> int:
    """3: the web; 2: services (and forms, page data, tasks); 1: models,
    media, engines. Django's project files (settings, urls, asgi) stand on
    top and outside."""
    if name.startswith(
        (
            "projects.views",
            "projects.live",
            "projects.api",
            "projects.templatetags",
            "projects.context_processors",
        )
    ):
        return 3
    if name in {"projects.urls", "projects.admin", "projects.apps"} or name.startswith(
        "projects.management"
    ):
        return 4
    if name.startswith("projects.services") or name in {
        "projects.forms",
        "projects.page_data",
        "projects.tasks",
    }:
        return 2
    if name.startswith(("studio.engines", "projects.models")) or name == "projects.media":
        return 1
    return 5  # studio.settings, studio.urls, studio.asgi: the project's own files


def test_no_import_runs_up_a_floor():
    upward = [
        (name, imported)
        for name, imported_names in GRAPH.items()
        for imported in imported_names
        if floor(imported) > floor(name) and name != "studio.settings"
    ]
    assert not upward, upward


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("projects.services", "projects.forms"),
        ("projects.services", "projects.page_data"),
        ("projects.services", "projects.tasks"),
        ("projects.page_data", "projects.live"),
        ("projects.live", "projects.api"),
        ("projects.live", "projects.views"),
        ("studio.engines", "projects"),
    ],
)
def test_rooms_keep_to_their_floor(lower, higher):
    crossing = [
        (name, imported)
        for name, imported_names in GRAPH.items()
        if name == lower or name.startswith(lower + ".")
        for imported in imported_names
        if imported == higher or imported.startswith(higher + ".")
    ]
    assert not crossing, crossing


def test_no_modules_import_each_other_in_a_circle():
    # Depth-first search for a back edge.
    visiting, done, circles = set(), set(), []

    def visit(name: str, trail: list[str]) -> None:
        visiting.add(name)
        for imported in sorted(GRAPH.get(name, ())):
            if imported in visiting:
                circles.append([*trail[trail.index(imported) :], imported])
            elif imported not in done:
                visit(imported, [*trail, imported])
        visiting.discard(name)
        done.add(name)

    for name in sorted(GRAPH):
        if name not in done:
            visit(name, [name])
    assert not circles, circles
