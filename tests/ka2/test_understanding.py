"""ka2.understanding.

Question kinds, knowledge entities and follow-ups, from phrasings written for these tests (formal, SMS,
typos, no accents, English, keyword only). No classifier: the intent is "nlu_fallback" unless a row
gives one, so what is checked is what the cues and the base understand.
"""

from __future__ import annotations

import pytest

from ka2.understanding.entities import find_entities
from ka2.understanding.interpret import Frame, interpret
from ka2.understanding.kinds import ordinal_index
from ka2.understanding.profile import read_profile


def understand(kb, text, intent="nlu_fallback", confidence=0.0, frame=None):
    return interpret(kb, text, intent, confidence, {}, frame or Frame())


@pytest.mark.parametrize(
    "text, kind",
    [
        ("combien de temps peut durer un projet KA220 ?", "duration"),
        ("ka210 c koi la duree", "duration"),
        ("how long is a small-scale partnership?", "duration"),
        ("c'est combien le forfait pour un petit partenariat ?", "funding"),
        ("quel budget pour un KA220", "funding"),
        ("date limite pour rentrer un KA210 ?", "deadline"),
        ("deadline ka220 ?", "deadline"),
        ("il faut combien d'organisations minimum pour un KA220 ?", "partners"),
        ("qui gère les partenariats pour l'innovation ?", "who_manages"),
        ("Erasmus Mundus c'est géré où ?", "who_manages"),
        ("innovation partnerships, who is in charge?", "who_manages"),
        ("on est un club de foot, on dépose où ?", "where_submit"),
        ("chez qui on introduit le dossier pour une école ?", "where_submit"),
        ("where do we submit a school project?", "where_submit"),
        ("prio formation pro ?", "priorities"),
        ("adult learning priorities?", "priorities"),
        ("les priorités de l'EFP, il y en a combien ?", "count"),
        ("codes KA210 par secteur ?", "codes"),
        ("c'est quoi les critères de sélection ?", "selection"),
        ("le mail de l'AEF-Europe svp", "contact"),
        ("faut-il obligatoirement traiter une priorité ?", "priority_rule"),
        ("nous sommes partenaires d'un projet italien, on doit remplir une candidature aussi ?", "coordinator"),
        ("quelle différence entre un KA210 et un KA220 ?", "compare"),
        ("on peut payer des salaires avec la subvention ?", "not_in_base"),
        ("c'est quoi la bourse pour un semestre en Espagne ?", "out_of_scope"),
        ("l'isolement des personnes âgées, c'est une priorité ?", "priority_check"),
    ],
)
def test_question_kind_whatever_the_wording(kb, text, kind):
    assert understand(kb, text).kinds[0] == kind, text


@pytest.mark.parametrize(
    "text, entity, entry",
    [
        ("partenarait de cooperation", "action_type", "action.cooperation"),
        ("les petits partenariats", "action_type", "action.small_scale"),
        ("European Universities", "action_type", "action.excellence"),
        ("les Teacher Academies", "action_type", "action.excellence"),
        ("forward-looking projects", "action_type", "action.innovation"),
        ("on est une maison des jeunes", "sector", "sector.youth"),
        ("notre ecole de devoirs", "sector", "sector.youth"),
        ("un centre de formation en alternance", "sector", "sector.vet"),
        ("prio adultes", "sector", "sector.adult_ed"),
        ("une hogeschool à Gand", "community", "community.flemish"),
        ("notre école à Eupen", "community", "community.german"),
        ("une ONG européenne", "applicant", "topic.european_ngos"),
        ("une association marocaine", "country", "country.maroc"),
        ("le jugendburo", "agency", "agency.jugendbuero"),
    ],
)
def test_entities_are_found_from_the_base_with_typos_and_synonyms(kb, text, entity, entry):
    assert entry in find_entities(kb, text).get(entity, []), text


