"""Every custom action, run with rasa_sdk's real Tracker and CollectingDispatcher."""

from __future__ import annotations

import json

from bot.actions.actions import (
    ActionAnswerOutOfScope,
    ActionAnswerQuestion,
    ActionClarify,
    ActionOfferHumanContact,
)

from ..conftest import make_tracker, run_action


def ask(intent, text="", entities=None, slots=None):
    messages, events = run_action(ActionAnswerQuestion(), make_tracker(intent, text, entities, slots))
    return messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def all_text(messages):
    return "\n".join(m.get("text") or "" for m in messages)


def payloads(messages):
    """Follow-up buttons; the 👍 / 👎 pair is tested in test_handoff.py."""
    return [
        b["payload"] for m in messages for b in m.get("buttons") or [] if not b["payload"].startswith("/rate_answer")
    ]


def test_definition_answers_from_the_base_with_source_and_buttons():
    messages, _ = ask("ask_ka2_definition", "c'est quoi le ka2")
    text = all_text(messages)
    assert "Coopération entre organisations et institutions" in text
    assert "projets innovants" in text and "local, régional, national et européen" in text
    assert "Source : Fiche Erasmus+" in text and "(appel 2021)" in text
    assert 2 <= len(payloads(messages)) <= 4


def test_youth_priorities_come_with_horizontal_ones_and_the_rule():
    messages, slots = ask(
        "ask_priorities", "priorités pour un projet jeunesse ?", [{"entity": "sector", "value": "jeunesse"}]
    )
    text = all_text(messages)
    assert "Employabilité des jeunes" in text
    assert "Inclusion et diversité" in text  # horizontal
    assert "au minimum une" in text  # the 2021 rule
    assert "Enseignement scolaire" not in text
    assert slots["knowledge_base_listed_objects"][2] == "priority.youth.employability"


def test_priorities_without_sector_offer_a_button_per_sector():
    messages, _ = ask("ask_priorities", "priorités ?")
    assert '/ask_priorities{"sector":"sector.school"}' in payloads(messages)
    assert "Digitalisation" in all_text(messages)


def test_sector_named_only_in_free_text_is_understood():
    """The NLU missed the entity; the knowledge-base synonyms still find it."""
    messages, _ = ask("ask_priorities", "quelles priorités pour notre haute école ?")
    assert "Enseignement supérieur" in all_text(messages)
    assert "STEM / STEAM" in all_text(messages)


def test_where_to_submit_without_sector_gives_the_rule_and_asks_for_it():
    messages, slots = ask("ask_where_submit", "où je dépose mon dossier ?")
    assert slots["pending_question"] == "ask_where_submit"
    assert '/inform_sector{"sector":"sector.youth"}' in payloads(messages)
    text = all_text(messages)
    assert "secteur le plus visé" in text and "Source :" in text and text.rstrip().endswith("l'agence compétente.")


def test_sector_answer_to_pending_question_names_the_agency_and_why():
    messages, _ = ask(
        "inform_sector",
        "/inform_sector",
        [{"entity": "sector", "value": "sector.youth"}],
        {"pending_question": "ask_where_submit"},
    )
    text = all_text(messages)
    assert "Déposez auprès du **BIJ**" in text
    assert "vise surtout le secteur « Jeunesse »" in text
    assert "https://www.lebij.be" in text
    assert "AEF" not in text  # a sector-specific answer names that agency only


def test_school_project_goes_to_aef_europe_and_sport_to_the_executive_agency():
    school, _ = ask("ask_where_submit", "on est une école secondaire, on dépose où ?")
    assert "**AEF-Europe**" in all_text(school)
    sport, _ = ask("ask_where_submit", "et pour un club sportif ?", [{"entity": "sector", "value": "club sportif"}])
    assert "Agence exécutive européenne" in all_text(sport)
    assert "pas au BIJ ni à l'AEF-Europe" in all_text(sport)


def test_funding_without_action_answers_both_decentralised_actions():
    messages, _ = ask("ask_funding", "combien on peut recevoir ?")
    text = all_text(messages)
    assert "120 000 €, 250 000 € ou 400 000 €" in text and "30 000 € ou 60 000 €" in text


def test_follow_up_fact_uses_the_action_talked_about():
    _, slots = ask("ask_action_details", "c'est quoi un KA210", [{"entity": "action_type", "value": "KA210"}])
    assert slots["knowledge_base_last_object"] == "action.small_scale"
    messages, _ = ask("ask_duration", "et ça dure combien de temps ?", slots=slots)
    text = all_text(messages)
    assert "6 à 24 mois" in text and "12 à 36" not in text


