"""The shape the project promises: no function in ``qualitygate/``, ``workers/``, ``api/`` or
``callbacks/`` longer than 60 lines, so each one reads on a screen and says one thing."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60


def _functions(path: Path) -> list[tuple[str, int]]:
    """(qualified name, length in lines) of every function and method in ``path``."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                found.append((name, (child.end_lineno or child.lineno) - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def _too_long() -> dict[str, int]:
    long: dict[str, int] = {}
    for package in ("qualitygate", "workers", "api", "callbacks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for name, lines in _functions(path):
                if lines > MAX_LINES:
                    long[f"{where}:{name}"] = lines
    return long


def test_no_function_is_longer_than_60_lines() -> None:
    offenders = _too_long()
    assert not offenders, "functions over 60 lines: " + ", ".join(
        f"{name} ({lines})" for name, lines in sorted(offenders.items())
    )
