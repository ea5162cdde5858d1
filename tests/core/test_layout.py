"""apps/core holds what every app uses; it must stay below them, importing no app and no project config."""

import ast
from pathlib import Path

import apps.core

CORE = Path(apps.core.__file__).parent


def _imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append(node.module)
    return modules


def test_core_imports_no_other_app_and_no_config():
    outside = [
        (str(path.relative_to(CORE)), module)
        for path in sorted(CORE.rglob("*.py"))
        for module in _imported_modules(path)
        if module.split(".")[0] in {"config", "apps"} and not module.startswith("apps.core")
    ]
    assert outside == []