def test_a_word_that_only_resembles_a_form_is_not_taken_for_it(kb):
    assert "sector" not in find_entities(kb, "des cours de lecture")
    assert find_entities(kb, "bonjour, merci beaucoup") == {}


def test_the_sector_of_the_projects_impact_wins_over_the_organisation_type(kb):
    profile = read_profile(kb, "nous sommes une école, mais le projet vise des jeunes hors du temps scolaire")
    assert profile.organisation_sector == "sector.school" and profile.impact_sector == "sector.youth"
    understood = understand(
        kb, "on est une école mais le projet s'adresse surtout aux jeunes du quartier, on dépose où ?"
    )
    assert understood.ids("sector")[0] == "sector.youth"


def test_a_presentation_is_a_profile_not_a_question(kb):
    understood = understand(kb, "Bonjour, je bosse dans une AMO à Charleroi.")
    assert understood.kinds == ["inform"]
    assert understood.profile.organisation_sector == "sector.youth"
    assert understood.profile.community == "community.french"
    assert read_profile(kb, "on est une petite asbl, c'est notre premier projet").small


def test_elliptical_follow_ups_reuse_the_last_question_or_entity(kb):
    after_priorities = Frame(last_kinds=["priorities"], last_entities={"sector": ["sector.youth"]})
    switched = understand(kb, "et pour l'enseignement supérieur ?", frame=after_priorities)
    assert switched.kinds == ["priorities"] and switched.ids("sector") == ["sector.higher_ed"]
    after_action = Frame(last_kinds=["action_details"], last_entities={"action_type": ["action.small_scale"]})
    aspect = understand(kb, "et la durée ?", frame=after_action)
    assert aspect.kinds == ["duration"] and aspect.ids("action_type") == ["action.small_scale"]
    manager = understand(kb, "c'est géré par qui ?", frame=after_action)
    assert manager.kinds == ["who_manages"] and manager.ids("action_type") == ["action.small_scale"]
    more = understand(
        kb,
        "et au maximum ?",
        frame=Frame(last_kinds=["partners"], last_entities={"action_type": ["action.cooperation"]}),
    )
    assert more.kinds == ["partners"] and more.ids("action_type") == ["action.cooperation"]


def test_a_correction_replaces_the_sector_of_the_last_question(kb):
    frame = Frame(last_kinds=["priorities"], last_entities={"sector": ["sector.youth"]})
    corrected = understand(kb, "non pardon, c'est pour des adultes", frame=frame)
    assert corrected.correction and corrected.kinds == ["priorities"]
    assert corrected.ids("sector") == ["sector.adult_ed"]


@pytest.mark.parametrize(
    "text, index",
    [
        ("et la deuxième ?", 1),
        ("la dernière", -1),
        ("et l'avant-dernière ?", -2),
        ("la 3e priorité", 2),
        ("numéro 1", 0),
        ("bonjour", None),
    ],
)
def test_ordinals(text, index):
    assert ordinal_index(text) == index


def test_the_classifier_refines_a_generic_cue_but_not_a_specific_one(kb):
    # "priorités" is generic: a confident rule intent keeps the rule question.
    assert understand(kb, "les priorités, on doit en prendre une ?", "ask_priority_rule", 0.9).kinds == [
        "priority_rule"
    ]
    # A strong cue wins over a wrong intent.
    assert understand(kb, "ça dure combien de temps un KA210 ?", "ask_funding", 0.8).kinds == ["duration"]


def test_what_the_base_cannot_answer_is_kept_out_of_scope(kb):
    understood = understand(kb, "il fera beau demain à Namur ?", "out_of_scope", 0.9)
    assert understood.kinds == ["out_of_scope"]
    # A question that names the KA2 is about the KA2, even when the classifier hesitates.
    assert understand(kb, "le KA2, c'est pour partir étudier à l'étranger ?", "out_of_scope", 0.45).kinds == [
        "definition"
    ]
