"""Real conversations over the REST channel, with the action server and Rasa on 127.0.0.1."""

from __future__ import annotations

from typing import Any, Dict, List


def texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def buttons(replies: List[Dict[str, Any]]) -> List[Dict[str, str]]:
    return [b for r in replies for b in r.get("buttons", [])]


def test_definition_question_gets_the_knowledge_base_answer_and_source(stack):
    replies = stack.say("rest-definition", "c'est quoi exactement l'action clé 2 ?")
    assert "Coopération entre organisations et institutions" in texts(replies)
    assert "Source : Fiche Erasmus+ « Action clé 2 »" in texts(replies)
    assert buttons(replies)


def test_youth_priorities_then_ordinal_follow_up(stack):
    replies = stack.say("rest-youth", "quelles sont les priorités pour un projet jeunesse ?")
    assert "Employabilité des jeunes" in texts(replies) and "au minimum une" in texts(replies)
    follow = stack.say("rest-youth", "et la troisième ?")
    assert "Renforcer l'employabilité des jeunes." in texts(follow)


def test_where_to_submit_asks_the_sector_then_answers_by_button(stack):
    first = stack.say("rest-submit", "je dois déposer mon projet où ?")
    youth = next(b for b in buttons(first) if "sector.youth" in b["payload"])
    second = stack.say("rest-submit", youth["payload"])
    assert "BIJ" in texts(second) and "https://www.lebij.be" in texts(second)


def test_out_of_scope_question_is_declined_politely(stack):
    replies = stack.say("rest-oos", "quel temps fera-t-il demain à Liège ?")
    assert "Je réponds uniquement sur l'Action clé 2" in texts(replies)


def test_conversation_survives_a_restart_of_rasa(stack):
    """The tracker lives in the SQLite store: a pending question outlives the server."""
    first = stack.say("rest-restart", "on dépose où le dossier ?")
    assert any("inform_sector" in b["payload"] for b in buttons(first))
    stack.stop_rasa()
    stack.start_rasa()
    replies = stack.say("rest-restart", '/inform_sector{"sector":"sector.school"}')
    assert "AEF-Europe" in texts(replies) and "Enseignement scolaire" in texts(replies)
