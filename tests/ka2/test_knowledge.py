"""The knowledge base loads, is complete, and refuses malformed files naming file, entry and field."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ka2.knowledge import KnowledgeError, load_knowledge_base, normalise, topic_payload
from ka2.text import words

from ..conftest import ROOT

SEED = Path(ROOT.parent / "shared" / "seeds" / "000_abbed88192b1b528.txt")


def test_base_holds_every_part_of_the_source_document(kb):
    assert len(kb.of_type("priority", scope="horizontal")) == 4
    per_sector = {s["id"]: len(kb.of_type("priority", scope=s["id"])) for s in kb.of_type("sector")}
    assert per_sector == {
        "sector.higher_ed": 6,
        "sector.school": 7,
        "sector.vet": 6,
        "sector.adult_ed": 6,
        "sector.youth": 4,
        "sector.sport": 0,
    }
    assert {a["id"] for a in kb.of_type("action", management="decentralised")} == {
        "action.cooperation",
        "action.small_scale",
    }
    assert len(kb.of_type("action", management="centralised")) == 4
    assert len(kb.of_type("activity")) == 3
    assert kb.entries["sector.youth"]["agency"] == "agency.bij"
    assert all(
        kb.entries[s]["agency"] == "agency.aef_europe"
        for s in ("sector.school", "sector.vet", "sector.higher_ed", "sector.adult_ed")
    )


def _texts(value) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _texts(item)]
    return []


@pytest.mark.skipif(not SEED.exists(), reason="the source document is not beside the repository")
def test_every_sentence_and_bullet_of_the_source_document_is_in_the_base(kb):
    """Every sentence of the document is in the base.

    In an answer, a priority's text or, where the answer corrects the document, the entry's `source.quote`
    (the document's own wording). Headings ("Secteur de la jeunesse :") excepted.
    """
    held = " ".join(words(t) for entry in kb.entries.values() for t in _texts(entry))
    missing = []
    for line in SEED.read_text("utf-8").splitlines():
        line = re.sub(r"^\d+\.\s*", "", line.strip().lstrip("•").strip())
        for sentence in re.split(r"(?<=[.;!?])\s+", line):
            said = words(sentence)
            if len(said.split()) >= 3 and not sentence.rstrip().endswith(":") and said not in held:
                missing.append(sentence)
    assert not missing, missing


@pytest.mark.skipif(not SEED.exists(), reason="the source document is not beside the repository")
def test_priority_texts_are_the_source_wording(kb):
    def comparable(text: str) -> str:
        return re.sub(r"\s*([:;,.])\s*", r"\1 ", normalise(text))

    seed = comparable(SEED.read_text(encoding="utf-8"))
    for priority in kb.of_type("priority", scope="horizontal"):
        # The horizontal texts are quoted in full from the source.
        assert comparable(priority["text"]).rstrip(". ") in seed, priority["id"]


def test_verified_complements_are_in_the_base(kb):
    assert "120 000 €, 250 000 € ou 400 000 €" in kb.fact("action.cooperation", "funding")["answer"]
    assert "30 000 € ou 60 000 €" in kb.fact("action.small_scale", "funding")["answer"]
    assert "20 mai 2021" in kb.fact("action.cooperation", "deadline")["answer"]
    assert "3 novembre 2021" in kb.fact("action.small_scale", "deadline")["answer"].replace("\n", " ") + " ".join(
        kb.fact("action.small_scale", "deadline")["sub_items"]
    )
    assert "60 points sur 100" in kb.fact("action.cooperation", "selection")["answer"]


def test_no_forbidden_assertion_is_made(kb):
    """The facts file lists claims the assistant must not make."""
    everything = " ".join(str(e) for e in kb.entries.values())
    assert "25/30/20/25" not in everything and "30/30/20/20" not in everything
    # No second KA220 deadline: the 3 November date may only be named as the small-scale one.
    deadline = kb.fact("action.cooperation", "deadline")["answer"]
    for sentence in deadline.split("."):
        assert "3 novembre" not in sentence or "petite échelle" in sentence
    assert "address" not in kb.entries["agency.bij"]


def test_every_entry_has_source_year_and_fits_a_button(kb):
    for entry in kb.entries.values():
        assert entry["source"]["ref"] in kb.sources
        assert entry["year"] == 2021
        assert len(topic_payload(entry["id"]).encode()) <= 64


def _load_broken(directory: Path) -> KnowledgeError:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(directory)
    return caught.value


def test_missing_field_names_file_entry_and_field(broken_knowledge):
    path = broken_knowledge / "actions.yml"
    path.write_text(path.read_text().replace('    label: "Partenariats à petite échelle (KA210)"\n', ""))
    error = _load_broken(broken_knowledge)
    assert (error.file, error.entry, error.field) == ("actions.yml", "action.small_scale", "label")
    assert str(error) == "knowledge/actions.yml, entry 'action.small_scale', field 'label': is required but missing"


def test_invalid_yaml_names_the_file_and_line(broken_knowledge):
    (broken_knowledge / "topics.yml").write_text("entries:\n  - id: topic.x\n    label: [unclosed\n")
    error = _load_broken(broken_knowledge)
    assert error.file == "topics.yml" and "line" in error.message


def test_dangling_reference_is_refused(broken_knowledge):
    path = broken_knowledge / "facts.yml"
    path.write_text(
        path.read_text().replace(
            "about: action.small_scale\n    attribute: funding", "about: action.tiny\n    attribute: funding"
        )
    )
    error = _load_broken(broken_knowledge)
    assert (error.entry, error.field) == ("fact.small_scale.funding", "about")
    assert "action.tiny" in error.message


def test_duplicate_id_and_unknown_source_are_refused(broken_knowledge):
    path = broken_knowledge / "activities.yml"
    original = path.read_text()
    path.write_text(original.replace("id: activity.sharing", "id: activity.implementation"))
    assert _load_broken(broken_knowledge).field == "id"
    path.write_text(original.replace("ref: seed", "ref: nowhere", 1))
    error = _load_broken(broken_knowledge)
    assert (error.field, error.entry) == ("source.ref", "activity.project_management")


def test_ambiguous_synonym_is_refused(broken_knowledge):
    path = broken_knowledge / "sectors.yml"
    path.write_text(path.read_text().replace("synonyms: [sport,", "synonyms: [jeunesse, sport,"))
    error = _load_broken(broken_knowledge)
    assert error.field == "synonyms" and "jeunesse" in error.message


def test_wrong_type_of_value_is_refused(broken_knowledge):
    path = broken_knowledge / "facts.yml"
    path.write_text(path.read_text().replace("attribute: duration", "attribute: colour", 1))
    error = _load_broken(broken_knowledge)
    assert (error.entry, error.field) == ("fact.cooperation.duration", "attribute")


def test_action_server_refuses_to_start_on_a_broken_base_with_one_line(broken_knowledge):
    (broken_knowledge / "sectors.yml").write_text("entries: 12\n")
    result = subprocess.run(
        [sys.executable, "-c", "import bot.actions.startup"],
        cwd=ROOT,
        env={**os.environ, "KA2_KNOWLEDGE_DIR": str(broken_knowledge)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Knowledge base invalid, action server not started: "
        "knowledge/sectors.yml, field 'entries': must hold an 'entries' list"
    ]


def test_nlu_synonyms_are_generated_from_the_base_and_in_sync():
    result = subprocess.run([sys.executable, "scripts/knowledge.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_resolve_maps_what_people_type_to_ids(kb):
    assert kb.resolve("sector", "Maison de Jeunes") == "sector.youth"
    assert kb.resolve("sector", "haute ecole") == "sector.higher_ed"
    assert kb.resolve("action_type", "ka210") == "action.small_scale"
    assert kb.resolve("theme", "ecologie") == "priority.horizontal.environment"
    assert kb.find_mentions("sector", "on est une école secondaire à Namur") == ["sector.school"]


def test_mentions_are_found_next_to_punctuation_and_elisions(kb):
    assert kb.find_mentions("sector", "je suis animatrice, avec des ados.") == ["sector.youth"]
    assert kb.find_mentions("sector", "une asbl d'éducation permanente, on dépose où ?") == ["sector.adult_ed"]
    assert kb.find_mentions("agency", "le mail de l'AEF?") == ["agency.aef_europe"]
    assert kb.find_mentions("sector", "des tornados") == []  # whole words only


def test_agency_names_take_their_article_in_every_rendered_answer(kb):
    """ "auprès du BIJ", "de l'AEF-Europe", never "auprès de BIJ" or "à AEF-Europe"."""
    from bot.actions.rendering import render_entry

    wrong = re.compile(r"\b(?:de|à|auprès de|par)\s+(?:\*\*)?(?:BIJ|AEF-Europe|AEF|EACEA)\b")
    rendered = [render_entry(kb, entry).text for entry in kb.entries.values()]
    rendered += list(kb.messages.values())
    offending = [text for text in rendered if wrong.search(text)]
    assert not offending, offending[:3]
    contracted = {
        "le ": ("auprès du ",),
        "l'": ("auprès de l'",),
        "la ": ("auprès de la ",),
        "": ("auprès de ", "auprès d'"),
    }
    for agency in kb.of_type("agency"):
        phrase = kb.with_article("auprès de", agency["id"])
        assert phrase.startswith(contracted[agency["article"]]) and phrase.endswith(agency["short"]), phrase
    assert kb.with_article("auprès de", "agency.epos") == "auprès d'Epos"
    assert kb.with_article("à", "agency.bij") == "au BIJ"


def test_a_rule_value_is_written_once_and_rendered_in_its_answer(broken_knowledge):
    facts = broken_knowledge / "facts.yml"
    text = facts.read_text("utf-8").replace("{min_months: 6, max_months: 24}", "{min_months: 6, max_months: 18}")
    facts.write_text(text, "utf-8")
    kb = load_knowledge_base(broken_knowledge)
    assert "**de 6 à 18 mois**" in kb.fact("action.small_scale", "duration")["answer"]
    facts.write_text(text.replace("dure **de {min_months}", "dure **de {minimum}"), "utf-8")
    with pytest.raises(
        KnowledgeError, match=r"facts.yml, entry 'fact\.\w+\.duration', field 'answer': placeholder 'minimum'"
    ):
        load_knowledge_base(broken_knowledge)
