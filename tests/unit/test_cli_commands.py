"""The ``flask`` command groups the app registers, and every command the docs name exists."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from flask import Flask

from stubcollector.cli import register_commands

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("users", "demo", "jobs", "payments", "marketplace", "stubs")
# `flask [--app X] <group> <command>` in prose, or `$(FLASK) <group> <command>` in the Makefile.
MENTION = re.compile(
    r"(?:\bflask|\$\(FLASK\))(?:\s+--app\s+\S+)?\s+(" + "|".join(GROUPS) + r")\s+([a-z][a-z-]*)"
)
DOCUMENTS = (
    "README.md",
    "Makefile",
    *sorted(f"docs/{path.name}" for path in ROOT.glob("docs/*.md")),
)


def _groups() -> dict[str, click.Group]:
    app = Flask(__name__)
    register_commands(app)
    groups = {}
    for name, command in app.cli.commands.items():
        assert isinstance(command, click.Group)
        groups[name] = command
    return groups


def test_each_group_is_registered_once() -> None:
    assert sorted(_groups()) == sorted(GROUPS)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_command_the_document_names_exists(document: str) -> None:
    groups = _groups()
    text = (ROOT / document).read_text(encoding="utf-8")
    for group, command in MENTION.findall(text):
        assert command in groups[group].commands, f"{document}: no `flask {group} {command}`"
