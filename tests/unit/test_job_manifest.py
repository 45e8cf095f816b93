"""The job registry is what the manifest imports and what docs/JOBS.md lists, nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

from stubcollector import job_manifest

SOURCE = Path(job_manifest.__file__).resolve().parent
DECORATORS = {"job", "periodic"}


def _registers_a_job(decorator: ast.expr) -> bool:
    if not isinstance(decorator, ast.Call):
        return False
    called = decorator.func
    name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
    return name in DECORATORS


def _modules_defining_jobs() -> set[str]:
    found = set()
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _registers_a_job(decorator) for decorator in node.decorator_list
            ):
                parts = path.relative_to(SOURCE.parent).with_suffix("").parts
                found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_the_manifest_imports_every_module_that_defines_a_job() -> None:
    manifest = {module.__name__ for module in job_manifest.JOB_MODULES}
    assert manifest == _modules_defining_jobs()
