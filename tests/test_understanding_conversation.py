"""Issue 13 over the real REST channel.

What users say of themselves is kept in the tracker (also across a Rasa restart), elliptical follow-ups,
corrections, one-shot priority questions answered at once, and a fallback that offers the base's best
guesses and names the agencies.
"""

from __future__ import annotations

from typing import Any, Dict, List


def texts(replies: List[Dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def payloads(replies: List[Dict[str, Any]]) -> List[str]:
    return [b["payload"] for r in replies for b in r.get("buttons", [])]


def test_a_profile_stated_first_is_used_three_messages_later_and_after_a_restart(stack):
    sender = "u13-profile"
    first = stack.say(sender, "Bonjour, je travaille dans une maison de jeunes à Verviers.")
    assert "Jeunesse" in texts(first) and "BIJ" in texts(first)
    stack.say(sender, "c'est quoi le KA2 ?")
    stack.say(sender, "et la durée d'un petit partenariat ?")
    where = stack.say(sender, "on dépose où ?")
    assert "auprès du **BIJ**" in texts(where) and "AEF" not in texts(where)
    stack.stop_rasa()
    stack.start_rasa()
    priorities = stack.say(sender, "quelles priorités pour nous ?")
    assert "Employabilité des jeunes" in texts(priorities)
    assert "Votre projet vise surtout quel secteur" not in texts(priorities)


def test_each_kind_of_elliptical_follow_up(stack):
    sender = "u13-ellipsis"
    assert "Employabilité" in texts(stack.say(sender, "priorités jeunesse ?"))
    count = stack.say(sender, "il y en a combien ?")
    assert "Il y en a **4**" in texts(count)
    switched = stack.say(sender, "et pour les adultes ?")
    assert "Parcours de perfectionnement" in texts(switched) and "Employabilité" not in texts(switched)
    last = stack.say(sender, "et la dernière ?")
    assert "Promouvoir Erasmus+" in texts(last)
    stack.say(sender, "c'est quoi un partenariat à petite échelle ?")
    duration = stack.say(sender, "et la durée ?")
    assert "6 à 24 mois" in texts(duration) and "12 à 36" not in texts(duration)
    manager = stack.say(sender, "c'est géré par qui ?")
    assert "décentralisée" in texts(manager) and "agences nationales" in texts(manager)
    stack.say(sender, "quelles actions sont gérées par les agences nationales ?")
    others = stack.say(sender, "et les autres ?")
    assert "Partenariats pour l'excellence" in texts(others) and "Agence exécutive" in texts(others)


def test_a_correction_replaces_the_sector(stack):
    sender = "u13-correction"
    stack.say(sender, "quelles sont les priorités de l'enseignement scolaire ?")
    corrected = stack.say(sender, "non, en fait c'est pour la formation professionnelle")
    assert "marché du travail" in texts(corrected) and "petite enfance" not in texts(corrected)


def test_a_one_shot_priority_question_is_answered_then_the_dialogue_offered(stack):
    replies = stack.say(
        "u13-oneshot",
        "on voudrait lutter contre le harcèlement entre élèves dans notre école secondaire, quelle priorité ?",
    )
    assert "Inclusion et diversité" in texts(replies)
    assert "Votre organisation est-elle nouvelle" not in texts(replies)
    assert "/start_matching" in payloads(replies)


def test_a_subject_is_found_in_several_sectors_and_checked_against_one(stack):
    several = stack.say("u13-sectors", "l'assurance qualité, ça concerne quels secteurs ?")
    assert "formation professionnels" in texts(several) and "éducation des adultes" in texts(several)
    check = stack.say("u13-check", "les langues, c'est une priorité du secteur jeunesse ?")
    assert texts(check).startswith("Non") and "Enseignement scolaire" in texts(check)


def test_the_fallback_offers_best_guesses_and_names_the_agencies(stack):
    for message in (
        "bof jsp trop, le machin là",
        "le formulaire en ligne il plante, je fais comment pour la signature",
    ):
        replies = stack.say("u13-fallback", message)
        text = texts(replies)
        assert text.startswith("Je ne suis pas sûr d'avoir compris") or "pas d'information vérifiée" in text, message
        assert "BIJ" in text and "AEF-Europe" in text, message
        assert payloads(replies), message


def test_the_users_own_case_gets_a_verdict_and_the_rule(stack):
    """Issue 14 over the REST channel: oui / non first, then the rule that decides."""
    duration = texts(stack.say("u14-duration", "on voudrait un KA210 sur 3 ans, c'est jouable ?"))
    assert duration.startswith("Non") and "de 6 à 24 mois" in duration
    amount = texts(stack.say("u14-amount", "on vise 60 000 € pour notre partenariat de coopération"))
    assert amount.startswith("Non") and "120 000 €" in amount and "petite échelle" in amount
    country = texts(stack.say("u14-country", "un partenaire marocain peut coordonner notre KA220 ?"))
    assert country.startswith("Non") and "valeur ajoutée essentielle" in country
    community = texts(stack.say("u14-community", "notre asbl de jeunesse est à Gand, on dépose au BIJ ?"))
    assert community.startswith("Non") and "JINT" in community
    partner = texts(
        stack.say(
            "u14-partner", "on est partenaires d'un projet coordonné par une école française, on doit déposer aussi ?"
        )
    )
    assert "seul le **coordinateur**" in partner
