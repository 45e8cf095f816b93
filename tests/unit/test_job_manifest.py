"""The job registry is what the manifest imports and what docs/JOBS.md lists, nothing else.

Docs and code cannot drift: a job added, removed, renamed or rescheduled in the code fails
here until docs/JOBS.md says the same, and so does a periodic job whose name is not the
command that runs it by hand.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
from flask import Flask

from stubcollector import job_manifest
from stubcollector.adapters.jobs import (
    former_job_names,
    job_names,
    periodic_jobs,
    registered_job,
)
from stubcollector.cli import register_commands

SOURCE = Path(job_manifest.__file__).resolve().parent
JOBS_DOC = SOURCE.parents[1] / "docs" / "JOBS.md"
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


def _ours(name: str) -> bool:
    """A job of the app (tests register jobs of their own in this process)."""
    return registered_job(name).__module__.startswith("stubcollector.")


def _doc_table(heading: str) -> list[dict[str, str]]:
    """The first table after ``heading`` in docs/JOBS.md, one dict per row."""
    lines = JOBS_DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif table or line.startswith("#"):
            break
    header, _rule, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows]


def _code(cell: str) -> str:
    """The first `code` span of a cell."""
    found = re.search(r"`([^`]+)`", cell)
    assert found, f"no `name` in {cell!r}"
    return found.group(1)


def _documented_jobs() -> list[dict[str, str]]:
    return _doc_table("## The jobs")


def test_the_manifest_imports_every_module_that_defines_a_job() -> None:
    manifest = {module.__name__ for module in job_manifest.JOB_MODULES}
    assert manifest == _modules_defining_jobs()


def test_the_documented_jobs_are_exactly_the_registered_ones() -> None:
    documented = sorted(_code(row["Job"]) for row in _documented_jobs())
    assert documented == [name for name in job_names() if _ours(name)]


def test_the_documented_schedule_is_the_registered_one() -> None:
    documented = {}
    for row in _documented_jobs():
        every = re.fullmatch(r"every (\d+) s", row["When"])
        if every:
            documented[_code(row["Job"])] = int(every.group(1))
        else:
            assert row["When"].startswith("on demand"), row["When"]
    registered = {entry.name: entry.every_seconds for entry in periodic_jobs()}
    assert documented == {name: every for name, every in registered.items() if _ours(name)}


def test_the_documented_function_runs_each_job() -> None:
    for row in _documented_jobs():
        function = registered_job(_code(row["Job"]))
        path = _code(row["What it does"])
        assert f"stubcollector.{path}" == f"{function.__module__}.{function.__qualname__}"


def test_each_periodic_job_is_named_after_the_command_that_runs_it_by_hand() -> None:
    app = Flask(__name__)
    register_commands(app)
    for row in _documented_jobs():
        name = _code(row["Job"])
        if not row["When"].startswith("every"):
            assert row["Run by hand"] == "—", name
            continue
        flask, group, command = _code(row["Run by hand"]).split()
        assert flask == "flask"
        assert name == f"{group}.{command.replace('-', '_')}"
        commands = app.cli.commands[group]
        assert isinstance(commands, click.Group)
        assert command in commands.commands, f"no command flask {group} {command}"


def test_former_job_names_are_documented() -> None:
    documented = {
        _code(row["Former name"]): _code(row["Current name"])
        for row in _doc_table("## Renaming a job")
    }
    registered = {old: new for old, new in former_job_names().items() if _ours(new)}
    assert documented == registered
    assert not set(documented) & set(job_names())
