"""The priority-matching dialogue over the real REST channel, with the real action server."""

from __future__ import annotations

from .test_rest_conversation import buttons, texts

YOUTH_PROJECT = (
    "des ateliers de réparation de vélos avec des jeunes réfugiés, pour apprendre un métier et réduire les déchets"
)


def test_youth_happy_path_gives_priorities_reasons_format_and_agency(stack):
    first = stack.say("match-youth", "aide-moi à choisir une priorité pour mon projet")
    assert "Quel secteur" in texts(first)
    assert any(b["payload"] == '/inform_sector{"sector":"sector.youth"}' for b in buttons(first))
    assert "Décrivez votre projet" in texts(stack.say("match-youth", "on est une maison de jeunes"))
    reply = stack.say("match-youth", YOUTH_PROJECT)
    assert "nouvelle dans Erasmus+" in texts(reply)
    result = stack.say("match-youth", "/affirm")
    text = texts(result)
    assert "Environnement" in text and "Inclusion et diversité" in text
    assert "Pourquoi : vous parlez de" in text and "« déchets »" in text
    assert "au moins une priorité" in text and "petite échelle (KA210)" in text and "BIJ" in text
    assert [b["payload"] for b in buttons(result)][-2:] == ["/change_project_description", "/start_matching"]


def test_dont_know_explains_sectors_then_asks_again(stack):
    stack.say("match-dunno", "quelles priorités pour mon projet ?")
    reply = texts(stack.say("match-dunno", "je ne sais pas"))
    assert "AEF-Europe" in reply and "BIJ" in reply and "Quel secteur" in reply
    reply = texts(stack.say("match-dunno", "c'est une école primaire"))
    assert "Décrivez votre projet" in reply


def test_side_question_is_answered_then_the_form_resumes(stack):
    stack.say("match-side", "aidez-moi à trouver une priorité")
    stack.say("match-side", '/inform_sector{"sector":"sector.adult_ed"}')
    reply = texts(stack.say("match-side", "c'est quoi une petite échelle ?"))
    assert "petite échelle" in reply.lower() and "Source :" in reply
    assert "Décrivez votre projet" in reply


def test_stop_leaves_the_form_cleanly(stack):
    stack.say("match-stop", "quelles priorités pour mon projet ?")
    reply = texts(stack.say("match-stop", "laisse tomber"))
    assert "j'arrête" in reply
    # Out of the form, a question gets its normal answer.
    assert "Coopération entre organisations et institutions" in texts(stack.say("match-stop", "c'est quoi le KA2 ?"))


def test_sector_change_keeps_the_description(stack):
    stack.say("match-change", "aide-moi à choisir une priorité pour mon projet")
    stack.say("match-change", '/inform_sector{"sector":"sector.school"}')
    reply = texts(
        stack.say(
            "match-change",
            "des ateliers de théâtre contre le harcèlement et le racisme, avec des élèves de 14 ans et des écoles en Grèce",
        )
    )
    assert "nouvelle dans Erasmus+" in reply
    reply = texts(stack.say("match-change", "en fait c'est plutôt pour des jeunes"))
    assert "nouvelle dans Erasmus+" in reply  # the description was kept: only the profile is left
    result = texts(stack.say("match-change", "/deny"))
    assert "Jeunesse" in result and "BIJ" in result and "Inclusion et diversité" in result


def test_unusable_description_gets_a_request_for_more_then_adds_up(stack):
    stack.say("match-vague", "je voudrais savoir quelles priorités mon projet peut viser")
    stack.say("match-vague", '/inform_sector{"sector":"sector.vet"}')
    reply = texts(stack.say("match-vague", "un projet"))
    assert "un peu plus" in reply and "Par exemple" in reply
    reply = texts(
        stack.say(
            "match-vague",
            "des stages en entreprise à l'étranger pour nos apprentis en mécanique, avec des outils numériques",
        )
    )
    assert "nouvelle dans Erasmus+" in reply


def test_handoff_is_collected_confirmed_and_stored(stack):
    import sqlite3

    first = stack.say("handoff", "je veux parler à quelqu'un")
    assert any(b["payload"] == "/start_handoff" for b in buttons(first))
    assert "nom" in texts(stack.say("handoff", "/start_handoff"))
    assert "adresse e-mail" in texts(stack.say("handoff", "je m'appelle Awa Diallo"))
    assert "ne semble pas valide" in texts(stack.say("handoff", "awa chez exemple"))
    assert "secteur" in texts(stack.say("handoff", "awa.diallo@exemple.be"))
    assert "question" in texts(stack.say("handoff", '/inform_sector{"sector":"sector.youth"}'))
    summary = texts(stack.say("handoff", "Est-ce qu'un groupe informel de jeunes peut déposer un projet ?"))
    assert "Awa Diallo" in summary and "BIJ" in summary
    done = texts(stack.say("handoff", "/affirm"))
    assert "demande n°" in done and "lebij.be" in done
    with sqlite3.connect(stack.db) as db:
        rows = db.execute(
            "select name, email, agency_id, question from ka2_handoff_requests where sender_id='handoff'"
        ).fetchall()
    assert rows == [
        (
            "Awa Diallo",
            "awa.diallo@exemple.be",
            "agency.bij",
            "Est-ce qu'un groupe informel de jeunes peut déposer un projet ?",
        )
    ]
