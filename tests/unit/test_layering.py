"""Who may import whom (docs/architecture.md): `shared/` imports neither side (api,
worker) nor the command that starts them (cli); the API never imports the worker;
nothing but the command itself imports `cli`; a route module (api/routes/) never
imports another: what several routes share lives beside them (api/intake.py,
api/views.py, api/owned.py, api/task_control.py). Read from the source with `ast`, every
import counted, those inside functions too, relative ones resolved."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(source: str, package: str) -> set[str]:
    """Every module that `source`, a module of `package`, imports, by its full dotted name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x, from ..y import z
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return found


def imports_of(path: Path) -> set[str]:
    parts = path.relative_to(ROOT).with_suffix("").parts
    package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
    return imported_modules(path.read_text(), package)


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    """`file: module` for each import under `folder` of a module in (or below) `forbidden`."""
    return [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for module in sorted(imports_of(path))
        if module.split(".")[0] in forbidden
    ]


def test_shared_imports_neither_side_nor_the_command() -> None:
    assert violations("shared", ("api", "worker", "cli")) == []


def test_the_api_never_imports_the_worker_or_the_command() -> None:
    assert violations("api", ("worker", "cli")) == []


def test_the_worker_never_imports_the_api_or_the_command() -> None:
    assert violations("worker", ("api", "cli")) == []


def test_no_route_module_imports_another() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "api" / "routes").glob("*.py"))
        if path.name != "__init__.py"
        for module in sorted(imports_of(path))
        if module == "api.routes" or module.startswith("api.routes.")
    ]
    assert found == []


def test_the_reader_sees_function_level_and_relative_imports() -> None:
    """What the checks above rest on: imports inside a function and relative ones are read."""
    source = "def f():\n    import api.main\n\nfrom .. import worker\nfrom .names import key\n"
    assert {"api.main", "shared.worker", "shared.storage.names.key"} <= imported_modules(source, "shared.storage")


def _calls_of(name: str) -> list[str]:
    """`file:line` of each call of `name(...)` (or `module.name(...)`) in the product code."""
    found = []
    for package in ("api", "worker", "shared", "cli"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    func = node.func
                    called = (
                        func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                    )
                    if called == name:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_only_the_step_module_builds_a_step_row() -> None:
    """worker/agent/steps.py owns a step's shapes and converters: a `Step(` anywhere else
    would be a second converter a new step field has to be added to."""
    built = _calls_of("Step")
    assert built and {where.split(":")[0] for where in built} == {"worker/agent/steps.py"}


def test_the_history_text_rule_is_written_once() -> None:
    """How an action's result reads in the model's history: one function, no copy of its wording."""
    copies = [
        f"{path.relative_to(ROOT)}"
        for package in ("api", "worker", "shared", "cli")
        for path in sorted((ROOT / package).rglob("*.py"))
        if 'f"error: {' in path.read_text()
    ]
    assert copies == ["worker/agent/steps.py"]
