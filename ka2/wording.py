"""An entry's words as plain text: its body, the source line that backs it, bullet lists.

Shared by the assistant's answers (bot/actions/rendering.py) and the staff console's search, so an
advisor reads what users read.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable

from .knowledge import KnowledgeBase


def bullet_list(items: Iterable[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def source_line(kb: KnowledgeBase, entry: Dict[str, Any]) -> str:
    """ "Source : <document>, <section> (appel <year>)", with the other sources the text draws on."""
    source = entry["source"]
    title = kb.sources[source["ref"]]["title"]
    line = kb.say("source_line", title=title, section=source["section"], year=entry["year"])
    # Part of the text comes from another source (the verified complements beside the document).
    for other in source.get("also", []):
        line += " " + kb.say("source_also", title=kb.sources[other]["title"])
    return line


def body(kb: KnowledgeBase, entry: Dict[str, Any]) -> str:
    """The entry's own text: answer (or priority text), its sub-items, the items it lists."""
    parts = [entry.get("answer") or entry.get("text") or entry["label"]]
    if entry.get("sub_items"):
        parts.append(bullet_list(entry["sub_items"]))
    listed = kb.listed(entry)
    if listed:
        parts.append(bullet_list(item["label"] for item in listed))
    return "\n".join(str(p).strip() for p in parts)