def test_two_actions_named_are_both_described_with_buttons_once():
    entities = [{"entity": "action_type", "value": "KA220"}, {"entity": "action_type", "value": "KA210"}]
    messages, slots = ask("ask_action_details", "quelle différence entre KA220 et KA210 ?", entities)
    assert len(messages) == 2
    assert "Partenariats de coopération" in messages[0]["text"] and "petite échelle" in messages[1]["text"]
    assert all("Source :" in m["text"] for m in messages)
    assert not messages[0].get("buttons") and payloads(messages[1:])
    # Neither action is "the one talked about": a follow-up fact answers for both.
    assert slots.get("knowledge_base_last_object") is None
    assert "6 à 24 mois" in all_text(ask("ask_duration", "et la durée ?", slots=slots)[0])


def test_unknown_fact_says_so_and_points_to_the_agency():
    messages, _ = ask(
        "ask_deadline",
        "date limite universités européennes",
        [{"entity": "action_type", "value": "universités européennes"}],
    )
    text = all_text(messages)
    assert "Je n'ai pas d'information vérifiée" in text
    assert "EACEA" in text
    assert "2021" not in text.split("Source")[0].replace("appel 2021", "")  # no invented date


def test_a_year_the_base_does_not_describe_is_said_before_the_answer():
    messages, _ = ask("ask_deadline", "c'est quoi la date limite pour 2025 ?")
    assert messages[0]["text"].startswith("Je n'ai pas d'information vérifiée sur l'appel 2025")
    assert "appel 2021" in messages[0]["text"] and "AEF-Europe" in messages[0]["text"]
    assert "20 mai 2021" in all_text(messages[1:]) and payloads(messages)  # the known dates, labelled 2021


def test_the_described_year_or_the_programme_period_gets_no_year_notice():
    for text in (
        "date limite 2021 ?",
        "la date limite du programme 2021-2027 ?",
        "date limite ?",
        "2025 € avant quand ?",
    ):
        messages, _ = ask("ask_deadline", text)
        assert "Je n'ai pas d'information vérifiée" not in all_text(messages), text
    messages, _ = ask("ask_current_call", "et pour 2026 ?")
    assert messages[0]["text"].startswith("Mes réponses décrivent l'**appel 2021**")


def test_a_ka2_question_outside_the_base_says_so_and_names_whom_to_ask():
    messages, _ = ask("ask_not_in_base", "on doit avoir un numéro OID ?")
    (message,) = messages
    assert message["text"].startswith("Je n'ai pas d'information vérifiée sur ce point.")
    assert "https://www.lebij.be" in message["text"] and "https://www.erasmusplus-fr.be" in message["text"]
    assert "/start_handoff" in payloads(messages)
    # A sector named picks its agency only.
    messages, _ = ask("ask_not_in_base", "faut-il un rapport final pour un projet jeunesse ?")
    assert "https://www.lebij.be" in messages[0]["text"] and "erasmusplus-fr" not in messages[0]["text"]


def test_several_sectors_get_the_rule_and_each_agency():
    entities = [{"entity": "sector", "value": "jeunes"}, {"entity": "sector", "value": "écoles"}]
    messages, _ = ask("ask_where_submit", "mon projet touche les jeunes et les écoles, je dépose où ?", entities)
    (message,) = messages
    text = message["text"]
    assert "celui que son impact vise le plus" in text
    assert (
        "« Jeunesse » : auprès du **BIJ**" in text and "« Enseignement scolaire » : auprès de l'**AEF-Europe**" in text
    )
    assert "Source :" in text
    assert {'/ask_topic{"topic":"agency.bij"}', '/ask_topic{"topic":"agency.aef_europe"}'} <= set(payloads(messages))


def test_button_payload_answers_the_named_entry():
    messages, slots = ask(
        "ask_topic",
        '/ask_topic{"topic":"fact.cooperation.selection"}',
        [{"entity": "topic", "value": "fact.cooperation.selection"}],
    )
    assert "60 points sur 100" in all_text(messages)
    assert slots["knowledge_base_last_object"] == "fact.cooperation.selection"


def test_ordinal_mention_resolves_against_the_last_list():
    _, slots = ask("ask_horizontal_priorities", "priorités horizontales")
    messages, _ = ask(
        "ask_more_details", "et la deuxième ?", [{"entity": "mention", "value": "2"}], {**slots, "mention": "2"}
    )
    assert "sensibilisation aux défis environnementaux" in all_text(messages)


