"""ka2.rules.

The user's own case against the base's structured rules, inside, outside and at the bounds, several
values at once, values in words (Belgian numbers too).
"""

from __future__ import annotations

import pytest

from ka2.rules import check_case, number_value, other_action_fits, read_case

COOPERATION, SMALL = "action.cooperation", "action.small_scale"


def verdicts(kb, action, text):
    return [(v.ok, v.key) for v in check_case(kb, action, read_case(kb, text))]


@pytest.mark.parametrize(
    "word, value",
    [("septante", 70), ("nonante", 90), ("vingt quatre", 24), ("trente", 30), ("12", 12), ("2,5", 2.5)],
)
def test_numbers_in_figures_and_in_words(word, value):
    assert number_value(word) == value


@pytest.mark.parametrize(
    "action, text, ok",
    [
        (COOPERATION, "un projet de 12 mois", True),  # lower bound
        (COOPERATION, "un projet sur 36 mois", True),  # upper bound
        (COOPERATION, "un projet sur 3 ans", True),
        (COOPERATION, "on voudrait quatre ans", False),
        (COOPERATION, "nonante jours seulement", False),
        (SMALL, "un projet de six mois", True),
        (SMALL, "un KA210 de 30 mois", False),
        (SMALL, "deux ans", True),
    ],
)
def test_durations(kb, action, text, ok):
    assert verdicts(kb, action, text) == [(ok, "rule_duration_ok" if ok else "rule_duration_no")]


@pytest.mark.parametrize(
    "action, text, ok",
    [
        (COOPERATION, "on vise 250 000 €", True),
        (COOPERATION, "on demande 90 000 euros", False),
        (COOPERATION, "un budget de 400k", True),
        (SMALL, "septante mille euros", False),
        (SMALL, "60 000€", True),
        (SMALL, "30k€ c'est ok ?", True),
    ],
)
def test_lump_sums(kb, action, text, ok):
    assert verdicts(kb, action, text) == [(ok, "rule_amount_ok" if ok else "rule_amount_no")]


def test_an_amount_outside_one_action_is_offered_in_the_other(kb):
    assert other_action_fits(kb, COOPERATION, read_case(kb, "on vise 60 000 €")) == SMALL
    assert other_action_fits(kb, SMALL, read_case(kb, "on vise 90 000 €")) is None


@pytest.mark.parametrize(
    "action, text, expected",
    [
        (SMALL, "avec une asso tunisienne", [(False, "rule_country_partner_excluded")]),
        (SMALL, "un partenaire en Turquie", [(True, "rule_country_programme")]),
        (COOPERATION, "une association marocaine comme partenaire", [(True, "rule_country_partner_allowed")]),
        (COOPERATION, "un partenaire ukrainien peut coordonner ?", [(False, "rule_country_partner_coordinator")]),
        (SMALL, "un partenaire suisse", [(False, "rule_country_partner_excluded")]),
        (COOPERATION, "le Royaume-Uni", [(True, "rule_country_partner_allowed")]),
    ],
)
def test_partner_countries(kb, action, text, expected):
    assert verdicts(kb, action, text) == expected


def test_the_number_of_organisations_and_countries(kb):
    assert verdicts(kb, COOPERATION, "10 partenaires") == [(True, "rule_partners_ok")]
    assert verdicts(kb, COOPERATION, "deux organisations") == [(False, "rule_partners_no")]
    assert verdicts(kb, SMALL, "deux organisations") == [(True, "rule_partners_ok")]
    # The applicant (in Belgium) and one partner per country named, when asked whether it is enough.
    with_partners = verdicts(kb, COOPERATION, "avec une école italienne et une école espagnole, ça suffit ?")
    assert (True, "rule_partners_ok") in with_partners


def test_naming_only_belgium_counts_no_partner(kb):
    assert verdicts(kb, COOPERATION, "combien d'agences nationales en Belgique ?") == []


def test_several_values_in_one_message_are_all_checked(kb):
    found = verdicts(kb, SMALL, "un KA210 de 30 mois à 60 000 € avec un partenaire tunisien")
    assert (False, "rule_duration_no") in found and (True, "rule_amount_ok") in found
    assert (False, "rule_country_partner_excluded") in found


def test_nothing_is_checked_where_the_base_has_no_rule(kb):
    assert verdicts(kb, "action.excellence", "un projet de 30 mois à 60 000 €") == []
    assert verdicts(kb, COOPERATION, "on commence en septembre") == []


def test_every_rule_value_is_in_its_fact_text(kb):
    """A value is written once as data; the text users read must say the same."""
    for fact in kb.of_type("fact"):
        rule = fact.get("rule") or {}
        text = fact["answer"].replace("\u202f", " ")
        for key in ("min_months", "max_months", "min_organisations", "min_countries"):
            if key in rule:
                assert str(rule[key]) in text, (fact["id"], key)
        for amount in rule.get("amounts", []):
            assert f"{amount:,}".replace(",", " ") in text, (fact["id"], amount)


@pytest.mark.parametrize(
    "text, ok, deadline",
    [
        ("on veut commencer en janvier 2022", True, "20 mai 2021 à 12 h"),
        ("un début du projet en novembre 2021", True, "20 mai 2021 à 12 h"),
        ("démarrer en avril 2022", True, "3 novembre 2021"),
        ("le projet commence en mars", True, "3 novembre 2021"),
        ("on voudrait démarrer en septembre", False, None),
    ],
)
def test_a_start_month_finds_its_deadline(kb, text, ok, deadline):
    (verdict,) = check_case(kb, SMALL, read_case(kb, text))
    assert verdict.ok is ok
    if deadline:
        assert verdict.values["deadline"] == deadline


def test_deadlines_are_rendered_from_their_values(kb):
    items = kb.fact(SMALL, "deadline")["sub_items"]
    assert (
        items[0].startswith("**20 mai 2021 à 12 h**") and "entre le 1er novembre 2021 et le 28 février 2022" in items[0]
    )
    assert items[1].startswith("**3 novembre 2021**") and "1er mars 2022" in items[1]
    assert "**20 mai 2021 à 12 h**" in kb.fact(COOPERATION, "deadline")["answer"]
    # No start window is known for the cooperation partnerships: no start month is checked there.
    assert check_case(kb, COOPERATION, read_case(kb, "on veut commencer en janvier 2022")) == []
