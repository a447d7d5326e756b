"""The priority-matching dialogue.

The matcher's quality on labelled descriptions, the form's validation with rasa_sdk's real Tracker and
dispatcher, and the result's format.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml

from bot.actions.project_matching import (
    ActionAskProjectDescription,
    ActionCancelProjectMatching,
    ActionMatchPriorities,
    ValidateProjectMatchingForm,
)
from ka2.matching import get_matcher

from ..conftest import ROOT, make_tracker, run_action, run_form_validation

FORM = "project_matching_form"
DESCRIPTIONS = yaml.safe_load((ROOT / "tests" / "data" / "project_descriptions.yml").read_text("utf-8"))["descriptions"]
DOMAIN = yaml.safe_load(Path(ROOT / "bot" / "domain.yml").read_text("utf-8"))
MIN_TOP3_HIT_RATE = 0.85


def top3_hit_rate() -> float:
    matcher = get_matcher()
    labelled = [d for d in DESCRIPTIONS if not d["vague"]]
    hits = 0
    for item in labelled:
        top = [m.priority_id for m in matcher.match(item["text"], item["sector"]).matches[:3]]
        hits += bool(set(top) & set(item["expected"]))
    return hits / len(labelled)


def test_the_labelled_set_is_large_and_varied():
    assert len(DESCRIPTIONS) >= 60
    assert sum(d["vague"] for d in DESCRIPTIONS) >= 5
    assert {d["sector"] for d in DESCRIPTIONS} >= {
        "sector.higher_ed",
        "sector.school",
        "sector.vet",
        "sector.adult_ed",
        "sector.youth",
    }


def test_top3_hit_rate_on_labelled_descriptions():
    assert top3_hit_rate() >= MIN_TOP3_HIT_RATE


def test_most_vague_descriptions_are_flagged():
    vague = [d for d in DESCRIPTIONS if d["vague"]]
    flagged = sum(get_matcher().match(d["text"], d["sector"]).vague for d in vague)
    assert flagged / len(vague) >= 0.8


def test_matches_explain_themselves_with_the_users_words():
    text = "des ateliers de recyclage et de compost avec des jeunes migrants du quartier"
    result = get_matcher().match(text, "sector.youth")
    ids = [m.priority_id for m in result.matches]
    assert {"priority.horizontal.environment", "priority.horizontal.inclusion"} <= set(ids[:3])
    environment = next(m for m in result.matches if m.priority_id == "priority.horizontal.environment")
    assert {"recyclage", "compost"} <= set(environment.words)
    assert all(word.lower() in text for m in result.matches for word in m.words)


def test_a_sector_name_is_never_given_as_a_reason():
    # The horizontal priorities' texts list the sectors they serve ("la jeunesse et le sport").
    for text, sector in [
        ("un club de sport organise des tournois de foot avec des jeunes réfugiés du quartier", "sector.sport"),
        ("des échanges de jeunes autour de la citoyenneté européenne et du sport", "sector.youth"),
    ]:
        result = get_matcher().match(text, sector)
        assert result.matches and not {"sport", "jeunes", "jeunesse"} & {w for m in result.matches for w in m.words}


def test_the_matcher_is_deterministic():
    text = "former nos enseignants au codage et à la robotique avec des écoles en Estonie"
    first = get_matcher().match(text, "sector.school").matches
    assert first == get_matcher().match(text, "sector.school").matches


def test_only_the_sectors_own_priorities_and_the_horizontal_ones_are_proposed():
    result = get_matcher().match("des stages en entreprise pour des apprentis en mécanique auto", "sector.vet")
    assert result.matches
    assert all(m.priority_id.startswith(("priority.vet.", "priority.horizontal.")) for m in result.matches)
    assert 2 <= len(result.matches) <= 4


# --- The form's validation, with rasa_sdk's real FormValidationAction machinery


def validate(intent, text, slots, entities=None):
    return run_form_validation(ValidateProjectMatchingForm(), intent, text, slots, FORM, entities)


def test_sector_is_taken_from_a_synonym_in_free_text():
    _, slots = validate("inform_sector", "on est une maison de jeunes", {"requested_slot": "project_sector"})
    assert slots["project_sector"] == "sector.youth"


def test_sector_from_an_nlu_entity():
    entities = [{"entity": "sector", "value": "sector.school", "start": 12, "end": 27}]
    _, slots = validate("inform_sector", "c'est une école secondaire", {"requested_slot": "project_sector"}, entities)
    assert slots["project_sector"] == "sector.school"


def test_dont_know_explains_the_sectors_and_asks_again():
    messages, slots = validate("dont_know", "je ne sais pas", {"requested_slot": "project_sector"})
    assert slots["project_sector"] is None
    text = messages[0]["text"]
    assert "BIJ" in text and "AEF-Europe" in text and "Source :" in text


def test_a_short_description_is_kept_and_more_is_asked():
    slots_before = {"requested_slot": "project_description", "project_sector": "sector.youth"}
    _, slots = validate("describe_project", "un projet avec des jeunes", slots_before)
    assert slots["project_description"] is None
    assert slots["project_description_draft"] == "un projet avec des jeunes"
    # The next message adds to what was said; together they are enough.
    slots_before["project_description_draft"] = slots["project_description_draft"]
    _, slots = validate("describe_project", "des ateliers de cuisine anti-gaspillage avec des réfugiés", slots_before)
    assert slots["project_description"].startswith("un projet avec des jeunes des ateliers")
    messages, _ = run_action(
        ActionAskProjectDescription(),
        make_tracker("describe_project", slots={"project_description_draft": "un projet"}),
    )
    assert "Par exemple" in messages[0]["text"]


def test_an_opening_message_about_its_sectors_own_priority_is_the_description():
    # Only the school priorities speak of drop-out: judged without the sector it names, it looked vague.
    text = "notre école primaire voudrait lutter contre le décrochage de ses élèves"
    _, slots = validate("describe_project", text, {})
    assert slots["project_sector"] == "sector.school" and slots["project_description"] == text


def test_a_side_question_is_not_taken_as_a_description():
    slots_before = {"requested_slot": "project_description", "project_sector": "sector.youth"}
    _, slots = validate("ask_action_details", "c'est quoi une petite échelle ?", slots_before)
    assert "project_description" not in slots


def test_a_sector_change_keeps_the_description():
    slots_before = {
        "requested_slot": "organisation_profile",
        "project_sector": "sector.school",
        "project_description": "des ateliers de théâtre sur le harcèlement",
        "project_description_draft": "des ateliers de théâtre sur le harcèlement",
    }
    _, slots = validate("inform_sector", "en fait c'est plutôt pour des jeunes", slots_before)
    assert slots["project_sector"] == "sector.youth"
    assert slots.get("project_description", slots_before["project_description"]) == slots_before["project_description"]


def test_a_sector_word_inside_a_description_does_not_change_the_sector():
    slots_before = {"requested_slot": "project_description", "project_sector": "sector.adult_ed"}
    text = "des cours d'alphabétisation pour les parents des élèves de l'école du quartier, avec des tablettes"
    _, slots = validate("describe_project", text, slots_before)
    assert slots.get("project_sector", "sector.adult_ed") == "sector.adult_ed"
    assert slots["project_description"] == text


def test_profile_is_asked_only_where_small_scale_partnerships_exist():
    tracker = make_tracker("inform_sector", slots={"project_sector": "sector.higher_ed"}, active_loop=FORM)
    form = ValidateProjectMatchingForm()
    from rasa_sdk.executor import CollectingDispatcher

    higher = asyncio.run(form.required_slots([], CollectingDispatcher(), tracker, DOMAIN))
    tracker = make_tracker("inform_sector", slots={"project_sector": "sector.youth"}, active_loop=FORM)
    youth = asyncio.run(form.required_slots([], CollectingDispatcher(), tracker, DOMAIN))
    assert "organisation_profile" not in higher and "organisation_profile" in youth


# --- The result


def test_result_lists_priorities_with_reasons_rule_format_and_agency(kb):
    slots = {
        "project_sector": "sector.youth",
        "project_description": "des ateliers de réparation de vélos avec des jeunes réfugiés pour réduire les déchets",
        "organisation_profile": "small",
    }
    messages, events = run_action(ActionMatchPriorities(), make_tracker("affirm", slots=slots))
    text = "\n".join(m["text"] for m in messages)
    assert "au moins une priorité" in text and "hautement pertinent" in text
    assert "Inclusion et diversité" in text and "Environnement" in text
    assert "« réfugiés »" in text and "« déchets »" in text
    assert "petite échelle (KA210)" in text
    assert "BIJ" in text and kb.entries["agency.bij"]["website"] in text
    assert text.count("Source :") >= 3
    payloads = [b["payload"] for b in messages[-1]["buttons"]]
    assert payloads == ['/ask_priorities{"sector":"sector.youth"}', "/change_project_description", "/start_matching"]
    assert any(e.get("name") == "knowledge_base_listed_objects" for e in events)


def test_result_for_higher_education_goes_to_aef_europe_without_small_scale():
    slots = {
        "project_sector": "sector.higher_ed",
        "project_description": "double diplôme de master avec une université espagnole et reconnaissance des crédits ECTS",
    }
    messages, _ = run_action(ActionMatchPriorities(), make_tracker("affirm", slots=slots))
    text = "\n".join(m["text"] for m in messages)
    assert "AEF-Europe" in text and "KA220" in text and "pas de partenariat à petite échelle" in text


def test_result_for_sport_goes_to_the_executive_agency():
    slots = {
        "project_sector": "sector.sport",
        "project_description": "des tournois de football pour l'inclusion de jeunes réfugiés",
    }
    messages, _ = run_action(ActionMatchPriorities(), make_tracker("affirm", slots=slots))
    text = "\n".join(m["text"] for m in messages)
    assert "Inclusion et diversité" in text and "pas par le BIJ ni l'AEF-Europe" in text


def test_cancel_leaves_the_form_and_forgets_its_answers():
    messages, events = run_action(ActionCancelProjectMatching(), make_tracker("stop", "laisse tomber"))
    assert "j'arrête" in messages[0]["text"]
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    assert {e["name"] for e in events if e.get("event") == "slot"} >= {"project_sector", "project_description"}
