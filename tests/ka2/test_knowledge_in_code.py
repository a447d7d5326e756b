"""Code names knowledge roles and fields, never knowledge ids: renaming an entry cannot break an answer.

The ids live in knowledge/*.yml, where the loader checks every reference; an id written in Python is a
reference the loader cannot see.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator, Set, Tuple

import pytest

from ka2.knowledge import KnowledgeError, load_knowledge_base

from ..conftest import ROOT

# The application code (tests and benchmarks may name ids: they check the base's content).
SCANNED = ["bot", "ka2", "staff", "scripts"]
# Still naming ids, owned by the storage helper at the time of issue 17: the agency entries now carry
# `helpdesk_email_env` (knowledge/agencies.yml) for ka2/notify.py to read. Empty this set once fixed.
PENDING: set = set()
ROLE_CALL = re.compile(r"""(?:\.role|role_button|has_action)\((?:[^()"]*,\s*)?"([a-z_]+)"\)""")


def _python_files() -> Iterator[Path]:
    for folder in SCANNED:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _docstrings(tree: ast.AST) -> Set[int]:
    """Ids of the docstring nodes: prose may quote an example id."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _string_literals(path: Path) -> Iterator[Tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            yield node.lineno, node.value


def test_no_knowledge_id_or_action_code_is_written_in_code(kb):
    ids = set(kb.entries)
    # "KA210-YOU" and its action part "KA210": code asks for the action by role and compares its codes.
    codes = {c for e in kb.entries.values() for c in e.get("codes", [])}
    codes |= {c.split("-")[0] for c in codes}
    offenders = []
    for path in _python_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative in PENDING:
            continue
        for line, value in _string_literals(path):
            if value in ids or value in codes:
                offenders.append(f"{relative}:{line}: {value!r}")
    assert not offenders, "knowledge ids in code (give the entry a `role` in knowledge/schema.yml):\n" + "\n".join(
        offenders
    )


def test_every_role_code_asks_for_is_declared_and_played(kb):
    asked = {name for path in _python_files() for name in ROLE_CALL.findall(path.read_text(encoding="utf-8"))}
    assert asked, "the scan found no role at all: the pattern is out of date"
    assert asked <= set(kb.role_names), f"undeclared roles: {sorted(asked - set(kb.role_names))}"
    assert {kb.role(name)["role"] for name in asked} == asked
    with pytest.raises(KeyError, match="not declared"):
        kb.role("no_such_role")


def test_a_role_played_twice_or_by_nobody_is_refused(broken_knowledge: Path):
    path = broken_knowledge / "topics.yml"
    original = path.read_text()
    path.write_text(original.replace("role: priority_rule", "role: where_submit"))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(broken_knowledge)
    assert caught.value.field == "role" and "already played" in caught.value.message
    path.write_text(original.replace("    role: priority_rule\n", ""))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(broken_knowledge)
    assert (caught.value.file, caught.value.field) == ("schema.yml", "role")
    assert "priority_rule" in caught.value.message


def test_a_message_naming_a_missing_entry_is_refused(broken_knowledge: Path):
    path = broken_knowledge / "messages.yml"
    path.write_text(path.read_text().replace("{entry[agency.bij][website]}", "{entry[agency.bureau][website]}"))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(broken_knowledge)
    assert caught.value.field == "messages.out_of_scope" and "agency.bureau" in caught.value.message


def test_messages_fill_entry_fields_from_the_base(kb):
    text = kb.say("out_of_scope")
    for agency in kb.national_agencies:
        assert kb.entries[agency]["website"] in text


def test_the_agencies_with_a_helpdesk_address_name_their_variable(kb):
    named = {e["id"]: e["helpdesk_email_env"] for e in kb.of_type("agency") if "helpdesk_email_env" in e}
    assert set(named) == set(kb.national_agencies)
    assert len(set(named.values())) == len(named)
