"""Where things may be imported: engines never import Django, and only the
Gemini package imports google.genai."""

from __future__ import annotations

import ast
from pathlib import Path

import studio.engines

ENGINES = Path(studio.engines.__file__).parent


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def engine_modules() -> list[Path]:
    return list(ENGINES.rglob("*.py"))


def test_engines_never_import_django() -> None:
    assert len(engine_modules()) > 10
    for path in engine_modules():
        django = {name for name in imported_modules(path) if name.split(".")[0] == "django"}
        assert not django, f"{path.relative_to(ENGINES)} imports {django}"


def test_only_the_gemini_package_imports_google_genai() -> None:
    importers = {
        path.relative_to(ENGINES).parts[0]
        for path in engine_modules()
        if any(name.startswith("google") for name in imported_modules(path))
    }
    assert importers == {"gemini"}


def test_the_local_package_holds_only_a_docstring() -> None:
    tree = ast.parse((ENGINES / "local" / "__init__.py").read_text())
    assert len(tree.body) == 1
    assert isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant)
