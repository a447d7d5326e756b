"""Knowledge-base commands for staff and CI.

python scripts/knowledge.py check      validate knowledge/ and check the NLU is in sync with it
python scripts/knowledge.py generate   regenerate bot/data/generated/knowledge_synonyms.yml
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Dict, List

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ka2.knowledge import (  # noqa: E402
    ENTITY_ENTRY_TYPES,
    KnowledgeBase,
    KnowledgeError,
    entity_entries,
    load_knowledge_base,
    normalise,
)

GENERATED = ROOT / "bot" / "data" / "generated" / "knowledge_synonyms.yml"
NLU_DIR = ROOT / "bot" / "data"
ANNOTATION = re.compile(r"\[([^\]]+)\]\(([a-z_]+)\)")


def _forms(entry: Dict) -> List[str]:
    """Every surface form of an entry, lower-cased, with and without accents."""
    forms: List[str] = []
    for form in [entry["label"], *entry.get("synonyms", [])]:
        for variant in (form.lower(), normalise(form)):
            if variant not in forms:
                forms.append(variant)
    return forms


def render_nlu(kb: KnowledgeBase) -> str:
    blocks = []
    for entity in ENTITY_ENTRY_TYPES:
        lookup: List[str] = []
        for entry in entity_entries(kb, entity):
            forms = _forms(entry)
            blocks.append({"synonym": entry["id"], "examples": "".join(f"- {f}\n" for f in forms)})
            lookup += [f for f in entry.get("synonyms", []) if f not in lookup]
        blocks.append({"lookup": entity, "examples": "".join(f"- {f}\n" for f in lookup)})
    header = (
        "# GENERATED from knowledge/ by `python scripts/knowledge.py generate` (make generate-nlu).\n"
        "# Do not edit: change the synonyms in knowledge/ and regenerate.\n"
    )

    class Literal(str):
        pass

    yaml.add_representer(
        Literal,
        lambda dumper, data: dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|"),
        Dumper=yaml.SafeDumper,
    )
    doc = {"version": "3.1", "nlu": [{k: Literal(v) if k == "examples" else v for k, v in b.items()} for b in blocks]}
    return header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)


def unmapped_annotations(kb: KnowledgeBase) -> List[str]:
    """Entity texts annotated in the training data that no knowledge-base synonym maps."""
    problems = []
    for path in sorted(NLU_DIR.rglob("*.yml")):
        for text, entity in ANNOTATION.findall(path.read_text(encoding="utf-8")):
            if entity in ENTITY_ENTRY_TYPES and kb.resolve(entity, text) is None:
                problems.append(f"{path.relative_to(ROOT)}: [{text}]({entity})")
    return problems


def main(argv: List[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    try:
        kb = load_knowledge_base()
    except KnowledgeError as error:
        print(f"ERREUR base de connaissances : {error}", file=sys.stderr)
        return 1
    expected = render_nlu(kb)
    if command == "generate":
        # Rewrite only on a real change: an answer-text edit must not make `make` retrain the model.
        if GENERATED.exists() and GENERATED.read_text(encoding="utf-8") == expected:
            print(f"{GENERATED.relative_to(ROOT)} up to date ({len(kb.entries)} entries).")
            return 0
        GENERATED.parent.mkdir(parents=True, exist_ok=True)
        GENERATED.write_text(expected, encoding="utf-8")
        print(f"{GENERATED.relative_to(ROOT)} regenerated ({len(kb.entries)} entries).")
        return 0
    if not GENERATED.exists() or GENERATED.read_text(encoding="utf-8") != expected:
        print(
            "ERREUR : bot/data/generated/knowledge_synonyms.yml is out of date; run `make generate-nlu`.",
            file=sys.stderr,
        )
        return 1
    problems = unmapped_annotations(kb)
    if problems:
        print(
            "ERREUR : entity annotations with no synonym in knowledge/ (add them to an entry's synonyms):",
            file=sys.stderr,
        )
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    print(f"Base de connaissances valide : {len(kb.entries)} entrées, NLU synchronisée.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