def test_mention_without_a_list_gets_a_clear_question():
    messages, _ = ask("ask_more_details", "et la troisième ?", slots={"mention": "3"})
    assert "Je ne vois pas de quel élément" in all_text(messages)
    assert payloads(messages)


def test_activities_list_the_three_kinds_and_detail_one():
    messages, _ = ask("ask_activities", "quelles activités ?")
    text = all_text(messages)
    for label in ("Gestion de projet", "Activités de mise en œuvre", "Activités de partage et de promotion"):
        assert label in text
    detail, _ = ask("ask_activities", "c'est quoi la diffusion ?", [{"entity": "activity", "value": "diffusion"}])
    assert "valoriser les résultats" in all_text(detail)


def test_actions_overview_separates_decentralised_and_centralised():
    messages, slots = ask("ask_actions", "quelles actions existent ?")
    text = all_text(messages)
    assert (
        text.index("décentralisées")
        < text.index("Partenariats à petite échelle")
        < text.index("centralisées, gérées directement")
    )
    assert len(slots["knowledge_base_listed_objects"]) == 6
    centralised, _ = ask(
        "ask_actions", "les actions centralisées ?", [{"entity": "management", "value": "centralisées"}]
    )
    assert "Partenariats de coopération" not in all_text(centralised)


def test_agency_contact_gives_only_verified_details():
    messages, _ = ask("ask_agency_contact", "comment contacter le BIJ ?", [{"entity": "agency", "value": "BIJ"}])
    text = all_text(messages)
    assert "https://www.lebij.be" in text and "Adresse" not in text
    assert "Je n'ai pas de coordonnées vérifiées pour : e-mail, téléphone, adresse." in text
    aef, _ = ask("ask_agency_contact", "téléphone AEF", [{"entity": "agency", "value": "AEF"}])
    assert "02/542.62.78" in all_text(aef) and "relevées en 2022" in all_text(aef)
    assert "Je n'ai pas de coordonnées vérifiées" not in all_text(aef)  # it has them all


def test_every_topic_intent_of_the_base_gets_an_answer_with_source(kb):
    for topic in kb.of_type("topic"):
        if topic.get("intent") and topic["intent"] != "ask_where_submit":  # asks the sector first
            messages, _ = ask(topic["intent"], "question")
            assert "Source :" in all_text(messages), topic["intent"]
            assert payloads(messages), topic["intent"]


def test_every_button_payload_fits_telegram_and_is_valid_json(kb):
    from bot.actions.answers import answer
    from bot.actions.query import Query

    for entry_id in kb.entries:
        for message in answer(kb, Query("ask_topic", entities={"topic": [entry_id]})).messages:
            for button in message.buttons:
                assert len(button["payload"].encode()) <= 64
                if "{" in button["payload"]:
                    json.loads(button["payload"][button["payload"].index("{") :])


def test_no_answer_offers_two_buttons_with_the_same_text(kb):
    from bot.actions.answers import answer
    from bot.actions.query import Query

    for entry_id in kb.entries:
        for message in answer(kb, Query("ask_topic", entities={"topic": [entry_id]})).messages:
            titles = [b["title"] for b in message.buttons]
            assert len(titles) == len(set(titles)), (entry_id, titles)
    messages, _ = ask("ask_countries", "quels pays peuvent participer ?")
    assert [b["title"] for b in messages[-1]["buttons"]][:2] == [
        "Partenaires d'un partenariat de coopération",
        "Partenaires d'un partenariat à petite échelle",
    ]


def test_clarify_out_of_scope_and_human_contact_answer_in_french():
    clarify, _ = run_action(ActionClarify(), make_tracker("nlu_fallback", "blabla"))
    assert "Je ne suis pas sûr d'avoir compris" in all_text(clarify) and payloads(clarify)
    out, _ = run_action(ActionAnswerOutOfScope(), make_tracker("out_of_scope", "quel temps fait-il ?"))
    assert "https://www.lebij.be" in all_text(out) and "https://www.erasmusplus-fr.be" in all_text(out)
    human, _ = run_action(ActionOfferHumanContact(), make_tracker("request_human", "je veux parler à quelqu'un"))
    assert "info@aef-europe.be" in all_text(human)


def test_a_management_asked_of_a_named_action_gets_a_verdict_for_that_action_only():
    messages, _ = ask("ask_action_details", "les centres d'excellence professionnelle c'est décentralisé ?")
    text = all_text(messages)
    assert text.startswith("Non.") and "centralisée" in text and "Partenariats de coopération" not in text
    messages, _ = ask("ask_action_details", "le KA210, c'est géré au niveau belge ?")
    assert all_text(messages).startswith("Oui.")
